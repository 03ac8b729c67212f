"""Service recovery (winback.rules.recover): every issue that needs its next
step gets one item per step — apologise within 2 days, plan the fix within 3,
fix it by its date, then ask "is it fixed for you?" — never held back."""

import datetime as dt

import pytest

from rapport.agenda import actions as agenda_actions
from rapport.agenda import store
from rapport.agenda.models import Action, AgendaItem
from rapport.clients import actions
from rapport.clients.models import Organization
from tests import factories
from tests.agenda.helpers import agenda, days, items

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today, relationship=9)


def recover(contact, on):
    return agenda(contact, on).get(Action.RECOVER)


def test_each_step_has_its_item_words_and_script(ann, alice, today):
    d = days(today)
    issue = actions.open_issue(ann, "Crown feels loose.", opened_on=today)
    item = recover(ann, today)
    assert (item.key, item.script_key) == (f"issue:{issue.pk}:apologise", "apology")
    assert item.why == [
        f"issue since {today}: Crown feels loose.",
        "next: apologise (the words below)",
        "no ask until the client confirms it is put right",
    ]
    assert item.fields == {"issue": "Crown feels loose"}
    assert "You told us: \u201cCrown feels loose\u201d" in item.script

    actions.acknowledge_issue(issue, on=today)
    item = recover(ann, today)
    assert (item.key, item.script_key) == (f"issue:{issue.pk}:plan_fix", "recovery_fix")
    assert item.why[1:3] == [f"apology made on {today}", "next: decide who fixes it, and by when"]

    actions.plan_fix(issue, owner=alice, due=d(5), on=today)
    item = recover(ann, today)
    assert (item.key, item.script_key) == (f"issue:{issue.pk}:fix", "recovery_fix")
    assert item.why[1:3] == [f"fix planned by Alice, due {d(5)}", "next: put it right"]

    actions.resolve_issue(issue, on=d(3))
    item = recover(ann, d(3))
    assert (item.key, item.script_key) == (f"issue:{issue.pk}:confirm", "recovery_confirm")
    assert item.why[2] == "next: ask them whether it is fixed for them"

    actions.confirm_issue(issue, on=d(4))
    assert recover(ann, d(4)) is None


@pytest.mark.parametrize(
    ("step", "late_on", "warning"),
    [
        ("open", 3, "the apology is late: opened 3 days ago"),
        ("acknowledged", 4, "no fix planned 4 days after the apology"),
        ("fix_planned", 8, "the fix is late: it was due on"),
        ("resolved", 8, "no confirmation yet, 8 days after the fix"),
    ],
)
def test_a_step_past_its_time_is_warned_first(ann, today, step, late_on, warning):
    issue = actions.open_issue(ann, "Late report", opened_on=today)
    if step != "open":
        actions.acknowledge_issue(issue, on=today)
    if step == "fix_planned":
        actions.plan_fix(issue, owner=None, due=today + dt.timedelta(days=7), on=today)
    if step == "resolved":
        actions.resolve_issue(issue, on=today)
    on_time = recover(ann, today + dt.timedelta(days=late_on - 1))
    late = recover(ann, today + dt.timedelta(days=late_on))
    assert not on_time.why[0].startswith(warning)
    assert late.why[0].startswith(warning)


def test_a_step_done_does_not_hide_the_next(ann, acme, today, alice):
    issue = actions.open_issue(ann, "Crown feels loose", opened_on=today)
    store.refresh(acme, today)
    agenda_actions.mark_done(AgendaItem.objects.get(contact=ann, action=Action.RECOVER), by=alice)
    assert recover(ann, today) is None  # the apology, done
    actions.acknowledge_issue(issue, on=today)
    assert recover(ann, today).key == f"issue:{issue.pk}:plan_fix"


def test_every_open_issue_has_its_own_item(ann, today):
    first = actions.open_issue(ann, "Crown feels loose", opened_on=today)
    second = actions.open_issue(ann, "Charged twice", opened_on=today)
    keys = {i.key for i in items(ann, today) if i.action == Action.RECOVER}
    assert keys == {f"issue:{first.pk}:apologise", f"issue:{second.pk}:apologise"}


def test_the_item_is_the_client_s_own_not_their_colleagues(ann, acme, today):
    org = Organization.objects.create(workspace=acme, name="Globex")
    cole = factories.contact(acme, first_name="Cole", organization=org)
    ann.organization = org
    ann.save()
    actions.open_issue(ann, "Wrong filing", opened_on=today)
    assert recover(ann, today) is not None
    assert recover(cole, today) is None
