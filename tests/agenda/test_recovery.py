"""Service recovery: each step, its warnings, and when asks come back."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from rapport.agenda import engine
from rapport.agenda.models import Action, AgendaItem
from rapport.clients import actions
from rapport.clients.models import Issue
from rapport.outreach import actions as outreach
from tests import factories

pytestmark = pytest.mark.django_db
ASKS = {
    Action.ASK_REFERRAL,
    Action.ASK_TESTIMONIAL,
    Action.ASK_MORE_NAMES,
    Action.FOLLOW_UP_PERMISSION,
}


def agenda(contact, on):
    items, _, _ = engine.build(contact.workspace, on, [contact.pk])
    return {item.action: item for item in items}


def recover_key(contact, on):
    item = agenda(contact, on).get(Action.RECOVER)
    return item.key.rsplit(":", 1)[-1] if item else None


@pytest.fixture
def ann(acme, today):
    ann = factories.client_with_history(
        acme, today, relationship=9, email="ann@x.com", email_ok=True
    )
    # A standing reason to ask: a permission that came due.
    actions.record_permission(
        ann,
        kind="both",
        ask_after=today - dt.timedelta(days=200),
        granted_on=today - dt.timedelta(days=300),
    )
    return ann


def test_each_step_blocks_asks_and_names_the_next_step(ann, today):
    d = lambda n: today + dt.timedelta(days=n)  # noqa: E731
    issue = actions.open_issue(ann, "Crown feels loose", opened_on=today)
    assert recover_key(ann, today) == "apologise"
    assert not ASKS & set(agenda(ann, today))

    actions.acknowledge_issue(issue, on=today)
    assert recover_key(ann, today) == "plan_fix"
    actions.plan_fix(issue, owner=None, due=d(5), on=today)
    assert recover_key(ann, today) == "fix"
    assert "fix planned, due" in " ".join(agenda(ann, today)[Action.RECOVER].why)

    actions.resolve_issue(issue, on=d(3))
    # Resolved is not enough: the next step is the client's confirmation.
    assert recover_key(ann, d(3)) == "confirm"
    assert not ASKS & set(agenda(ann, d(3)))

    actions.confirm_issue(issue, on=d(4))
    assert recover_key(ann, d(4)) is None
    # Then a waiting period (30 days by default) before any ask.
    view = engine.explain(ann, d(33))
    assert not ASKS & {i.action for i in view.items}
    assert any("no ask before" in hold for hold in view.holds)
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, d(34))


def test_a_silent_client_counts_as_confirmed_after_the_set_time(ann, acme, today):
    issue = actions.open_issue(ann, "Billing error", opened_on=today)
    actions.resolve_issue(issue, on=today)
    confirm, wait = acme.recovery_confirm_days, acme.recovery_wait_days
    assert recover_key(ann, today + dt.timedelta(days=confirm - 1)) == "confirm"
    settled = today + dt.timedelta(days=confirm)
    assert recover_key(ann, settled) is None
    assert not ASKS & set(agenda(ann, settled + dt.timedelta(days=wait - 1)))
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, settled + dt.timedelta(days=wait))


@pytest.mark.parametrize(
    "step,days,warning",
    [
        ("open", 3, "the apology is late: opened 3 days ago"),
        ("acknowledged", 5, "no fix planned 5 days after the apology"),
        ("fix_planned", 9, "the fix is late: it was due on"),
    ],
)
def test_late_steps_are_warned_on_the_agenda(ann, today, step, days, warning):
    issue = actions.open_issue(ann, "Late report", opened_on=today)
    if step != "open":
        actions.acknowledge_issue(issue, on=today)
    if step == "fix_planned":
        actions.plan_fix(issue, owner=None, due=today + dt.timedelta(days=7), on=today)
    item = agenda(ann, today + dt.timedelta(days=days))[Action.RECOVER]
    assert item.why[0].startswith(warning)
    assert not agenda(ann, today)[Action.RECOVER].why[0].startswith(warning)


def test_colleagues_wait_for_the_fix_but_not_for_the_waiting_period(ann, acme, today):
    from rapport.clients.models import Organization

    org = Organization.objects.create(workspace=acme, name="Globex")
    ann.organization = org
    ann.save()
    cole = factories.client_with_history(acme, today, first_name="Cole", organization=org)
    factories.activity(cole, today, signals=["praise"])
    issue = actions.open_issue(ann, "Wrong filing", opened_on=today)
    assert Action.ASK_REFERRAL not in agenda(cole, today)
    actions.resolve_issue(issue, on=today)
    actions.confirm_issue(issue, on=today)
    assert Action.ASK_REFERRAL in agenda(cole, today)


def test_the_client_confirms_on_their_page(ann, today):
    issue = actions.open_issue(ann, "Crown feels loose", opened_on=today)
    actions.resolve_issue(issue, on=today)
    ask = outreach.start_ask(ann, kind="recovery", channel="email", issue=issue)
    url = reverse("outreach:page", args=[ask.token()])
    page = Client().get(url).content.decode()
    assert "is it fixed for you?" in page and "Crown feels loose" in page
    Client().post(url, {"fixed": "yes"})
    issue.refresh_from_db()
    assert (issue.status, issue.confirmed_on) == (Issue.Status.CONFIRMED, today)


def test_not_fixed_reopens_with_their_words_and_tells_the_owner(ann, alice, today):
    from rapport.outreach.models import OutboundMessage

    ann.owner = alice
    ann.save()
    issue = actions.open_issue(ann, "Crown feels loose", opened_on=today)
    actions.resolve_issue(issue, on=today)
    ask = outreach.start_ask(ann, kind="recovery", channel="email", issue=issue)
    Client().post(
        reverse("outreach:page", args=[ask.token()]), {"fixed": "no", "words": "Still wobbly"}
    )
    issue.refresh_from_db()
    assert issue.status == Issue.Status.OPEN and "Still wobbly" in issue.summary
    assert recover_key(ann, today) == "apologise"
    assert OutboundMessage.objects.filter(to_address=alice.email, to_client=False).exists()


def test_a_recovery_ask_does_not_count_against_the_cooldown(ann, today):
    issue = actions.open_issue(ann, "x", opened_on=today - dt.timedelta(days=80))
    actions.resolve_issue(issue, on=today - dt.timedelta(days=70))
    outreach.start_ask(ann, kind="recovery", channel="email", issue=issue)
    actions.confirm_issue(issue, on=today - dt.timedelta(days=40))
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, today)


def test_the_steps_from_today(alice_client, ann, today):
    issue = actions.open_issue(ann, "Crown feels loose", opened_on=today)

    def post(**data):
        item = AgendaItem.objects.get(contact=ann, action=Action.RECOVER)
        return alice_client.post(reverse("winback:recover", args=[item.pk]), data)

    post(step="acknowledge")
    post(step="plan", due=(today + dt.timedelta(days=3)).isoformat(), plan="Re-cement")
    post(step="resolve", resolution="Re-cemented")
    issue.refresh_from_db()
    assert (issue.status, issue.fix_plan, issue.resolution) == (
        "resolved",
        "Re-cement",
        "Re-cemented",
    )
    page = alice_client.get(reverse("agenda:today")).content.decode()
    assert "They confirmed it is fixed" in page and "kind=recovery" in page
    post(step="confirm")
    issue.refresh_from_db()
    assert issue.status == "confirmed"
