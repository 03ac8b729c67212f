"""The snapshot's workspace-wide figures, for a contact judged alone."""

import datetime as dt

import numpy as np
import pytest
from django.utils import timezone

from rapport.agenda import readiness
from rapport.agenda.facts import Snapshot, usual_value_in_sql
from rapport.clients.models import Contact
from tests import factories

pytestmark = pytest.mark.django_db


def morning_usual(workspace, on):
    s = Snapshot(workspace, on)
    return readiness.usual_value(readiness.client_values(s.deal_value, s.first_amount))


@pytest.mark.parametrize(
    "firsts",
    [
        [],  # nothing known
        [120.0],  # one value: no "usual"
        [80.0, 120.0],  # even: the mean of the two middle ones
        [80.0, 95.5, 120.0, None, 0.0],  # odd, with unknown and zero amounts
    ],
)
def test_the_usual_value_in_sql_is_the_morning_s_median(acme, today, firsts):
    with factories.batch():
        for n, amount in enumerate(firsts):
            person = factories.contact(acme, first_name=f"F{n}")
            Contact.objects.filter(pk=person.pk).update(first_amount=amount)
        # A deal's value stands for the first purchase; a lost or later one does not count.
        dealer = factories.contact(acme, first_name="Dealer")
        Contact.objects.filter(pk=dealer.pk).update(first_amount=10.0)
        factories.deal(dealer, "Won", won_on=today - dt.timedelta(days=5), value=700)
        factories.deal(dealer, "Later", won_on=today + dt.timedelta(days=5), value=9000)
        factories.deal(dealer, "Lost", stage="lost", value=5000)
        gone = factories.contact(acme, first_name="Erased")
        Contact.objects.filter(pk=gone.pk).update(first_amount=1e6, erased_at=timezone.now())
    for on in (today, today - dt.timedelta(days=10)):
        expected = morning_usual(acme, on)
        found = usual_value_in_sql(acme, on)
        assert (np.isnan(expected) and np.isnan(found)) or found == pytest.approx(expected), on
