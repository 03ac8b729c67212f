"""Bounce and complaint webhooks: signed (Standard Webhooks), each event once,
and Postmark's own format. A refused request stores nothing."""

import base64
import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.outreach import webhooks
from rapport.outreach.models import Suppression, WebhookEvent
from rapport.outreach.tokens import hash_token
from tests import factories

pytestmark = pytest.mark.django_db

TOKEN = "hook-secret-token-of-enough-length"
NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _now(monkeypatch):
    # The webhook views read the time once; tests pass the moment in.
    monkeypatch.setattr("rapport.outreach.public_views.timezone.now", lambda: NOW)


@pytest.fixture
def ann(acme, today):
    acme.webhook_token_hash = hash_token(TOKEN)
    acme.webhook_signing_salt = webhooks.new_salt()
    acme.save(update_fields=["webhook_token_hash", "webhook_signing_salt"])
    return factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)


def post_signed(workspace, payload, *, event_id="msg_1", at=NOW, secret=None, body=None):
    body = body if body is not None else json.dumps(payload).encode()
    stamp = int(at.timestamp())
    signature = webhooks.sign(secret or webhooks.signing_secret(workspace), event_id, stamp, body)
    return Client().post(
        reverse("outreach:email_events", args=[TOKEN]),
        body,
        content_type="application/json",
        HTTP_WEBHOOK_ID=event_id,
        HTTP_WEBHOOK_TIMESTAMP=str(stamp),
        HTTP_WEBHOOK_SIGNATURE=signature,
    )


def nothing_stored():
    return not Suppression.objects.exists() and not WebhookEvent.objects.exists()


def test_a_signed_complaint_suppresses_and_withdraws_consent(ann):
    response = post_signed(ann.workspace, {"type": "complaint", "email": "Ann@Example.com"})
    assert response.status_code == 200
    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINT
    ann.refresh_from_db()
    assert not ann.email_ok
    assert ann.consents.filter(channel="email").first().granted is False


def test_a_replayed_event_is_refused_and_changes_nothing(ann):
    payload = {"type": "bounce", "email": "ann@example.com", "status": "5.1.1"}
    assert post_signed(ann.workspace, payload).status_code == 200
    Suppression.objects.all().delete()  # were it taken again, it would come back
    replay = post_signed(ann.workspace, payload)
    assert replay.status_code == 409
    assert not Suppression.objects.exists() and WebhookEvent.objects.count() == 1


@pytest.mark.parametrize(
    "forgery",
    ["wrong secret", "body changed", "no signature", "stale", "from the future", "garbage"],
)
def test_a_bad_signature_is_refused_with_nothing_stored(ann, forgery):
    payload = {"type": "complaint", "email": "ann@example.com"}
    if forgery == "wrong secret":
        other = "whsec_" + base64.b64encode(b"x" * 32).decode()
        response = post_signed(ann.workspace, payload, secret=other)
    elif forgery == "body changed":
        body = json.dumps(payload).encode()
        signature = webhooks.sign(
            webhooks.signing_secret(ann.workspace), "msg_1", int(NOW.timestamp()), body
        )
        response = Client().post(
            reverse("outreach:email_events", args=[TOKEN]),
            body.replace(b"complaint", b"bounce"),
            content_type="application/json",
            HTTP_WEBHOOK_ID="msg_1",
            HTTP_WEBHOOK_TIMESTAMP=str(int(NOW.timestamp())),
            HTTP_WEBHOOK_SIGNATURE=signature,
        )
    elif forgery == "no signature":
        response = Client().post(
            reverse("outreach:email_events", args=[TOKEN]),
            json.dumps(payload),
            content_type="application/json",
        )
    elif forgery == "stale":
        response = post_signed(ann.workspace, payload, at=NOW - dt.timedelta(minutes=6))
    elif forgery == "from the future":
        response = post_signed(ann.workspace, payload, at=NOW + dt.timedelta(minutes=6))
    else:
        response = Client().post(
            reverse("outreach:email_events", args=[TOKEN]),
            json.dumps(payload),
            content_type="application/json",
            HTTP_WEBHOOK_ID="msg_1",
            HTTP_WEBHOOK_TIMESTAMP=str(int(NOW.timestamp())),
            HTTP_WEBHOOK_SIGNATURE="v1,not base64!! v2,abc nonsense",
        )
    assert response.status_code == 401
    assert nothing_stored()
    ann.refresh_from_db()
    assert ann.email_ok


def test_within_five_minutes_is_accepted(ann):
    late = post_signed(
        ann.workspace, {"type": "complaint", "email": "ann@example.com"},
        at=NOW - dt.timedelta(minutes=4, seconds=50),
    )  # fmt: skip
    assert late.status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"type": "complaint", "email": null}', b"[]", b'{"type": "opened"}',
     b'{"type": "bounce", "email": "ann@example.com", "status": 511}'],
)  # fmt: skip
def test_a_malformed_body_is_400_with_nothing_stored(ann, body):
    response = post_signed(ann.workspace, None, body=body)
    assert response.status_code == 400
    assert nothing_stored()


