"""The outbox worker's side: claim a message, hand it to the server, record it.

Sent once, never lost (DESIGN.md): a message is claimed with a conditional
UPDATE that sets a lease — no lock is held while the server talks — and is
recorded as sent as soon as the server accepts it. A worker killed at any
point leaves either an unclaimed message or a claim that runs out; the
message is then claimed again. It is sent twice only when the worker died
between the server's acceptance and the record, which SMTP cannot rule out.
"""

import datetime as dt
import logging
import os
import smtplib
import socket
from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F
from django.utils import timezone

from rapport.outreach import compose, sms
from rapport.outreach.models import OutboundMessage, Suppression

log = logging.getLogger(__name__)

Status = OutboundMessage.Status

# Wait before attempt n+1 (then the last value again): minutes to hours, so a
# mail server's restart costs minutes and a day-long outage is still covered.
BACKOFF_SECONDS = [60, 300, 1800, 7200, 21600, 43200]


class PermanentFailure(Exception):
    """The server refused for good (a 5xx): retrying would not help."""


@dataclass
class Outcome:
    message_id: int
    status: str
    detail: str = ""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(message_pk: int, worker: str, now: dt.datetime | None = None) -> bool:
    """Take a due message for this worker: one conditional UPDATE, so of two
    workers racing for it exactly one wins; the lease bounds the claim."""
    now = now or timezone.now()
    lease = dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    claimed = (
        OutboundMessage.objects.due(now)
        .filter(pk=message_pk)
        .update(
            status=Status.SENDING,
            claimed_until=now + lease,
            claimed_by=worker,
            attempts=F("attempts") + 1,
        )
    )
    return claimed == 1


def _finish(message: OutboundMessage, worker: str, **fields) -> bool:
    # Only the worker holding the claim records the result; a worker whose
    # lease ran out (and whose message was taken over) records nothing.
    return bool(
        OutboundMessage.objects.filter(
            pk=message.pk, claimed_by=worker, status=Status.SENDING
        ).update(claimed_until=None, **fields)
    )


def deliver(message_pk: int, worker: str | None = None) -> Outcome:
    """Claim, check, send and record one message."""
    worker = worker or worker_name()
    if not claim(message_pk, worker):
        return Outcome(message_pk, "not-due")
    message = OutboundMessage.objects.select_related("workspace", "contact", "ask").get(
        pk=message_pk
    )
    blocked = _consent_problem(message)
    if blocked:
        _finish(message, worker, status=Status.SUPPRESSED, last_error=blocked)
        return Outcome(message_pk, Status.SUPPRESSED, blocked)
    postponed = _over_daily_limit(message)
    if postponed:
        _finish(
            message,
            worker,
            status=Status.QUEUED,
            next_attempt_at=postponed,
            attempts=F("attempts") - 1,
        )
        return Outcome(message_pk, "postponed", f"daily limit reached; waits until {postponed}")
    try:
        provider_id = _send(message)
    except PermanentFailure as error:
        _finish(message, worker, status=Status.FAILED, last_error=str(error)[:2000])
        if message.to_client:
            _suppress(message, Suppression.Reason.HARD_BOUNCE)
        log.warning("message %s failed for good: %s", message.pk, error)
        return Outcome(message_pk, Status.FAILED, str(error))
    except Exception as error:  # network, timeouts, 4xx: try again later
        attempts = message.attempts
        if attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            _finish(
                message,
                worker,
                status=Status.FAILED,
                last_error=f"gave up after {attempts} attempts: {error}"[:2000],
            )
            return Outcome(message_pk, Status.FAILED, str(error))
        wait = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
        _finish(
            message,
            worker,
            status=Status.QUEUED,
            next_attempt_at=timezone.now() + dt.timedelta(seconds=wait),
            last_error=f"attempt {attempts}: {error}"[:2000],
        )
        log.info(
            "message %s: attempt %s failed (%s), retry in %ss", message.pk, attempts, error, wait
        )
        return Outcome(message_pk, "retry", str(error))
    _finish(
        message,
        worker,
        status=Status.SENT,
        sent_at=timezone.now(),
        provider_id=provider_id,
        last_error="",
    )
    return Outcome(message_pk, Status.SENT)


