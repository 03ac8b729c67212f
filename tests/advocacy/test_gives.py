import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from rapport.advocacy import facts
from rapport.advocacy.models import ReferralGiven
from rapport.clients.models import Contact
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_give_is_recorded_on_the_timeline_and_in_the_ledger(alice_client, acme, today):
    ann = factories.client_with_history(acme, today, first_name="Ann")
    response = alice_client.post(
        reverse("advocacy:add_give", args=[ann.pk]),
        {
            "given-description": "A new bookkeeper",
            "given-introduced": "Kim at Ledger & Co",
            "given-given_on": today.isoformat(),
        },
    )
    assert response.status_code == 302
    given = ReferralGiven.objects.get()
    assert (given.contact, given.introduced, given.outcome) == (
        ann,
        "Kim at Ledger & Co",
        "waiting",
    )
    page = alice_client.get(reverse("clients:detail", args=[ann.pk])).content.decode()
    assert "We referred someone to them" in page and "A new bookkeeper" in page
    ledger = alice_client.get(reverse("advocacy:gives")).content.decode()
    assert "Kim at Ledger &amp; Co" in ledger
    alice_client.post(reverse("advocacy:give_outcome", args=[given.pk]), {"outcome": "business"})
    given.refresh_from_db()
    assert (given.outcome, given.outcome_on) == ("business", today)
    ledger = alice_client.get(reverse("advocacy:gives"), {"outcome": "nothing"}).content.decode()
    assert "A new bookkeeper" not in ledger


def test_a_give_with_errors_re_renders_with_the_message(alice_client, acme, today):
    ann = factories.client_with_history(acme, today, first_name="Ann")
    response = alice_client.post(
        reverse("advocacy:add_give", args=[ann.pk]), {"given-given_on": today.isoformat()}
    )
    assert response.status_code == 422 and "This field is required" in response.content.decode()
    assert not ReferralGiven.objects.exists()


def test_valued_clients_with_low_readiness_are_give_candidates(acme, today):
    big = factories.client_with_history(acme, today, first_name="Big", relationship=None)
    small = factories.client_with_history(acme, today, first_name="Small", relationship=None)
    close = factories.client_with_history(acme, today, first_name="Close", relationship=9)
    ready = factories.client_with_history(acme, today, first_name="Ready", relationship=None)
    Contact.objects.filter(pk__in=[big.pk, small.pk, close.pk]).update(readiness=10)
    Contact.objects.filter(pk=ready.pk).update(readiness=90)
    factories.purchases(big, [today - dt.timedelta(days=1)], amount=5000)
    found = facts.give_candidates(acme, today, top_share=0.25)
    assert [c.contact_id for c in found] == [big.pk, close.pk]
    assert found[0].value == Decimal("5500")
    ReferralGiven.objects.create(
        workspace=acme, contact=big, given_on=today - dt.timedelta(days=10), description="x"
    )
    assert [c.contact_id for c in facts.give_candidates(acme, today, top_share=0.25)] == [close.pk]
    # A give long ago no longer holds them back.
    later = today + dt.timedelta(days=100)
    assert big.pk in {c.contact_id for c in facts.give_candidates(acme, later, top_share=0.25)}
