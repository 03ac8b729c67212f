"""Writing messages into the outbox.

A message is stored with placeholders where its links go; the links are
rebuilt from their tokens when it is sent (see tokens.py), so the outbox
never holds a live link. Every message to a client carries the workspace's
postal address and an unsubscribe link, in a text and an HTML part.
"""

import datetime as dt
import re
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from rapport.outreach import tokens
from rapport.outreach.models import OutboundMessage

PAGE_LINK = "[[page_link]]"
UNSUBSCRIBE_LINK = "[[unsubscribe_link]]"


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def page_url(ask) -> str:
    return absolute(reverse("outreach:page", args=[ask.token()]))


# Links of other apps' pages (a client's testimonial page, a reference's
# answer page) travel as "[[link:<purpose>:<pk>]]" and are rebuilt at send
# time by the resolver the app registered for the purpose: a function
# (workspace, pk) -> absolute URL, or None when the page is gone.
LINK_MARKER = re.compile(r"\[\[link:(\w+):(\d+)\]\]")
LINK_GONE = "(this link is no longer available)"
_link_resolvers: dict[str, Callable[..., str | None]] = {}


def register_link(purpose: str, resolver: Callable[..., str | None]) -> None:
    _link_resolvers[purpose] = resolver


def link_marker(purpose: str, pk: int) -> str:
    return f"[[link:{purpose}:{pk}]]"


def _registered_links(message: OutboundMessage) -> dict[str, str]:
    links = {}
    for match in LINK_MARKER.finditer(f"{message.body_text}\n{message.body_html}"):
        resolver = _link_resolvers.get(match.group(1))
        url = resolver(message.workspace, int(match.group(2))) if resolver else None
        links[match.group(0)] = url or LINK_GONE
    return links


def links_for(message: OutboundMessage) -> dict[str, str]:
    links = _registered_links(message)
    if message.ask_id and message.ask.token_salt:
        links[PAGE_LINK] = page_url(message.ask)
    if message.unsubscribe_salt:
        token = tokens.derive("unsubscribe", message.pk, message.unsubscribe_salt)
        links[UNSUBSCRIBE_LINK] = absolute(reverse("outreach:unsubscribe", args=[token]))
    return links


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def header_safe(text: str) -> str:
    """Text fit for a mail header: line breaks and other control characters
    become a space, so a name like "Gail\\r\\nBcc: x@example.test" stays a
    name and never adds a header."""
    return re.sub(r" {2,}", " ", _CONTROL.sub(" ", text or "")).strip()


def fill_links(body: str, links: dict[str, str], html: bool = False) -> str:
    for marker, url in links.items():
        body = body.replace(marker, escape(url) if html else url)
    return body


def queue(
    workspace,
    *,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    kind: str,
    idempotency_key: str,
    contact=None,
    ask=None,
    to_client: bool = True,
    channel: str = "email",
    send_at: dt.datetime | None = None,
    by=None,
) -> tuple[OutboundMessage, bool]:
    """Put a message in the outbox once: the same idempotency key twice is the
    same message. It is handed to the worker when the transaction commits."""
    with transaction.atomic():
        message, created = OutboundMessage.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "workspace": workspace,
                "to_address": to,
                "subject": header_safe(subject)[:250],
                "body_text": text,
                "body_html": html,
                "kind": kind,
                "contact": contact,
                "ask": ask,
                "to_client": to_client,
                "channel": channel,
                "next_attempt_at": send_at or timezone.now(),
                "created_by": by,
            },
        )
        if created and to_client:
            message.unsubscribe_salt = tokens.new_salt()
            message.unsubscribe_token_hash = tokens.hash_token(
                tokens.derive("unsubscribe", message.pk, message.unsubscribe_salt)
            )
            message.save(update_fields=["unsubscribe_salt", "unsubscribe_token_hash"])
    if created and (send_at is None or send_at <= timezone.now()):
        from rapport.outreach.tasks import deliver_message

        transaction.on_commit(lambda: deliver_message.enqueue(message.pk))
    return message, created


def client_email(
    workspace, *, paragraphs: list[str], button: str = "", link: str = ""
) -> tuple[str, str]:
    """Text and HTML of a message to a client, with the footer the law asks
    for: who is writing, their postal address, and how to stop."""
    context = {
        "workspace": workspace,
        "paragraphs": [p for p in paragraphs if p.strip()],
        "button": button,
        "link": link,
        "unsubscribe": UNSUBSCRIBE_LINK,
    }
    text = render_to_string("outreach/email/client.txt", context)
    html = render_to_string("outreach/email/client.html", context)
    return text, html


BUTTON_FOR_PAGE = {
    "names": "Share names",
    "testimonial": "Write a few words",
    "questionnaire": "Answer two questions",
    "later": "Choose a date",
    "fixed": "Tell us",
    "reviews": "Leave a review",
}


def ask_email(ask, *, subject: str, body: str, send_at=None, by=None) -> OutboundMessage:
    """An ask by email: the words (already filled) and a button to the page."""
    text, html = client_email(
        ask.workspace,
        paragraphs=body.split("\n\n"),
        button=BUTTON_FOR_PAGE.get(ask.page, "Open"),
        link=PAGE_LINK,
    )
    message, _ = queue(
        ask.workspace,
        to=ask.contact.email,
        subject=subject,
        text=text,
        html=html,
        kind=OutboundMessage.Kind.ASK,
        idempotency_key=f"ask:{ask.pk}:email",
        contact=ask.contact,
        ask=ask,
        send_at=send_at,
        by=by,
    )
    return message


def ask_sms(ask, *, body: str, send_at=None, by=None) -> OutboundMessage:
    text = f"{body.strip()}\n{PAGE_LINK}\n{ask.workspace.name}. Reply STOP to opt out."
    message, _ = queue(
        ask.workspace,
        to=ask.contact.phone,
        subject="",
        text=text,
        kind=OutboundMessage.Kind.ASK,
        idempotency_key=f"ask:{ask.pk}:sms",
        contact=ask.contact,
        ask=ask,
        channel="sms",
        send_at=send_at,
        by=by,
    )
    return message


def team_email(
    workspace,
    *,
    to: str,
    subject: str,
    text: str,
    key: str,
    html: str = "",
    kind=None,
    about=None,
):
    """A message to the business's own people (a notice, a reminder, the
    digest): no client consent involved. `about` is the contact it is about,
    so that the contact's export holds it and their erasure removes it."""
    return queue(
        workspace,
        to=to,
        subject=subject,
        text=text,
        html=html,
        kind=kind or OutboundMessage.Kind.NOTICE,
        idempotency_key=key,
        contact=about,
        to_client=False,
    )[0]