def _consent_problem(message: OutboundMessage) -> str:
    """Consent and suppression are checked now, at send time, not only when
    the message was queued: an unsubscribe in between must win."""
    if not message.to_client:
        return ""
    contact = message.contact
    if contact is None or contact.erased_at:
        return "the contact no longer exists"
    channel = message.channel
    consented = contact.email_ok if channel == "email" else contact.sms_ok
    if not consented:
        return f"no {channel} consent"
    if Suppression.objects.covers(message.workspace, channel, message.to_address):
        return "the address is on the suppression list"
    if message.kind == OutboundMessage.Kind.ASK and not (
        message.ask and message.ask.kind == "recovery"
    ):
        from rapport.agenda.engine import ask_blockers

        blockers = ask_blockers(contact)
        if blockers:
            return f"no ask while: {blockers[0]}"
    return ""


def _over_daily_limit(message: OutboundMessage) -> dt.datetime | None:
    workspace = message.workspace
    if not message.to_client or message.channel != "email":
        return None
    now = timezone.now()
    local = timezone.localtime(now, workspace.tzinfo)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    sent_today = OutboundMessage.objects.filter(
        workspace=workspace, to_client=True, channel="email", status=Status.SENT, sent_at__gte=start
    ).count()
    if sent_today < workspace.daily_email_limit:
        return None
    return start + dt.timedelta(days=1)


def _suppress(message: OutboundMessage, reason: str) -> None:
    # The same path as a bounce reported by webhook: consent withdrawn and
    # other queued messages to the address stopped at once.
    from rapport.outreach.actions import suppress

    suppress(message.workspace, message.channel, message.to_address, reason)


def _send(message: OutboundMessage) -> str:
    if message.channel == "sms":
        body = compose.fill_links(message.body_text, compose.links_for(message))
        return sms.provider().send(message.to_address, body, message.idempotency_key)
    email = build_email(message)
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
    try:
        connection.send_messages([email])
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            raise PermanentFailure(f"recipient refused: {error.recipients}") from error
        raise
    except smtplib.SMTPResponseException as error:
        if 500 <= error.smtp_code < 600:
            raise PermanentFailure(f"{error.smtp_code} {error.smtp_error!r}") from error
        raise
    finally:
        connection.close()
    return message.message_id


def build_email(message: OutboundMessage) -> EmailMultiAlternatives:
    """The email as it leaves: links rebuilt from their tokens, the stable
    Message-ID, and for clients the RFC 8058 one-click unsubscribe headers."""
    workspace = message.workspace
    links = compose.links_for(message)
    headers = {"Message-ID": message.message_id}
    if message.to_client:
        # Mail clients POST "List-Unsubscribe=One-Click" to this URL.
        headers["List-Unsubscribe"] = f"<{links[compose.UNSUBSCRIBE_LINK]}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    from_email = settings.DEFAULT_FROM_EMAIL
    if message.to_client:
        # The business's name in front of the shared sending address.
        address = parseaddr(from_email)[1] or from_email
        from_email = formataddr((workspace.name, address))
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=compose.fill_links(message.body_text, links),
        from_email=from_email,
        to=[message.to_address],
        headers=headers,
    )
    if message.body_html:
        email.attach_alternative(
            compose.fill_links(message.body_html, links, html=True), "text/html"
        )
    return email


def send_due(limit: int = 100, worker: str | None = None) -> list[Outcome]:
    """Claim and send what is due: new messages, retries whose time came, and
    claims left behind by dead workers."""
    worker = worker or worker_name()
    outcomes = []
    due = (
        OutboundMessage.objects.due().order_by("next_attempt_at", "pk").values_list("pk", flat=True)
    )
    for pk in list(due[:limit]):
        outcomes.append(deliver(pk, worker))
    return outcomes
