"""The open-issue gate (BLOCK, winback.rules.open_issue): an open issue of the
client or of a colleague at their organization, or a recovery still under way
(the client's confirmation, then 30 days), blocks every ask — and the moment
held is named on the recovery item, so it is not lost."""

import datetime as dt

import pytest

from rapport.agenda import engine
from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.clients.models import Organization, Stage
from tests import factories
from tests.agenda.helpers import ASKS, agenda, days, holds

pytestmark = pytest.mark.django_db


def reason_to(action, workspace, today):
    """A contact who, with no problem open, would get `action` today."""
    d = days(today)
    with factories.batch():
        if action == Action.UPFRONT_CONTRACT:
            person = factories.contact(workspace, relationship=5, relationship_on=today)
            return factories.purchases(person, [d(-5)])
        if action == Action.EARN_FIRST:
            person = factories.contact(workspace, stage=Stage.PROSPECT)
            factories.activity(person, today, signals=["praise"])
            return person
        if action == Action.REACTIVATE:
            person = factories.contact(workspace)
            return factories.purchases(person, [d(-200 - 60 * k) for k in range(5)])
        person = factories.client_with_history(workspace, today)
        if action == Action.ASK_REFERRAL:
            factories.activity(person, today, signals=["praise"])
        elif action == Action.ASK_TESTIMONIAL:
            factories.deal(person, "Implant", won_on=d(-60), completed_on=today)
        elif action == Action.ASK_MORE_NAMES:
            factories.referral(person, today)
        elif action == Action.FOLLOW_UP_PERMISSION:
            actions.record_permission(person, kind="both", ask_after=today, granted_on=d(-90))
    return person


@pytest.mark.parametrize(
    "action",
    [*sorted(ASKS), Action.REACTIVATE, Action.EARN_FIRST],
)
def test_an_open_issue_blocks_every_ask_and_the_win_back_call(acme, today, action):
    person = reason_to(action, acme, today)
    assert action in agenda(person, today)
    actions.open_issue(person, "Invoice charged twice", opened_on=today)
    found = agenda(person, today)
    assert action not in found
    assert not ASKS & set(found)
    assert Action.RECOVER in found
    assert f"open issue since {today}: Invoice charged twice" in holds(person, today)
    assert engine.ask_blockers(person, today) == [
        f"open issue since {today}: Invoice charged twice"
    ]


def test_the_moment_held_is_named_on_the_recovery_item(acme, today):
    person = reason_to(Action.ASK_REFERRAL, acme, today)
    actions.open_issue(person, "Invoice charged twice", opened_on=today)
    assert (
        agenda(person, today)[Action.RECOVER].why[-1] == f"no ask meanwhile: praised us on {today}"
    )


def test_an_issue_of_a_colleague_blocks_and_the_moment_is_thanked_for(acme, today):
    person = reason_to(Action.ASK_REFERRAL, acme, today)
    org = Organization.objects.create(workspace=acme, name="Globex")
    person.organization = org
    person.save()
    colleague = factories.contact(acme, first_name="Cole", organization=org)
    actions.open_issue(colleague, "Report delivered late", opened_on=today)
    found = agenda(person, today)
    assert not ASKS & set(found) and Action.RECOVER not in found
    thanks = found[Action.TOUCH]
    assert thanks.script_key == "acknowledge"
    assert thanks.why[1] == (
        f"no ask now: open issue at their organization since {today}: Report delivered late"
    )


def test_every_step_of_the_recovery_blocks_until_the_client_confirms_and_a_month_more(acme, today):
    d = days(today)
    person = reason_to(Action.FOLLOW_UP_PERMISSION, acme, today)
    issue = actions.open_issue(person, "Crown feels loose", opened_on=today)
    actions.acknowledge_issue(issue, on=today)
    assert not ASKS & set(agenda(person, today))
    actions.plan_fix(issue, owner=None, due=d(5), on=today)
    assert not ASKS & set(agenda(person, d(1)))
    actions.resolve_issue(issue, on=d(3))
    assert not ASKS & set(agenda(person, d(3)))  # resolved is not enough
    actions.confirm_issue(issue, on=d(4))
    # Then a waiting period (30 days by default) before any ask.
    assert not ASKS & set(agenda(person, d(33)))
    assert f"recovering from an issue: no ask before {d(34)}" in holds(person, d(33))
    assert Action.FOLLOW_UP_PERMISSION in agenda(person, d(34))


def test_a_silent_client_counts_as_confirmed_after_the_set_time(acme, today):
    person = reason_to(Action.FOLLOW_UP_PERMISSION, acme, today)
    issue = actions.open_issue(person, "Billing error", opened_on=today)
    actions.resolve_issue(issue, on=today)
    confirm, wait = acme.recovery_confirm_days, acme.recovery_wait_days
    assert agenda(person, today + dt.timedelta(days=confirm - 1))[Action.RECOVER].key.endswith(
        ":confirm"
    )
    settled = today + dt.timedelta(days=confirm)
    assert Action.RECOVER not in agenda(person, settled)
    assert not ASKS & set(agenda(person, settled + dt.timedelta(days=wait - 1)))
    assert Action.FOLLOW_UP_PERMISSION in agenda(person, settled + dt.timedelta(days=wait))


def test_colleagues_wait_for_the_fix_but_not_for_the_waiting_period(acme, today):
    org = Organization.objects.create(workspace=acme, name="Globex")
    ann = factories.contact(acme, organization=org)
    cole = reason_to(Action.ASK_REFERRAL, acme, today)
    cole.organization = org
    cole.save()
    issue = actions.open_issue(ann, "Wrong filing", opened_on=today)
    assert Action.ASK_REFERRAL not in agenda(cole, today)
    actions.resolve_issue(issue, on=today)
    actions.confirm_issue(issue, on=today)
    assert Action.ASK_REFERRAL in agenda(cole, today)
    assert not ASKS & set(agenda(ann, today))


def test_a_resolved_and_settled_issue_blocks_no_more(acme, today):
    d = days(today)
    person = reason_to(Action.ASK_REFERRAL, acme, today)
    issue = actions.open_issue(person, "Invoice charged twice", opened_on=d(-60))
    actions.resolve_issue(issue, on=d(-50))
    actions.confirm_issue(issue, on=d(-40))
    assert Action.ASK_REFERRAL in agenda(person, today)
    assert engine.ask_blockers(person, today) == []
