"""Thank (advocacy.rules.thank): every referral on record and every
testimonial received is thanked — names given together in one thank-you —
whatever else holds; gratitude is not an ask."""

import datetime as dt

import pytest

from rapport.advocacy.actions import receive_names, record_testimonial
from rapport.agenda import actions as agenda_actions
from rapport.agenda import store
from rapport.agenda.models import Action, AgendaItem
from rapport.clients import actions
from rapport.kinds import MomentKind
from tests import factories
from tests.agenda.helpers import agenda, items

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today)


def test_a_referral_is_thanked(ann, today):
    referral = factories.referral(ann, today - dt.timedelta(days=1))
    item = agenda(ann, today)[Action.THANK]
    assert item.key == f"referral:{referral.pk}"
    assert item.why == [f"referred Rita Referred on {today - dt.timedelta(days=1)}"]
    assert (item.script_key, item.moments) == ("thank_you", [MomentKind.REFERRAL])
    assert item.fields["referred_name"] == "Rita Referred"
    assert "thank you so much for introducing Rita Referred to us" in item.script


def test_names_given_together_are_thanked_together(ann, today):
    receive_names(ann, [{"first_name": "Bea"}, {"first_name": "Cal", "last_name": "Ng"}], on=today)
    thanks = [i for i in items(ann, today) if i.action == Action.THANK]
    assert len(thanks) == 1
    assert thanks[0].why == [f"referred Bea and Cal Ng on {today}"]


def test_referrals_on_several_days_are_thanked_in_one(ann, today):
    with factories.batch():
        factories.referral(ann, today - dt.timedelta(days=4))
        factories.referral(ann, today, referred=factories.contact(ann.workspace, first_name="Sam"))
    thanks = [i for i in items(ann, today) if i.action == Action.THANK]
    assert [t.why for t in thanks] == [
        [f"referred Sam Jones and Rita Referred between {today - dt.timedelta(days=4)} and {today}"]
    ]


def test_a_testimonial_is_thanked(ann, today):
    testimonial = record_testimonial(ann, "Wonderful, caring team", on=today)
    item = agenda(ann, today)[Action.THANK]
    assert item.key == f"testimonial:{testimonial.pk}"
    assert item.why == [f"sent a testimonial on {today}: \u201cWonderful, caring team\u201d"]
    assert item.fields == {"moment": "your kind words"}


def test_thanks_come_even_while_an_issue_is_open(ann, today):
    with factories.batch():
        actions.open_issue(ann, "Invoice charged twice", opened_on=today)
        factories.referral(ann, today)
    found = agenda(ann, today)
    assert Action.THANK in found and Action.ASK_MORE_NAMES not in found


@pytest.mark.parametrize(("days", "thanked"), [(14, True), (15, False)])
def test_a_thank_you_is_due_within_the_referral_s_window(ann, today, days, thanked):
    factories.referral(ann, today - dt.timedelta(days=days))
    assert (Action.THANK in agenda(ann, today)) is thanked


def test_a_thank_you_done_is_not_proposed_again(ann, acme, today, alice):
    factories.referral(ann, today)
    store.refresh(acme, today)
    agenda_actions.mark_done(AgendaItem.objects.get(contact=ann, action=Action.THANK), by=alice)
    assert Action.THANK not in agenda(ann, today + dt.timedelta(days=1))


def test_words_or_a_mark_are_not_a_referral_to_thank_for(ann, today):
    with factories.batch():
        factories.activity(ann, today, signals=["referral"], text="Booked.")
        factories.read_note(ann, today, "I tell everyone about you", {"referral": "I tell"})
    assert Action.THANK not in agenda(ann, today)
