"""The morning digest: opt-in, the member's own scope, once a day, after the
morning agenda in the workspace's time zone, nothing on an empty day."""

import datetime as dt
import zoneinfo

import pytest
from django.core import mail
from django.urls import reverse

from rapport.agenda import store
from rapport.agenda.models import AgendaItem
from rapport.outreach import digest, sending
from rapport.outreach.models import OutboundMessage
from rapport.workspaces.models import Membership, Workspace
from tests import factories

pytestmark = pytest.mark.django_db

LONDON = zoneinfo.ZoneInfo("Europe/London")


def praised(workspace, today, first_name, **fields):
    person = factories.client_with_history(workspace, today, first_name=first_name, **fields)
    factories.activity(person, today - dt.timedelta(days=1), signals=["praise"], text="Lovely")
    return person


def wants(user, workspace, value=True) -> Membership:
    membership = Membership.objects.get(user=user, workspace=workspace)
    membership.wants_digest = value
    membership.save()
    return membership


def morning(today, hour=7):
    return dt.datetime.combine(today, dt.time(hour), tzinfo=LONDON)


@pytest.fixture
def agenda(acme, alice, charlie, today):
    people = {
        "mine": praised(acme, today, "Mina", owner=alice),
        "nobody": praised(acme, today, "Noel"),
        "charlie": praised(acme, today, "Chad", owner=charlie),
    }
    store.refresh(acme, today)
    return people


def test_the_digest_lists_the_top_items_of_the_members_scope(acme, alice, agenda, today):
    membership = wants(alice, acme)
    message = digest.send(membership, today)
    assert message.kind == OutboundMessage.Kind.DIGEST
    assert message.idempotency_key == f"digest:{membership.pk}:{today}"
    assert message.to_address == "alice@example.com" and not message.to_client
    assert sending.deliver(message.pk).status == "sent"
    sent = mail.outbox[-1]
    html = sent.alternatives[0][0]
    why = AgendaItem.objects.get(contact=agenda["mine"], action="ask_referral").reasons
    for body in (sent.body, html):
        assert all(reason in body for reason in why)
        assert "Mina Jones" in body and "Noel Jones" in body
        assert "Chad Jones" not in body  # Charlie's contact
        assert "http://127.0.0.1:8000/today/" in body
    assert "Ask for a referral" in sent.body
    assert sent.subject.startswith("Today at Acme Dental: ")
    assert "List-Unsubscribe" not in sent.extra_headers  # a team email
    assert reverse("outreach:personal_settings") in sent.body


def test_at_most_ten_items_with_the_count_of_all(acme, alice, today):
    for n in range(12):
        praised(acme, today, f"Person{n:02d}", owner=alice)
    store.refresh(acme, today)
    total = AgendaItem.objects.filter(workspace=acme).for_user(alice).count()
    assert total > 10
    message = digest.send(wants(alice, acme), today)
    assert message.body_text.count("   http://127.0.0.1:8000/contacts/") == 10
    assert f"{total} things on your agenda" in message.body_text
    assert "the top 10" in message.body_text


def test_nothing_is_sent_on_a_day_with_nothing_to_do(acme, alice, today):
    store.refresh(acme, today)
    assert digest.send(wants(alice, acme), today) is None
    assert not OutboundMessage.objects.exists()


def test_due_after_the_morning_agenda_in_the_workspace_time_zone(
    acme, bright, alice, bob, agenda, today
):
    alice_membership = wants(alice, acme)
    wants(bob, bright)
    Workspace.objects.filter(pk=acme.pk).update(agenda_date=today - dt.timedelta(days=1))
    # The morning has come in London but the agenda is yesterday's: wait.
    assert digest.due(morning(today)) == []
    Workspace.objects.filter(pk__in=[acme.pk, bright.pk]).update(agenda_date=today)
    # Before the refresh hour (6 o'clock): not yet.
    assert digest.due(morning(today, 5)) == []
    # 13:00 in London is too late for a morning digest, and 08:00 in New York.
    assert [m.user for m, _ in digest.due(morning(today, 13))] == [bob]
    # 07:00 in London is 02:00 in New York: only Acme's digest is due.
    assert digest.due(morning(today)) == [(alice_membership, today)]
    assert digest.send_due(morning(today)) == 1
    # Once a day, however often the job runs.
    assert digest.due(morning(today, 8)) == []
    assert digest.send_due(morning(today, 8)) == 0
    assert OutboundMessage.objects.filter(kind=OutboundMessage.Kind.DIGEST).count() == 1


def test_only_members_who_opted_in_get_it(acme, alice, charlie, agenda, today):
    Workspace.objects.filter(pk=acme.pk).update(agenda_date=today)
    assert digest.due(morning(today)) == []
    wants(charlie, acme)
    assert [m.user for m, _ in digest.due(morning(today))] == [charlie]
    digest.send_due(morning(today))
    message = OutboundMessage.objects.get(kind=OutboundMessage.Kind.DIGEST)
    assert message.to_address == "charlie@example.com"
    assert "Chad Jones" in message.body_text and "Mina Jones" not in message.body_text


def test_the_toggle_on_the_settings_page(charlie_client, acme, charlie):
    page = charlie_client.get(reverse("outreach:personal_settings"))
    assert page.status_code == 200 and "Morning digest" in page.content.decode()
    charlie_client.post(reverse("outreach:digest_toggle"), {"wants_digest": "on"})
    assert Membership.objects.get(user=charlie, workspace=acme).wants_digest
    charlie_client.post(reverse("outreach:digest_toggle"), {})
    assert not Membership.objects.get(user=charlie, workspace=acme).wants_digest


def test_the_scheduler_runs_the_digest_and_automation_jobs():
    from rapport import scheduler

    names = {job.name: job.every for job in scheduler.jobs()}
    assert names["morning digest"] <= 300 and names["automation rules"] == 600


def test_the_scheduler_job_enqueues_the_task_only_when_due(acme, alice, agenda, today):
    from django_tasks import default_task_backend

    wants(alice, acme)
    Workspace.objects.filter(pk=acme.pk).update(agenda_date=today)
    before = len(default_task_backend.results)
    assert digest.schedule(morning(today, 4)) == 0
    assert digest.schedule(morning(today)) == 1
    assert len(default_task_backend.results) == before + 1
