"""The decline hold (WAIT): a client who declined an ask is not asked again
for the hold-back (180 days by default) unless they granted a permission
since; a moment meanwhile is thanked for, with no ask."""

import datetime as dt

import pytest

from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.outreach.models import AskKind, Outcome
from tests import factories
from tests.agenda.helpers import ASKS, agenda, holds

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("days", "held"), [(179, True), (180, False)])
def test_a_decline_holds_every_ask_for_the_hold_back(ann, today, days, held):
    declined_on = today - dt.timedelta(days=days)
    factories.ask(ann, declined_on, kind=AskKind.TESTIMONIAL, outcome=Outcome.DECLINED)
    found = agenda(ann, today)
    assert bool(ASKS & set(found)) is not held
    if held:
        reason = f"declined on {declined_on}; holding back 180 days"
        assert reason in holds(ann, today)
        thanks = found[Action.TOUCH]
        assert (thanks.key, thanks.script_key) == (
            f"acknowledge:activity:{ann.activities.get().pk}",
            "acknowledge",
        )
        assert thanks.why[1] == f"no ask now: {reason}"


def test_a_declined_win_back_call_holds_asks_too(ann, today):
    factories.ask(
        ann, today - dt.timedelta(days=10), kind=AskKind.REACTIVATION, outcome=Outcome.DECLINED
    )
    assert not ASKS & set(agenda(ann, today))


def test_a_permission_granted_since_the_decline_lifts_it(ann, today):
    factories.ask(
        ann, today - dt.timedelta(days=100), kind=AskKind.REFERRAL, outcome=Outcome.DECLINED
    )
    actions.record_permission(
        ann, kind="both", ask_after=today, granted_on=today - dt.timedelta(days=1)
    )
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, today)


def test_a_permission_granted_before_the_decline_does_not(ann, today):
    actions.record_permission(
        ann, kind="both", ask_after=today, granted_on=today - dt.timedelta(days=120)
    )
    factories.ask(
        ann, today - dt.timedelta(days=100), kind=AskKind.REFERRAL, outcome=Outcome.DECLINED
    )
    assert not ASKS & set(agenda(ann, today))


def test_the_hold_back_is_the_workspace_s_to_set(ann, acme, today):
    factories.ask(
        ann, today - dt.timedelta(days=40), kind=AskKind.REACTIVATION, outcome=Outcome.DECLINED
    )
    acme.decline_holdback_days = 30
    acme.save()
    assert Action.ASK_REFERRAL in agenda(ann, today)
