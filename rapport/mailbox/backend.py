"""An email backend that keeps each message, as sent, in the mailbox table."""

import contextvars

from django.core.mail.backends.base import BaseEmailBackend

# The request being answered, if any (set by middleware.MailboxMiddleware):
# a message sent while answering it is tied to its workspace and its browser.
current_request: contextvars.ContextVar = contextvars.ContextVar("mailbox_request", default=None)


def _workspace_id(message_id: str, request):
    if message_id:
        # The outbox names each message: its workspace is the message's.
        from rapport.outreach.models import OutboundMessage

        found = (
            OutboundMessage.objects.filter(message_id=message_id)
            .values_list("workspace_id", flat=True)
            .first()
        )
        if found:
            return found
    workspace = getattr(request, "workspace", None) if request is not None else None
    return getattr(workspace, "pk", None)


def _parts(email) -> tuple[str, str]:
    html = ""
    for content, mimetype in getattr(email, "alternatives", None) or ():
        if mimetype == "text/html":
            html = content
    if getattr(email, "content_subtype", "plain") == "html":
        return "", email.body
    return email.body or "", html


class MailboxBackend(BaseEmailBackend):
    """Stores, never delivers. Builds each message exactly as the SMTP
    backend would (`message()`), so a header that could not be sent fails
    here too — the development mailbox hides no bug of production."""

    def send_messages(self, email_messages):
        from rapport.mailbox.models import Message

        request = current_request.get()
        sent = 0
        for email in email_messages:
            recipients = email.recipients()
            if not recipients:
                continue
            built = email.message()
            raw = built.as_bytes(linesep="\r\n").decode("utf-8", errors="replace")
            message_id = built.get("Message-ID", "") or ""
            text, html = _parts(email)
            row = Message.objects.create(
                workspace_id=_workspace_id(message_id, request),
                from_email=str(email.from_email or ""),
                recipients="\n" + "\n".join(r.strip().lower() for r in recipients) + "\n",
                subject=str(email.subject or "")[:998],
                message_id=message_id[:400],
                text=text,
                html=html,
                raw=raw,
            )
            if request is not None:
                # If the request's transaction rolls back, the row goes with
                # it and the claim points at nothing: harmless.
                _remember(request, row.pk)
            sent += 1
        return sent


def _remember(request, pk: int) -> None:
    pending = request.__dict__.setdefault("_mailbox_sent", [])
    pending.append(pk)
