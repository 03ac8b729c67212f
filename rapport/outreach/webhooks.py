"""Inbound webhooks: who may report a bounce, a complaint or a text reply.

Each workspace has its own webhook addresses (a token in the URL names the
workspace) and its own signing secret, derived from SECRET_KEY and a salt
kept on the workspace, so the database holds no usable secret and a new
salt is a new secret. Three formats:

- Signed email events in the Standard Webhooks shape: headers `webhook-id`,
  `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` and the
  base64 HMAC-SHA256 of `id.timestamp.body` under the secret; several
  space-separated signatures allowed, for rotation). Refused when the
  timestamp is more than five minutes off or the id was seen before.
- Postmark's bounce and spam-complaint webhooks, authenticated by HTTP Basic
  credentials set on the webhook in Postmark (user `rapport`, the secret as
  password); each Postmark event ID is used once.
- Twilio's inbound messages, signed with X-Twilio-Signature (checked by the
  `twilio` library's RequestValidator against the account's auth token and
  the URL as Twilio called it); each MessageSid is used once.
"""

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from standardwebhooks.webhooks import Webhook

from rapport.outreach.models import WebhookEvent

SECRET_PREFIX = "whsec_"
POSTMARK_USER = "rapport"


class Rejected(Exception):
    """Refused, with the HTTP status to answer and a reason to give."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def new_salt() -> str:
    return secrets.token_hex(16)


def signing_secret(workspace) -> str:
    """The workspace's secret, `whsec_` and base64 of 32 bytes (the Standard
    Webhooks form, which most senders accept as it is)."""
    message = f"rapport:webhook-signing:{workspace.pk}:{workspace.webhook_signing_salt}".encode()
    key = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()
    return SECRET_PREFIX + base64.b64encode(key).decode()


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header for a body (what a sender computes)."""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return Webhook(secret).sign(event_id, moment, body.decode())


@dataclass(frozen=True)
class Signed:
    event_id: str
    timestamp: int


