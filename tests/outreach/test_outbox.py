"""The outbox: idempotent queueing, leases, consent at send time, retries."""

import datetime as dt
import smtplib

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from rapport.clients.actions import record_consent
from rapport.outreach import actions, compose, sending
from rapport.outreach.models import OutboundMessage, Suppression
from tests import factories

pytestmark = pytest.mark.django_db
Status = OutboundMessage.Status


@pytest.fixture
def ann(acme, today):
    acme.postal_address = "1 High Street, Bath"
    acme.save()
    return factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)


def queue_ask(contact, **kw):
    ask = actions.start_ask(contact, kind="referral", channel="email")
    return compose.ask_email(ask, subject="A small favour", body="Hello Ann.\n\nWho else?", **kw)


def test_the_same_request_queued_twice_is_one_message(ann):
    ask = actions.start_ask(ann, kind="referral", channel="email")
    first = compose.ask_email(ask, subject="s", body="b")
    second = compose.ask_email(ask, subject="s", body="b")
    assert first.pk == second.pk
    assert OutboundMessage.objects.count() == 1
    assert first.message_id.startswith("<") and first.message_id.endswith("@rapport.localhost>")


def test_a_sent_email_has_both_parts_the_address_and_one_click_unsubscribe(ann):
    message = queue_ask(ann)
    assert sending.deliver(message.pk).status == Status.SENT
    email = mail.outbox[0]
    assert email.extra_headers["Message-ID"] == message.message_id
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = email.extra_headers["List-Unsubscribe"].strip("<>")
    assert "/u/" in unsubscribe and unsubscribe in email.body
    html = email.alternatives[0][0]
    assert "1 High Street, Bath" in email.body and "1 High Street, Bath" in html
    page = [line for line in email.body.splitlines() if "/c/" in line][0].split(": ", 1)[1]
    assert page in html
    # The outbox never holds the live links: only placeholders.
    stored = OutboundMessage.objects.get()
    assert "/c/" not in stored.body_text and compose.PAGE_LINK in stored.body_text


def test_the_link_in_the_email_opens_the_page(ann, client):
    message = queue_ask(ann)
    sending.deliver(message.pk)
    body = mail.outbox[0].body
    url = [w for w in body.split() if "/c/" in w][0]
    assert client.get(url.replace("http://127.0.0.1:8000", "")).status_code == 200


def test_a_claimed_message_cannot_be_claimed_again_until_its_lease_runs_out(ann):
    message = queue_ask(ann)
    assert sending.claim(message.pk, "worker-a")
    assert not sending.claim(message.pk, "worker-b")
    later = timezone.now() + dt.timedelta(seconds=121)
    assert sending.claim(message.pk, "worker-b", now=later)
    message.refresh_from_db()
    assert (message.claimed_by, message.attempts) == ("worker-b", 2)


def test_a_worker_whose_lease_ran_out_records_nothing(ann):
    message = queue_ask(ann)
    sending.claim(message.pk, "worker-a")
    sending.claim(message.pk, "worker-b", now=timezone.now() + dt.timedelta(seconds=200))
    assert not sending._finish(message, "worker-a", status=Status.SENT)
    message.refresh_from_db()
    assert message.status == Status.SENDING and message.claimed_by == "worker-b"


def test_consent_is_checked_at_send_time_not_only_at_queue_time(ann):
    message = queue_ask(ann)
    record_consent(ann, "email", False, "asked us to stop", "phone call")
    outcome = sending.deliver(message.pk)
    assert outcome.status == Status.SUPPRESSED and "no email consent" in outcome.detail
    assert mail.outbox == []


def test_an_unsubscribed_address_is_never_sent_to_again(ann):
    first = queue_ask(ann)
    sending.deliver(first.pk)
    actions.unsubscribe(first)
    ann.refresh_from_db()
    assert not ann.email_ok
    assert Suppression.objects.covers(ann.workspace, "email", "ANN@example.com ")
    ann.email_ok = True  # even if consent were set again by mistake
    ann.save()
    second = queue_ask(ann)
    assert sending.deliver(second.pk).status == Status.SUPPRESSED
    assert len(mail.outbox) == 1


def test_one_click_unsubscribe_post_needs_no_cookie_or_csrf(ann):
    from django.test import Client

    message = queue_ask(ann)
    sending.deliver(message.pk)
    url = (
        mail.outbox[0]
        .extra_headers["List-Unsubscribe"]
        .strip("<>")
        .replace("http://127.0.0.1:8000", "")
    )
    scanner = Client(enforce_csrf_checks=True)
    assert scanner.get(url).status_code == 200  # a link scanner's GET changes nothing
    assert not Suppression.objects.exists()
    response = scanner.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert Suppression.objects.get().reason == "unsubscribed"


