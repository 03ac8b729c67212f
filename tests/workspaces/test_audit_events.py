"""The security events the first audit pass left out: webhook rejections,
suppressions (by hand or by a provider), sending paused and resumed, and the
CSV exports. Each names ids, never an address."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from rapport.outreach import actions, webhooks
from rapport.outreach.tokens import hash_token
from rapport.workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN = "hook-secret-token-of-enough-length"


@pytest.fixture
def hooked(acme):
    acme.webhook_token_hash = hash_token(TOKEN)
    acme.webhook_signing_salt = webhooks.new_salt()
    acme.save(update_fields=["webhook_token_hash", "webhook_signing_salt"])
    return acme


def _events(kind, workspace):
    return list(AuditEvent.objects.filter(kind=kind, workspace=workspace).order_by("pk"))


def test_a_rejected_webhook_is_recorded_and_stores_nothing_else(hooked):
    response = Client().post(
        reverse("outreach:email_events", args=[TOKEN]),
        json.dumps({"type": "complaint", "email": "ann@example.com"}),
        content_type="application/json",
        HTTP_WEBHOOK_ID="msg_1",
        HTTP_WEBHOOK_TIMESTAMP="1",
        HTTP_WEBHOOK_SIGNATURE="v1,forged",
    )
    assert response.status_code == 401
    (event,) = _events("webhook_rejected", hooked)
    assert event.target == "webhook:email_events"
    assert event.detail["status"] == 401 and event.ip == "127.0.0.1"
    assert "ann@example.com" not in json.dumps(event.detail)
    assert not _events("suppressed", hooked)

    Client().post(reverse("outreach:sms_inbound", args=[TOKEN]), {"Body": "STOP"})
    assert [e.detail["status"] for e in _events("webhook_rejected", hooked)] == [401, 400]


def test_a_manual_suppression_is_recorded_with_who_did_it(alice_client, alice, hooked):
    response = alice_client.post(
        reverse("outreach:delivery"), {"channel": "email", "address": "Gone@Example.com"}
    )
    assert response.status_code == 302
    (event,) = _events("suppressed", hooked)
    assert event.actor_id == alice.pk
    assert event.detail == {"channel": "email", "reason": "manual"}
    assert event.target.startswith("suppression:") and "gone" not in event.target.lower()


def test_a_provider_suppression_is_recorded_once(hooked):
    actions.suppress(hooked, "email", "ann@example.com", "hard_bounce")
    actions.suppress(hooked, "email", "ANN@example.com", "complaint")  # already there
    (event,) = _events("suppressed", hooked)
    assert event.actor_id is None and event.detail["reason"] == "hard_bounce"


def test_sending_paused_and_resumed_are_recorded(alice_client, alice, hooked):
    pause = actions.pause_sending(hooked, "email", "535 5.7.8 authentication failed")
    assert actions.pause_sending(hooked, "email", "again") is None, "one pause at a time"
    (paused,) = _events("sending_paused", hooked)
    assert paused.target == f"deliverypause:{pause.pk}" and paused.detail["channel"] == "email"

    alice_client.post(reverse("outreach:delivery"), {"resume": "email"})
    (resumed,) = _events("sending_resumed", hooked)
    assert resumed.actor_id == alice.pk and resumed.target == f"deliverypause:{pause.pk}"


def test_csv_exports_are_recorded(alice_client, alice, acme):
    assert alice_client.get(reverse("advocacy:insights_csv")).status_code == 200
    assert alice_client.get(reverse("winback:export")).status_code == 200
    whats = sorted(e.detail["what"] for e in _events("export", acme))
    assert whats == ["insights CSV", "win-back CSV"]
    assert all(e.actor_id == alice.pk for e in _events("export", acme))