@pytest.mark.parametrize(
    "payload, suppressed",
    [
        ({"type": "bounce", "email": "ann@example.com"}, False),  # no flag: not permanent
        ({"type": "bounce", "email": "ann@example.com", "status": "4.2.2"}, False),
        ({"type": "bounce", "email": "ann@example.com", "permanent": False}, False),
        # A permanent failure that is the sender's (policy) is no dead address.
        ({"type": "bounce", "email": "ann@example.com", "status": "5.7.1"}, False),
        ({"type": "bounce", "email": "ann@example.com", "status": "5.7.1", "permanent": True},
         False),
        ({"type": "bounce", "email": "ann@example.com", "status": "5.1.1"}, True),
        ({"type": "bounce", "email": "ann@example.com", "status": "5.2.1"}, True),
        ({"type": "bounce", "email": "ann@example.com", "permanent": True}, True),
        ({"event": "bounce", "email": "ann@example.com", "permanent": True}, True),
    ],
)  # fmt: skip
def test_only_a_permanent_bounce_of_the_address_suppresses(ann, payload, suppressed):
    assert post_signed(ann.workspace, payload).status_code == 200
    assert Suppression.objects.exists() == suppressed
    ann.refresh_from_db()
    assert ann.email_ok != suppressed


def test_an_unknown_webhook_address_is_404(ann):
    response = Client().post(
        reverse("outreach:email_events", args=["nope"]), "{}", "application/json"
    )
    assert response.status_code == 404 and nothing_stored()


# -- Postmark ---------------------------------------------------------------

# Recorded from Postmark's documentation of its webhooks (abridged).
POSTMARK_BOUNCE = {
    "RecordType": "Bounce",
    "MessageStream": "outbound",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Name": "Hard bounce",
    "Tag": "Test",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "ServerID": 23,
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox "
    "not found).",
    "Details": "Test bounce details",
    "Email": "ann@example.com",
    "From": "hello@mail.acme-dental.test",
    "BouncedAt": "2026-11-23T09:29:54.9070259Z",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": True,
    "Subject": "A small favour, Ann?",
}
POSTMARK_SOFT = {**POSTMARK_BOUNCE, "ID": 42, "Type": "SoftBounce", "TypeCode": 4096,
                 "Inactive": False}  # fmt: skip
POSTMARK_COMPLAINT = {
    **POSTMARK_BOUNCE,
    "RecordType": "SpamComplaint",
    "ID": 43,
    "Type": "SpamComplaint",
    "TypeCode": 100001,
    "Name": "Spam complaint",
}


def post_postmark(workspace, payload, password=None, user=webhooks.POSTMARK_USER):
    password = password if password is not None else webhooks.signing_secret(workspace)
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return Client().post(
        reverse("outreach:postmark_events", args=[TOKEN]),
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )


def test_postmark_hard_bounce_and_complaint_suppress_a_soft_bounce_does_not(ann):
    assert post_postmark(ann.workspace, POSTMARK_SOFT).status_code == 200
    assert not Suppression.objects.exists()
    assert post_postmark(ann.workspace, POSTMARK_BOUNCE).status_code == 200
    assert Suppression.objects.get().reason == Suppression.Reason.HARD_BOUNCE
    Suppression.objects.all().delete()
    assert post_postmark(ann.workspace, POSTMARK_COMPLAINT).status_code == 200
    assert Suppression.objects.get().reason == Suppression.Reason.COMPLAINT


def test_postmark_needs_its_credentials_and_takes_each_event_once(ann):
    assert post_postmark(ann.workspace, POSTMARK_BOUNCE, password="guess").status_code == 401
    assert post_postmark(ann.workspace, POSTMARK_BOUNCE, user="admin").status_code == 401
    response = Client().post(
        reverse("outreach:postmark_events", args=[TOKEN]),
        json.dumps(POSTMARK_BOUNCE),
        content_type="application/json",
    )
    assert response.status_code == 401 and nothing_stored()
    assert post_postmark(ann.workspace, POSTMARK_BOUNCE).status_code == 200
    assert post_postmark(ann.workspace, POSTMARK_BOUNCE).status_code == 409
    assert WebhookEvent.objects.count() == 1


def test_postmark_malformed_is_400(ann):
    for payload in ({"RecordType": "Bounce", "Email": "ann@example.com"}, {"RecordType": "Open"}):
        assert post_postmark(ann.workspace, payload).status_code == 400
    assert nothing_stored()


def test_a_new_secret_stops_the_old_one(alice_client, ann):
    old = webhooks.signing_secret(ann.workspace)
    response = alice_client.post(reverse("outreach:delivery"), {"rotate_secret": "1"})
    assert response["Cache-Control"] == "no-store"
    new = response.context["secret"]
    assert new != old and new.startswith("whsec_")
    ann.workspace.refresh_from_db()
    refused = post_signed(ann.workspace, {"type": "complaint", "email": "ann@example.com"},
                          secret=old)  # fmt: skip
    assert refused.status_code == 401
    accepted = post_signed(ann.workspace, {"type": "complaint", "email": "ann@example.com"})
    assert accepted.status_code == 200


def test_the_secret_is_shown_to_owners_only(alice_client, charlie_client, ann):
    shown = alice_client.post(reverse("outreach:delivery"), {"reveal": "1"})
    assert webhooks.signing_secret(ann.workspace) in shown.content.decode()
    hidden = charlie_client.post(reverse("outreach:delivery"), {"reveal": "1"}, follow=True)
    assert webhooks.signing_secret(ann.workspace) not in hidden.content.decode()


def test_old_event_ids_are_forgotten_after_a_month(ann):
    WebhookEvent.objects.create(
        workspace=ann.workspace,
        source="signed",
        event_id="old",
        received_at=NOW - dt.timedelta(days=40),
    )
    WebhookEvent.objects.create(
        workspace=ann.workspace, source="signed", event_id="new", received_at=NOW
    )
    assert webhooks.forget_old(NOW) == 1
    assert list(WebhookEvent.objects.values_list("event_id", flat=True)) == ["new"]


def test_nothing_here_reads_the_wall_clock():
    assert timezone.now() == NOW
