"""The security log: events are written by the actions that cause them,
hold no personal data of clients, and can be appended to only — UPDATE and
DELETE fail in the database itself, on SQLite and on PostgreSQL."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from rapport.workspaces import audit
from rapport.workspaces.models import AuditEvent, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(acme, alice):
    return audit.record(audit.Kind.SETTINGS_CHANGED, workspace=acme, actor=alice, target="x:1")


def test_an_update_is_refused_by_the_database(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(kind="login")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.target = "y:2"
        event.save()
    table = AuditEvent._meta.db_table
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"UPDATE {table} SET target = 'forged' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert (event.kind, event.target) == ("settings_changed", "x:1")


def test_a_delete_is_refused_by_the_database(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.delete()
    table = AuditEvent._meta.db_table
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"DELETE FROM {table}")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_deleting_a_workspace_or_a_user_leaves_the_log_alone(event, acme, alice):
    ids = acme.pk, alice.pk
    acme.delete()
    alice.delete()
    event.refresh_from_db()
    assert (event.workspace_id, event.actor_id) == ids


def test_unknown_kinds_are_refused(acme):
    with pytest.raises(ValueError):
        audit.record("made_up", workspace=acme)


def test_sign_in_and_out_are_recorded_with_the_address(alice, acme):
    since = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    client = Client(REMOTE_ADDR="192.0.2.44")
    client.post(reverse("login"), {"username": "alice@example.com", "password": "nope"})
    client.post(
        reverse("login"), {"username": "alice@example.com", "password": "password-for-tests"}
    )
    client.post(reverse("logout"))
    events = AuditEvent.objects.filter(id__gt=since, actor_id=alice.pk).order_by("id")
    kinds = list(events.values_list("kind", "actor_id", "ip"))
    assert kinds == [
        ("login_failed", alice.pk, "192.0.2.44"),
        ("login", alice.pk, "192.0.2.44"),
        ("logout", alice.pk, "192.0.2.44"),
    ]
    failed = AuditEvent.objects.get(kind="login_failed")
    assert "alice@example.com" not in str(failed.detail)


def test_role_changes_removals_and_invitations_are_recorded(alice_client, alice, acme, charlie):
    membership = Membership.objects.get(user=charlie, workspace=acme)
    alice_client.post(reverse("workspaces:members"), {"email": "d@example.com", "role": "viewer"})
    alice_client.post(reverse("workspaces:member_role", args=[membership.pk]), {"role": "admin"})
    alice_client.post(reverse("workspaces:member_remove", args=[membership.pk]))
    events = AuditEvent.objects.filter(workspace=acme).order_by("id")
    assert [e.kind for e in events] == ["member_invited", "role_changed", "member_removed"]
    assert events[1].detail == {"user": charlie.pk, "from": "member", "to": "admin"}
    assert all(e.actor_id == alice.pk for e in events)


def test_export_and_erasure_are_recorded_and_the_log_keeps_nothing_of_the_person(
    alice_client, acme, ours
):
    contact = ours["contact"]
    name, email = contact.name, contact.email
    alice_client.get(reverse("outreach:export", args=[contact.pk]))
    alice_client.post(reverse("outreach:erase", args=[contact.pk]), {"confirm": contact.name})
    kinds = set(AuditEvent.objects.filter(workspace=acme).values_list("kind", flat=True))
    assert {"export", "erasure"} <= kinds
    dump = repr(list(AuditEvent.objects.values()))
    assert name not in dump and contact.first_name not in dump
    assert not email or email not in dump


def test_consent_changes_and_token_rotations_are_recorded(alice_client, acme, ours):
    from rapport.clients.actions import record_consent

    record_consent(ours["contact"], "email", False, "Asked us to stop", "app")
    alice_client.post(reverse("outreach:feed_create"))
    alice_client.post(reverse("outreach:delivery"), {"rotate": "1"})
    kinds = list(AuditEvent.objects.filter(workspace=acme).values_list("kind", "detail"))
    assert ("consent_changed", {"channel": "email", "granted": False, "source": "app"}) in kinds
    assert ("token_rotated", {"token": "calendar feed"}) in kinds
    assert ("token_rotated", {"token": "webhooks"}) in kinds


def test_the_owner_reads_the_log_filtered_and_paginated(
    alice_client, alice, acme, bright, bob, django_assert_max_num_queries
):
    for n in range(60):
        audit.record(audit.Kind.EXPORT, workspace=acme, actor=alice, target=f"contact:{n}")
    audit.record(audit.Kind.ERASURE, workspace=acme, actor=alice, target="contact:999")
    audit.record(audit.Kind.EXPORT, workspace=bright, actor=bob, target="contact:bob-only")
    url = reverse("workspaces:security_log")
    with django_assert_max_num_queries(12):
        page = alice_client.get(url)
    assert page.status_code == 200
    assert len(page.context["page"].object_list) == 50
    assert "contact:bob-only" not in page.content.decode()
    total = audit.for_workspace(acme).count()  # the 61, and Alice's sign-in
    assert total == 62
    second = alice_client.get(url, {"page": 2})
    assert len(second.context["page"].object_list) == total - 50
    only = alice_client.get(url, {"kind": "erasure"})
    assert [e.target for e in only.context["page"]] == ["contact:999"]
    assert alice_client.get(url, {"kind": "erasure", "person": bob.pk}).status_code == 200


def test_members_cannot_read_the_log(charlie_client):
    assert charlie_client.get(reverse("workspaces:security_log")).status_code == 403


def test_events_an_attacker_can_cause_are_capped_per_client(db, monkeypatch, rf):
    from rapport.workspaces import ratelimit

    now = ratelimit.clock()
    monkeypatch.setattr(ratelimit, "clock", lambda: now)
    request = rf.post("/login/", REMOTE_ADDR="192.0.2.66")
    written = [
        audit.record(audit.Kind.LOGIN_FAILED, request=request)
        for _ in range(audit.NOISY_PER_HOUR + 5)
    ]
    assert sum(event is not None for event in written) == audit.NOISY_PER_HOUR
    other = rf.post("/login/", REMOTE_ADDR="192.0.2.67")
    assert audit.record(audit.Kind.LOGIN_FAILED, request=other) is not None
    # Events nobody can cause at will are never capped.
    for _ in range(audit.NOISY_PER_HOUR + 5):
        assert audit.record(audit.Kind.EXPORT, request=request) is not None
