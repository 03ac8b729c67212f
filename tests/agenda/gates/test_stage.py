"""The stage gate (EARN): suspects and prospects — people who are not
clients yet, a person just referred among them — are never asked, whatever
their words or signals; the moment becomes "earn it first"."""

import datetime as dt

import pytest

from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.clients.models import Stage
from rapport.kinds import MomentKind
from tests import factories
from tests.agenda.helpers import ASKS, agenda, holds

pytestmark = pytest.mark.django_db

EVERY_SIGNAL = ["praise", "saved_us", "testimonial", "referral", "partner_association"]


@pytest.mark.parametrize("stage", [Stage.SUSPECT, Stage.PROSPECT])
def test_someone_not_yet_a_client_is_never_asked_whatever_the_moment(acme, today, stage):
    with factories.batch():
        person = factories.contact(acme, stage=stage, relationship=10, relationship_on=today)
        for kind in EVERY_SIGNAL:
            factories.activity(person, today, signals=[kind])
        factories.read_note(person, today, "You saved us, honestly", {"saved_us": "You saved us"})
        factories.answer(person, today, 10)
    found = agenda(person, today)
    assert not ASKS & set(found)
    earn = found[Action.EARN_FIRST]
    assert f"a {stage} is not asked for a referral: not a client yet" in earn.why
    assert earn.script_key == "earn_first"
    assert earn.why[-1] == "earn it first: a touch, a thank-you, a referral given to them"


def test_earn_it_first_names_the_moment_it_answers(acme, today):
    with factories.batch():
        person = factories.contact(
            acme, stage=Stage.PROSPECT, relationship=9, relationship_on=today
        )
        note = factories.activity(person, today, signals=["saved_us"])
    earn = agenda(person, today)[Action.EARN_FIRST]
    assert earn.key == f"earn:activity:{note.pk}"
    assert earn.moments == [MomentKind.SAVED_US]
    assert earn.why[0] == f"said we saved them on {today}"


def test_a_person_just_referred_is_not_asked(acme, today):
    ann = factories.client_with_history(acme, today)
    referral = factories.referral(ann, today)
    rita = referral.referred
    assert rita.stage == Stage.PROSPECT
    factories.activity(rita, today, signals=["praise"], text="Ann was right about you!")
    found = agenda(rita, today)
    assert not ASKS & set(found)
    assert "a prospect is not asked for a referral: not a client yet" in holds(rita, today)


def test_a_testimonial_ask_held_says_so(acme, today):
    with factories.batch():
        person = factories.contact(
            acme, stage=Stage.PROSPECT, relationship=9, relationship_on=today
        )
        factories.deal(person, "Pilot", completed_on=today)
    # The deal made them a customer; a user put them back (the ladder only raises).
    person.refresh_from_db()
    actions.change_stage(person, Stage.PROSPECT)
    reasons = holds(person, today)
    assert "a prospect is not asked for a testimonial: not a client yet" in reasons


def test_the_stage_on_a_past_day_is_the_stage_that_day(acme, today):
    # Promoted to customer today; on the day of last week's praise they were a
    # prospect, and the agenda for that day says so.
    with factories.batch():
        person = factories.contact(
            acme, stage=Stage.PROSPECT, relationship=9, relationship_on=today
        )
        factories.activity(person, today - dt.timedelta(days=7), signals=["praise"])
    actions.change_stage(person, Stage.CUSTOMER)
    last_week = agenda(person, today - dt.timedelta(days=7))
    assert Action.ASK_REFERRAL not in last_week and Action.EARN_FIRST in last_week
    assert Action.EARN_FIRST not in agenda(person, today)


def test_a_customer_may_be_asked(acme, today):
    with factories.batch():
        person = factories.client_with_history(acme, today)
        factories.activity(person, today, signals=["praise"])
    assert person.stage != Stage.PROSPECT
    assert Action.ASK_REFERRAL in agenda(person, today)