def verify_signed(workspace, headers, body: bytes, now: dt.datetime) -> Signed:
    """Check a Standard Webhooks request; raises Rejected (401) when it is not
    from the holder of the secret, or not from the last five minutes."""
    event_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (event_id and stamp and signatures):
        raise Rejected(401, "webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise Rejected(401, "webhook-timestamp must be Unix seconds") from None
    if abs(now.timestamp() - timestamp) > settings.WEBHOOK_TOLERANCE_SECONDS:
        raise Rejected(401, "webhook-timestamp is too far from now")
    try:
        body.decode()
    except UnicodeDecodeError:
        raise Rejected(401, "the body is not UTF-8") from None
    expected = base64.b64decode(
        sign(signing_secret(workspace), event_id, timestamp, body).split(",", 1)[1]
    )
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(expected, given):
            return Signed(event_id[:200], timestamp)
    raise Rejected(401, "no valid signature")


def verify_postmark(workspace, authorization: str) -> None:
    """HTTP Basic credentials `rapport:<secret>`; raises Rejected (401)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        raise Rejected(401, "Basic authentication is required")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise Rejected(401, "malformed Basic credentials") from None
    good_user = hmac.compare_digest(user.encode(), POSTMARK_USER.encode())
    good_password = hmac.compare_digest(password.encode(), signing_secret(workspace).encode())
    if not (good_user and good_password):
        raise Rejected(401, "wrong credentials")


def verify_twilio(url: str, params, signature: str) -> None:
    """X-Twilio-Signature over the URL Twilio called and its POST fields."""
    from twilio.request_validator import RequestValidator

    if not settings.TWILIO_AUTH_TOKEN:
        raise Rejected(401, "TWILIO_AUTH_TOKEN is not set: Twilio's signature cannot be checked")
    if not signature or not RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(
        url, params, signature
    ):
        raise Rejected(401, "X-Twilio-Signature does not match")


@transaction.atomic
def take_once(workspace, source: str, event_id: str, now: dt.datetime) -> None:
    """Note that an event was taken in; raises Rejected (409) for one seen before.
    Call inside the transaction that acts on the event: a failure undoes both."""
    if not event_id:
        raise Rejected(400, "the event has no id")
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                workspace=workspace, source=source, event_id=event_id[:200], received_at=now
            )
    except IntegrityError:
        raise Rejected(409, f"event {event_id[:80]!r} was already received") from None


def forget_old(now: dt.datetime, days: int = 30) -> int:
    """Ids older than this can go: a replay that old fails its timestamp
    (signed events), and providers stop retrying within days."""
    deleted, _ = WebhookEvent.objects.filter(received_at__lt=now - dt.timedelta(days=days)).delete()
    return deleted


# -- what an email event means -------------------------------------------------


@dataclass(frozen=True)
class EmailEvent:
    address: str
    reason: str | None  # a Suppression.Reason, or None: nothing to suppress
    detail: str


def _address(value) -> str:
    if not isinstance(value, str) or "@" not in value or len(value) > 254:
        raise Rejected(400, "the event needs the recipient's email address")
    return value.strip()


def read_signed_event(payload) -> EmailEvent:
    """{"type" (or "event"): "bounce" | "complaint", "email": "...", and for a
    bounce "status": "5.1.1" and/or "permanent": true}. A bounce suppresses
    only when it is the recipient's permanent failure: an enhanced status of
    5.1.x or 5.2.1 (another 5.x.x is the sender's problem, a 4.x.x temporary),
    or, with no status, "permanent": true. A bounce that says neither is
    not permanent."""
    from rapport.lib.smtpcodes import Verdict, classify, enhanced
    from rapport.outreach.models import Suppression

    if not isinstance(payload, dict):
        raise Rejected(400, "expected a JSON object")
    kind = payload.get("type", payload.get("event"))
    address = _address(payload.get("email"))
    if kind == "complaint":
        return EmailEvent(address, Suppression.Reason.COMPLAINT, "marked as spam")
    if kind != "bounce":
        raise Rejected(400, f"unknown event type {kind!r}: expected bounce or complaint")
    status = payload.get("status")
    if status is not None and not isinstance(status, str):
        raise Rejected(400, "status must be a string like 5.1.1")
    code = enhanced(status or "")
    if code:
        verdict = classify(code[0] * 100 + 50, status)
        if verdict == Verdict.RECIPIENT:
            return EmailEvent(address, Suppression.Reason.HARD_BOUNCE, f"bounce {status}")
        return EmailEvent(address, None, f"bounce {status}: not the address's fault, kept")
    if payload.get("permanent") is True:
        return EmailEvent(address, Suppression.Reason.HARD_BOUNCE, "permanent bounce")
    return EmailEvent(address, None, "bounce not marked permanent: kept")


# Postmark's bounce types that say the address is dead
# (https://postmarkapp.com/developer/api/bounce-api#bounce-types).
POSTMARK_DEAD = {"HardBounce", "BadEmailAddress"}


def read_postmark_event(payload) -> tuple[str, EmailEvent]:
    """(event id, meaning) of a Postmark webhook: Bounce, SpamComplaint, or
    SubscriptionChange (an unsubscribe through Postmark's own link)."""
    from rapport.outreach.models import Suppression

    if not isinstance(payload, dict):
        raise Rejected(400, "expected a JSON object")
    record = payload.get("RecordType")
    event_id = payload.get("ID")
    if record == "SubscriptionChange":
        address = _address(payload.get("Recipient"))
        event_id = f"{payload.get('MessageID', '')}:{payload.get('ChangedAt', '')}"
        if payload.get("SuppressSending") is True:
            return event_id, EmailEvent(address, Suppression.Reason.UNSUBSCRIBED, "unsubscribed")
        return event_id, EmailEvent(address, None, "subscription change: nothing to do")
    if record not in ("Bounce", "SpamComplaint"):
        raise Rejected(400, f"unsupported RecordType {record!r}")
    if not isinstance(event_id, int | str) or isinstance(event_id, bool) or event_id == "":
        raise Rejected(400, "the event needs its ID")
    address = _address(payload.get("Email"))
    kind = payload.get("Type")
    if record == "SpamComplaint" or kind == "SpamComplaint":
        return str(event_id), EmailEvent(address, Suppression.Reason.COMPLAINT, "spam complaint")
    if kind in POSTMARK_DEAD:
        return str(event_id), EmailEvent(address, Suppression.Reason.HARD_BOUNCE, str(kind))
    return str(event_id), EmailEvent(address, None, f"{kind}: not permanent, kept")