def test_a_permanent_refusal_fails_and_suppresses(ann, monkeypatch):
    message = queue_ask(ann)

    def refuse(self, messages):
        raise smtplib.SMTPRecipientsRefused({"ann@example.com": (550, b"5.1.1 no such user")})

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    assert sending.deliver(message.pk).status == Status.FAILED
    assert Suppression.objects.get().reason == "hard_bounce"


def test_a_temporary_failure_is_retried_with_back_off_then_given_up(ann, monkeypatch, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    message = queue_ask(ann)

    def down(self, messages):
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", down)
    waits = []
    for _ in range(2):
        before = timezone.now()
        assert sending.deliver(message.pk).status == "retry"
        message.refresh_from_db()
        waits.append((message.next_attempt_at - before).total_seconds())
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert waits[0] == pytest.approx(60, abs=2) and waits[1] == pytest.approx(300, abs=2)
    assert sending.deliver(message.pk).status == Status.FAILED
    message.refresh_from_db()
    assert "gave up after 3 attempts" in message.last_error


def test_failed_messages_are_visible_and_can_be_retried(alice_client, ann):
    message = queue_ask(ann)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=Status.FAILED, last_error="550 no such user"
    )
    page = alice_client.get(reverse("outreach:outbox") + "?status=failed").content.decode()
    assert "550 no such user" in page and "Try again" in page
    alice_client.post(reverse("outreach:retry", args=[message.pk]))
    message.refresh_from_db()
    assert message.status == Status.QUEUED


def test_the_daily_limit_postpones_to_tomorrow(ann, acme):
    acme.daily_email_limit = 1
    acme.save()
    first, second = queue_ask(ann), None
    sending.deliver(first.pk)
    other = factories.client_with_history(
        acme, acme.today(), first_name="Bo", email="bo@example.com", email_ok=True
    )
    second = queue_ask(other)
    outcome = sending.deliver(second.pk)
    assert outcome.status == "postponed"
    second.refresh_from_db()
    assert second.status == Status.QUEUED and second.attempts == 0
    assert timezone.localtime(
        second.next_attempt_at, acme.tzinfo
    ).date() == acme.today() + dt.timedelta(days=1)


def test_scheduled_messages_wait_for_their_time(ann):
    message = queue_ask(ann, send_at=timezone.now() + dt.timedelta(hours=2))
    assert sending.send_due() == []
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert [o.status for o in sending.send_due()] == [Status.SENT]


def test_owners_make_webhook_addresses_and_suppress_by_hand(
    alice_client, charlie_client, acme, ann
):
    response = alice_client.post(reverse("outreach:delivery"), {"rotate": "1"})
    hooks = response.context["hooks"]
    acme.refresh_from_db()
    token = hooks["email_events"].rstrip("/").split("/")[-2]
    from rapport.outreach.tokens import hash_token

    assert acme.webhook_token_hash == hash_token(token) and token not in acme.webhook_token_hash
    assert response["Cache-Control"] == "no-store"
    charlie_client.post(reverse("outreach:delivery"), {"channel": "email", "address": "x@y.com"})
    assert not Suppression.objects.exists()  # members may not
    alice_client.post(
        reverse("outreach:delivery"), {"channel": "email", "address": "Ann@Example.com"}
    )
    ann.refresh_from_db()
    assert Suppression.objects.get().reason == "manual" and not ann.email_ok


def test_a_logo_is_reencoded_small(alice_client, acme):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (2000, 800), (10, 120, 90)).save(buffer, format="JPEG")
    data = {
        "name": acme.name,
        "time_zone": acme.time_zone,
        "brand_colour": "#1f6f5c",
        "readiness_threshold": 50,
        "ask_cooldown_days": 90,
        "decline_holdback_days": 180,
        "agenda_refresh_hour": 6,
        "recovery_confirm_days": 14,
        "recovery_wait_days": 30,
        "daily_email_limit": 300,
        "logo": SimpleUploadedFile("logo.jpg", buffer.getvalue(), content_type="image/jpeg"),
    }
    from rapport.workspaces.models import DEFAULT_MOMENT_WINDOWS, DEFAULT_TOUCH_CADENCE

    data |= {f"window_{k}": v for k, v in DEFAULT_MOMENT_WINDOWS.items()}
    data |= {f"cadence_{k}": v for k, v in DEFAULT_TOUCH_CADENCE.items()}
    assert alice_client.post(reverse("workspaces:settings"), data).status_code == 302
    acme.refresh_from_db()
    with Image.open(acme.logo.open("rb")) as logo:
        assert logo.format == "PNG" and logo.size[0] <= 320 and logo.size[1] <= 120
    assert alice_client.get(reverse("outreach:logo", args=[acme.pk])).status_code == 200
