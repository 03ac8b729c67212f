"""Names just given (WAIT): a referral that came from names given on request
(the names page, or names taken down on a call) already was the ask for all
the names — thank them; do not ask "who else?" again."""

import datetime as dt

import pytest

from rapport.advocacy.models import Referral
from rapport.agenda import actions as agenda_actions
from rapport.agenda.models import Action, AgendaItem
from rapport.outreach import actions as outreach
from tests import factories
from tests.agenda.helpers import agenda, holds

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)


def test_names_given_on_the_names_page_are_thanked_not_asked_for_again(ann, today):
    ask = outreach.start_ask(ann, kind="referral", channel="email")
    outreach.answer_names(ask, [{"first_name": "Bea"}, {"first_name": "Cal"}])
    for day in (today, today + dt.timedelta(days=3)):
        found = agenda(ann, day)
        assert Action.THANK in found
        assert Action.ASK_MORE_NAMES not in found
    assert f"they gave names when asked on {today}: the other names were asked for then" in holds(
        ann, today + dt.timedelta(days=3)
    )


def test_names_given_on_a_call_are_names_given_too(ann, today):
    factories.referral(ann, today - dt.timedelta(days=4), how=Referral.How.NAMES_GIVEN)
    assert Action.ASK_MORE_NAMES not in agenda(ann, today)


def test_a_referral_that_came_another_way_asks_for_the_other_names(ann, today):
    factories.referral(ann, today - dt.timedelta(days=4), unsolicited=True)
    assert Action.ASK_MORE_NAMES in agenda(ann, today)


def test_once_thanked_the_names_are_not_thanked_for_again(ann, acme, today, alice):
    # Regression: with the thank-you done, the held "other names" ask became a
    # second thank-you for the same names.
    ask = outreach.start_ask(ann, kind="referral", channel="email")
    outreach.answer_names(ask, [{"first_name": "Bea"}])
    thank = AgendaItem.objects.get(contact=ann, action=Action.THANK)
    agenda_actions.mark_done(thank, by=alice)
    for day in (today, today + dt.timedelta(days=2)):
        assert agenda(ann, day) == {}
