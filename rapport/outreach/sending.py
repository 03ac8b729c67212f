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
from email.utils import formataddr

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.db.models import F
from django.utils import timezone

from rapport.clients.models import ConsentRecord
from rapport.lib.smtpcodes import Verdict, classify
from rapport.outreach import compose, sms
from rapport.outreach.models import DeliveryPause, OutboundMessage, Suppression

log = logging.getLogger(__name__)

Status = OutboundMessage.Status
Failure = OutboundMessage.Failure

# Wait before attempt n+1 (then the last value again): minutes to hours, so a
# mail server's restart costs minutes and a day-long outage is still covered.
BACKOFF_SECONDS = [60, 300, 1800, 7200, 21600, 43200]


class PermanentFailure(Exception):
    """The server or provider refused for good: retrying would not help.
    `failure` says whose fault it was (OutboundMessage.Failure)."""

    def __init__(self, text: str, failure: str = Failure.MESSAGE):
        super().__init__(text)
        self.failure = failure


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
    if (
        message.to_client
        and DeliveryPause.objects.active()
        .filter(workspace=message.workspace, channel=message.channel)
        .exists()
    ):
        # Paused since it was found due: back in the queue, untouched.
        _finish(message, worker, status=Status.QUEUED, attempts=F("attempts") - 1)
        return Outcome(message_pk, "paused", f"{message.channel} sending is paused")
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
        refusal = _sender_problem(message)
        if refusal:
            raise PermanentFailure(refusal, Failure.MESSAGE)
        provider_id = _send(message)
    except PermanentFailure as error:
        return _failed(message, worker, error)
    except Exception as error:  # network, timeouts, 4xx: try again later
        return _retry_later(message, worker, error)
    _finish(
        message,
        worker,
        status=Status.SENT,
        sent_at=timezone.now(),
        provider_id=provider_id,
        last_error="",
        failure="",
    )
    return Outcome(message_pk, Status.SENT)


def _failed(message: OutboundMessage, worker: str, error: PermanentFailure) -> Outcome:
    """A refusal for good, by whose fault it was: the recipient's costs the
    address (suppressed, consent withdrawn); the sender's pauses the channel
    for the workspace and tells its owners, and touches no client; a
    message's own stops that message alone."""
    text = str(error)[:2000]
    _finish(message, worker, status=Status.FAILED, last_error=text, failure=error.failure)
    if error.failure == Failure.RECIPIENT and message.to_client:
        reason = (
            Suppression.Reason.SMS_STOP
            if message.channel == "sms"
            else Suppression.Reason.HARD_BOUNCE
        )
        _suppress(message, reason)
    elif error.failure == Failure.SENDER:
        from rapport.outreach.actions import pause_sending

        pause_sending(message.workspace, message.channel, text, message=message)
    log.warning("message %s failed for good (%s): %s", message.pk, error.failure, error)
    return Outcome(message.pk, Status.FAILED, text)


def _retry_later(message: OutboundMessage, worker: str, error: Exception) -> Outcome:
    attempts = message.attempts
    if attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        _finish(
            message,
            worker,
            status=Status.FAILED,
            last_error=f"gave up after {attempts} attempts: {error}"[:2000],
            failure=Failure.GAVE_UP,
        )
        return Outcome(message.pk, Status.FAILED, str(error))
    wait = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
    _finish(
        message,
        worker,
        status=Status.QUEUED,
        next_attempt_at=timezone.now() + dt.timedelta(seconds=wait),
        last_error=f"attempt {attempts}: {error}"[:2000],
    )
    log.info("message %s: attempt %s failed (%s), retry in %ss", message.pk, attempts, error, wait)
    return Outcome(message.pk, "retry", str(error))


