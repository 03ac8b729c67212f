"""The cooldown (WAIT): one ask of a kind per contact inside the cooldown (90
days by default). The other kind may stand; failing that, the moment is
thanked for. Not applied to asking for the other names (the same
conversation), the upfront contract, or a follow-up the client dated."""

import datetime as dt

import pytest

from rapport.advocacy.actions import record_testimonial
from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.outreach import actions as outreach
from rapport.outreach.models import AskKind
from tests import factories
from tests.agenda.helpers import ASKS, agenda, holds

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("days", "cooling"), [(89, True), (90, False)])
def test_one_referral_ask_per_cooldown_and_the_other_kind_stands(ann, today, days, cooling):
    asked_on = today - dt.timedelta(days=days)
    factories.ask(ann, asked_on, kind=AskKind.REFERRAL)
    found = agenda(ann, today)
    assert (Action.ASK_REFERRAL in found) is not cooling
    assert (Action.ASK_TESTIMONIAL in found) is cooling
    if cooling:
        testimonial = found[Action.ASK_TESTIMONIAL]
        assert testimonial.script_key == "ask_testimonial"
        assert testimonial.key == f"testimonial:activity:{ann.activities.get().pk}"


def test_when_both_kinds_are_cooling_the_moment_is_thanked_for(ann, today):
    factories.ask(ann, today - dt.timedelta(days=30), kind=AskKind.REFERRAL)
    factories.ask(ann, today - dt.timedelta(days=20), kind=AskKind.TESTIMONIAL)
    found = agenda(ann, today)
    assert not ASKS & set(found)
    reason = f"already asked for a testimonial on {today - dt.timedelta(days=20)}"
    assert found[Action.TOUCH].why[1] == f"no ask now: {reason}"
    assert reason in holds(ann, today)


def test_a_client_who_gave_a_testimonial_is_not_asked_for_another(ann, today):
    record_testimonial(ann, "Wonderful", on=today - dt.timedelta(days=200))
    factories.ask(ann, today - dt.timedelta(days=30), kind=AskKind.REFERRAL)
    found = agenda(ann, today)
    assert not ASKS & set(found) and Action.TOUCH in found


def test_the_cooldown_is_the_workspace_s_to_set(ann, acme, today):
    factories.ask(ann, today - dt.timedelta(days=40), kind=AskKind.REFERRAL)
    acme.ask_cooldown_days = 30
    acme.save()
    assert Action.ASK_REFERRAL in agenda(ann, today)


def test_a_recovery_ask_does_not_count_against_the_cooldown(ann, today):
    actions.record_permission(
        ann,
        kind="both",
        ask_after=today - dt.timedelta(days=100),
        granted_on=today - dt.timedelta(days=300),
    )
    issue = actions.open_issue(ann, "x", opened_on=today - dt.timedelta(days=80))
    actions.resolve_issue(issue, on=today - dt.timedelta(days=70))
    outreach.start_ask(ann, kind="recovery", channel="email", issue=issue)
    actions.confirm_issue(issue, on=today - dt.timedelta(days=40))
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, today)


def test_the_other_names_are_asked_for_right_after_a_referral_ask(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.ask(ann, today - dt.timedelta(days=10), kind=AskKind.REFERRAL)
        factories.referral(ann, today - dt.timedelta(days=2))
    assert Action.ASK_MORE_NAMES in agenda(ann, today)


def test_a_dated_follow_up_is_not_moved_by_the_cooldown(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.ask(ann, today - dt.timedelta(days=30), kind=AskKind.REFERRAL)
        actions.record_permission(
            ann, kind="referral", ask_after=today, granted_on=today - dt.timedelta(days=30)
        )
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, today)
