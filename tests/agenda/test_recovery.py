"""Service recovery from the pages: the steps from Today, the client's "is it
fixed?" page. The rule and its gate: tests/winback/rules/test_recover.py and
tests/agenda/gates/test_open_issue.py."""

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