def _sender_problem(message: OutboundMessage) -> str:
    """What the law asks of the sender and is missing, or ''."""
    no_address = not message.workspace.postal_address.strip()
    if message.to_client and message.channel == "email" and no_address:
        return (
            "not sent: the workspace has no postal address, which the law (CAN-SPAM) asks "
            "for in every email to clients. Add it in Settings, then try again."
        )
    return ""


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
    # The flag is not enough: the consent log must hold the proof.
    record = ConsentRecord.objects.latest_for(contact, channel)
    if record is None or not record.granted:
        return f"no {channel} consent on record"
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
        return _send_sms(message)
    email = build_email(message)
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
    try:
        connection.send_messages([email])
    except smtplib.SMTPRecipientsRefused as error:
        # One recipient per message: its reply decides.
        code, text = next(iter(error.recipients.values()))
        _refused(code, text, error)
    except smtplib.SMTPAuthenticationError as error:
        raise PermanentFailure(_reply("login refused", error), Failure.SENDER) from error
    except smtplib.SMTPSenderRefused as error:
        # MAIL FROM refused: about our address or domain, never the client's.
        _refused(error.smtp_code, error.smtp_error, error, sender=True)
    except smtplib.SMTPResponseException as error:  # DATA, HELO and the rest
        _refused(error.smtp_code, error.smtp_error, error)
    except smtplib.SMTPNotSupportedError as error:  # e.g. AUTH or STARTTLS missing
        raise PermanentFailure(f"mail server: {error}", Failure.SENDER) from error
    except (BadHeaderError, ValueError) as error:
        # Names and subjects are cleaned when a message is written; one that
        # still carries a line break (or an address Python cannot read) can
        # never be sent, so it is not retried.
        raise PermanentFailure(f"unsendable header: {error}", Failure.MESSAGE) from error
    finally:
        connection.close()
    return message.message_id


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _reply(what: str, error: smtplib.SMTPResponseException) -> str:
    return f"{what}: {error.smtp_code} {_text(error.smtp_error)}"


def _refused(code: int, reply, error: Exception, sender: bool = False) -> None:
    """Raise what an SMTP refusal means (RFC 3463, rapport.lib.smtpcodes)."""
    text = f"{code} {_text(reply)}"
    verdict = classify(code, _text(reply))
    if verdict == Verdict.TRANSIENT:
        raise error
    if sender:
        verdict = Verdict.SENDER
    failure = {
        Verdict.RECIPIENT: Failure.RECIPIENT,
        Verdict.SENDER: Failure.SENDER,
        Verdict.MESSAGE: Failure.MESSAGE,
    }[verdict]
    raise PermanentFailure(f"refused: {text}", failure) from error


def _send_sms(message: OutboundMessage) -> str:
    body = compose.fill_links(message.body_text, compose.links_for(message))
    # A later attempt may follow one that reached the provider before the
    # worker died: the provider is asked to check (see sms.TwilioProvider).
    since = message.created_at if message.attempts > 1 else None
    try:
        return sms.provider().send(message.to_address, body, message.idempotency_key, since=since)
    except sms.SmsRefused as error:
        raise PermanentFailure(str(error), error.failure) from error


def _reply_to(message: OutboundMessage) -> list[str]:
    """A client's reply goes to the person who looks after them, or else to
    the workspace's owners."""
    from rapport.workspaces.models import Membership, Role

    contact = message.contact
    if contact is not None and contact.owner_id and contact.owner.email:
        people = [(contact.owner.get_full_name() or contact.owner.first_name, contact.owner.email)]
    else:
        people = list(
            Membership.objects.filter(workspace=message.workspace, role=Role.OWNER)
            .exclude(user__email="")
            .order_by("created_at", "pk")
            .values_list("user__first_name", "user__email")[:1]
        )
    return [formataddr((compose.header_safe(name), email)) for name, email in people]


def build_email(message: OutboundMessage) -> EmailMultiAlternatives:
    """The email as it leaves: links rebuilt from their tokens, the stable
    Message-ID, From on the sending domain (EMAIL_FROM) under the workspace's
    name, Reply-To a real person, and for clients the RFC 8058 one-click
    unsubscribe headers. Names and subjects are stripped of line breaks
    here as well as when queued, so no stored text can add a header."""
    workspace = message.workspace
    links = compose.links_for(message)
    headers = {"Message-ID": message.message_id}
    reply_to = []
    if message.to_client:
        # Mail clients POST "List-Unsubscribe=One-Click" to this URL.
        headers["List-Unsubscribe"] = f"<{links[compose.UNSUBSCRIBE_LINK]}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        from_email = formataddr((compose.header_safe(workspace.name), settings.EMAIL_FROM))
        reply_to = _reply_to(message)
    else:
        from_email = settings.DEFAULT_FROM_EMAIL
    email = EmailMultiAlternatives(
        subject=compose.header_safe(message.subject),
        body=compose.fill_links(message.body_text, links),
        from_email=from_email,
        to=[message.to_address],
        reply_to=reply_to,
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
