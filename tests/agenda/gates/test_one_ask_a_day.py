"""One ask a day (WAIT): never a second ask of another kind on the day of an
ask — one recorded today, or one a rule higher in precedence proposes today.
The one held waits for another day; its moment is not lost."""

import datetime as dt

import pytest

from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.outreach.models import AskKind, Outcome
from tests import factories
from tests.agenda.helpers import ASKS, agenda, holds

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "label"),
    [
        (AskKind.PERMISSION, "permission to ask later"),
        (AskKind.FEEDBACK, "feedback"),
        (AskKind.REACTIVATION, "reactivation"),
    ],
)
def test_an_ask_made_today_holds_any_other(ann, today, kind, label):
    factories.ask(ann, today, kind=kind)
    assert not ASKS & set(agenda(ann, today))
    assert f"already asked today ({label})" in holds(ann, today)
    # Tomorrow the moment is still fresh, and the ask comes.
    assert ASKS & set(agenda(ann, today + dt.timedelta(days=1)))


def test_a_testimonial_asked_for_today_holds_the_referral_ask(ann, today):
    factories.ask(ann, today, kind=AskKind.TESTIMONIAL, outcome=Outcome.LATER)
    found = agenda(ann, today)
    assert not ASKS & set(found)
    assert found[Action.TOUCH].script_key == "acknowledge"  # the praise, thanked for


def test_is_it_fixed_is_not_an_ask_for_a_favour(ann, today):
    factories.ask(ann, today, kind=AskKind.RECOVERY)
    assert Action.ASK_REFERRAL in agenda(ann, today)


def test_the_ask_higher_in_precedence_is_the_one_of_the_day(ann, today):
    actions.record_permission(
        ann, kind="both", ask_after=today, granted_on=today - dt.timedelta(days=90)
    )
    factories.referral(ann, today)
    found = agenda(ann, today)
    assert ASKS & set(found) == {Action.FOLLOW_UP_PERMISSION}
    assert Action.THANK in found
    assert "one ask a day: another ask comes first" in holds(ann, today)


def test_the_other_names_come_before_a_new_referral_ask(ann, today):
    factories.referral(ann, today)
    assert ASKS & set(agenda(ann, today)) == {Action.ASK_MORE_NAMES}


def test_an_ask_recorded_today_holds_the_other_names_too(ann, today):
    # They were asked today and gave names: "who else?" was that ask.
    factories.ask(ann, today, kind=AskKind.REFERRAL, outcome=Outcome.GAVE_NAMES)
    factories.referral(ann, today)
    found = agenda(ann, today)
    assert Action.THANK in found and Action.ASK_MORE_NAMES not in found
    assert "already asked today (referral)" in holds(ann, today)


def test_the_day_of_an_ask_is_the_workspace_s_day(acme):
    # Asked at 00:30 on 1 July in London (23:30 UTC on 30 June): that is the
    # 1st's ask.
    now = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC)
    london = acme.today(now)
    with factories.batch():
        ann = factories.client_with_history(acme, london)
        factories.activity(ann, london - dt.timedelta(days=1), signals=["praise"])
    factories.ask(ann, london, kind=AskKind.TESTIMONIAL)
    assert not ASKS & set(agenda(ann, london))
    assert Action.ASK_REFERRAL in agenda(ann, london - dt.timedelta(days=1))
