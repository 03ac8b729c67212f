"""The complaint gate (BLOCK): a complaint read in a note, with no issue
opened since, blocks every ask; the moment held is named on the recovery item."""

import datetime as dt

import pytest

from rapport.agenda import actions as agenda_actions
from rapport.agenda import store
from rapport.agenda.models import Action, AgendaItem
from rapport.clients import actions
from tests import factories
from tests.agenda.helpers import ASKS, agenda, holds

pytestmark = pytest.mark.django_db

WORDS = "Third time the crown has come loose. We are paying for this."


@pytest.fixture
def ann(acme, today):
    """A client with a reason for every kind of ask, and a complaint."""
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        actions.record_permission(
            ann, kind="both", ask_after=today, granted_on=today - dt.timedelta(days=90)
        )
        factories.referral(ann, today)
        factories.activity(ann, today, signals=["saved_us"])
        factories.read_note(ann, today, WORDS, {"complaint": WORDS})
    return ann


def test_a_complaint_blocks_every_ask(ann, today):
    found = agenda(ann, today)
    assert not ASKS & set(found)
    assert Action.EARN_FIRST not in found
    assert Action.THANK in found  # gratitude is not an ask
    assert f"complained on {today}: \u201c{WORDS}\u201d" in holds(ann, today)


def test_the_moments_held_are_named_on_the_recovery_item(ann, today):
    why = agenda(ann, today)[Action.RECOVER].why
    assert f"no ask meanwhile: said we saved them on {today}" in why
    assert f"no ask meanwhile: referred someone on {today} (Rita Referred)" in why


def test_a_new_client_s_upfront_contract_waits_for_the_recovery_too(acme, today):
    with factories.batch():
        nia = factories.contact(acme, first_name="Nia", relationship=5, relationship_on=today)
        factories.purchases(nia, [today - dt.timedelta(days=4)])
        factories.read_note(nia, today, WORDS, {"complaint": WORDS})
    found = agenda(nia, today)
    assert Action.UPFRONT_CONTRACT not in found and Action.RECOVER in found


def test_once_an_issue_is_opened_the_issue_blocks_instead(ann, today):
    actions.open_issue(ann, "Crown loose", opened_on=today)
    reasons = holds(ann, today)
    assert not any(r.startswith("complained on") for r in reasons)
    assert f"open issue since {today}: Crown loose" in reasons
    assert not ASKS & set(agenda(ann, today))


def test_a_snoozed_complaint_still_blocks_every_ask(ann, acme, today, alice):
    # Regression: snoozing the complaint item let every ask through, that day
    # and after the snooze.
    store.refresh(acme, today)
    item = AgendaItem.objects.get(contact=ann, action=Action.RECOVER)
    agenda_actions.snooze(item, today + dt.timedelta(days=7), by=alice)
    for day in (today, today + dt.timedelta(days=7)):
        assert not ASKS & set(agenda(ann, day))


def test_not_a_complaint_lets_the_asks_through(ann, acme, today, alice):
    store.refresh(acme, today)
    item = AgendaItem.objects.get(contact=ann, action=Action.RECOVER)
    agenda_actions.mark_done(item, by=alice)
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, today)


def test_a_complaint_past_its_window_blocks_no_more(ann, today):
    assert not ASKS & set(agenda(ann, today + dt.timedelta(days=30)))
    later = agenda(ann, today + dt.timedelta(days=31))
    assert Action.RECOVER not in later and Action.FOLLOW_UP_PERMISSION in later
