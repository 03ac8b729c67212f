"""Private calendar feeds (RFC 5545): a user's follow-ups in their own calendar.

Each membership may have one feed, `/calendar/<token>.ics`, which Google
Calendar ("From URL"), Outlook ("Subscribe from web") and Apple Calendar
poll. The token is random (192 bits), shown once when it is made, and only
its sha256 hash is kept; making a new one replaces it, turning the feed off
clears it. A feed is the user's: their own contacts and the unassigned ones,
in their workspace, and nothing else.

What it holds:

- permission due dates, all day on the exact date (DESIGN: "it shows in the
  calendar feed on D"), until the permission is followed up;
- asks by email or text scheduled for later, at their time, in the
  workspace's time zone (with its VTIMEZONE);
- routine recalls: the next due date (last visit + recall interval) when it
  is ahead or at most a month behind, and the recall and win-back calls on
  the agenda;
- snoozed agenda items, on the day they come back.

Every event's UID is derived from its source, so calendars update an event
in place instead of piling up copies. Summaries carry the contact's name and
nothing more personal; the why goes in the description.
"""

import datetime as dt
import re
import secrets

import icalendar
from django.conf import settings
from django.db.models import CharField, Exists, Max, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from rapport.agenda.models import Action, AgendaDecision, AgendaItem
from rapport.clients.models import Contact, Permission, PermissionKind, Stage
from rapport.outreach.models import Ask, AskKind, OutboundMessage
from rapport.outreach.ratelimit import limited
from rapport.workspaces.models import Membership, hash_token

TOKEN_BYTES = 24  # 192 bits
PRODID = "-//Rapport//Follow-ups//EN"
# A recall due date stays in the feed this long after it passed.
RECALL_PAST_DAYS = 30
# A snoozed item's reminder stays this long after its day.
SNOOZE_PAST_DAYS = 30
# How long a scheduled send appears to last in the calendar.
SEND_MINUTES = 15

PERMISSION_WORDS = {
    PermissionKind.REFERRAL: "a referral",
    PermissionKind.TESTIMONIAL: "a testimonial",
    PermissionKind.BOTH: "a referral or a testimonial",
}


# -- the token -------------------------------------------------------------


def issue_token(membership) -> str:
    """A new feed token for this membership (the old one stops working).
    Returned once, to be shown once: only its hash is stored."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    Membership.objects.filter(pk=membership.pk).update(feed_token_hash=hash_token(token))
    membership.feed_token_hash = hash_token(token)
    return token


def turn_off(membership) -> None:
    Membership.objects.filter(pk=membership.pk).update(feed_token_hash="")
    membership.feed_token_hash = ""


def membership_for(token: str) -> Membership | None:
    """The membership a feed token opens, or None (unknown, turned off, or
    the user can no longer sign in)."""
    if not token:
        return None
    return (
        Membership.objects.select_related("workspace", "user")
        .filter(feed_token_hash=hash_token(token), user__is_active=True)
        .first()
    )


def feed_url(token: str) -> str:
    return settings.SITE_URL + reverse("outreach:calendar_feed", args=[token])


# -- the feed --------------------------------------------------------------


def _uid(kind: str, *parts) -> str:
    tail = "-".join(re.sub(r"[^A-Za-z0-9.]+", "-", str(part)).strip("-") for part in parts)
    return f"{kind}-{tail}@{settings.EMAIL_MESSAGE_ID_DOMAIN}"


def _contact_url(contact_id: int) -> str:
    return settings.SITE_URL + reverse("clients:detail", args=[contact_id])


def _name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


def _event(uid: str, start, summary: str, description: str, url: str, stamp) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    if isinstance(start, dt.datetime):
        event.add("dtend", start + dt.timedelta(minutes=SEND_MINUTES))
    else:
        # An all-day reminder: the whole day, not marked busy.
        event.add("dtend", start + dt.timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    event.add("class", "PRIVATE")
    return event


def mine(user, prefix: str = "contact__") -> Q:
    """The user's scope: their own contacts and the unassigned ones."""
    return Q(**{f"{prefix}owner": user}) | Q(**{f"{prefix}owner__isnull": True})


def open_permissions(workspace):
    """Permissions still waiting for their follow-up, as the agenda sees
    them: the latest of each kind per contact, with no later ask of a kind it
    covers and not marked done on the agenda."""
    newer = Permission.objects.filter(contact=OuterRef("contact"), kind=OuterRef("kind")).filter(
        Q(granted_on__gt=OuterRef("granted_on"))
        | Q(granted_on=OuterRef("granted_on"), pk__gt=OuterRef("pk"))
    )
    # Asking for permission, or whether a fix worked, is no follow-up.
    asks = Ask.objects.filter(
        contact=OuterRef("contact"), asked_on__gte=OuterRef("ask_after")
    ).exclude(kind__in=[AskKind.PERMISSION, "recovery"])
    done = AgendaDecision.objects.filter(
        contact=OuterRef("contact"),
        action=Action.FOLLOW_UP_PERMISSION,
        status=AgendaDecision.Status.DONE,
        key=Concat(Value("permission:"), Cast(OuterRef("pk"), CharField())),
    )
    return (
        Permission.objects.filter(workspace=workspace, contact__erased_at=None)
        .annotate(
            superseded=Exists(newer),
            used_same=Exists(asks.filter(kind=OuterRef("kind"))),
            used_any=Exists(asks),
            done=Exists(done),
        )
        .filter(superseded=False, used_same=False, done=False)
        .exclude(kind=PermissionKind.BOTH, used_any=True)
    )


def _permission_events(membership, stamp) -> list[icalendar.Event]:
    rows = (
        open_permissions(membership.workspace)
        .filter(mine(membership.user))
        .values_list(
            "pk",
            "contact_id",
            "contact__first_name",
            "contact__last_name",
            "kind",
            "granted_on",
            "ask_after",
        )
    )
    events = []
    for pk, contact_id, first, last, kind, granted_on, ask_after in rows:
        name = _name(first, last)
        events.append(
            _event(
                _uid("permission", pk),
                ask_after,
                f"Follow up with {name}: permission to ask",
                f"{name} agreed on {granted_on} to be asked for {PERMISSION_WORDS[kind]} "
                f"on or after {ask_after}. The follow-up is on your agenda from that day.",
                _contact_url(contact_id),
                stamp,
            )
        )
    return events


def _send_events(membership, stamp, now) -> list[icalendar.Event]:
    user, workspace = membership.user, membership.workspace
    messages = (
        OutboundMessage.objects.filter(
            workspace=workspace,
            kind=OutboundMessage.Kind.ASK,
            status=OutboundMessage.Status.QUEUED,
            attempts=0,  # a retry is not a scheduled send
            next_attempt_at__gt=now,
            contact__isnull=False,
            contact__erased_at=None,
        )
        .filter(mine(user) | Q(created_by=user))
        .select_related("contact", "ask")
    )
    events = []
    for message in messages:
        contact = message.contact
        when = timezone.localtime(message.next_attempt_at, workspace.tzinfo)
        channel = "Email" if message.channel == "email" else "Text"
        kind = message.ask.get_kind_display().lower() if message.ask else "ask"
        events.append(
            _event(
                _uid("message", message.pk),
                when,
                f"{channel} to {contact.name}: {kind} ask",
                f"Rapport sends this {kind} ask to {contact.name} by {channel.lower()} at "
                f"{when:%H:%M} ({workspace.time_zone}). To change or cancel it, open the outbox.",
                _contact_url(contact.pk),
                stamp,
            )
        )
    return events


def _recall_events(membership, stamp, today) -> list[icalendar.Event]:
    user, workspace = membership.user, membership.workspace
    contacts = Contact.objects.active().filter(
        mine(user, prefix=""),
        workspace=workspace,
        stage__in=Stage.at_least(Stage.CUSTOMER),
    )
    if not workspace.recall_interval_days:
        contacts = contacts.filter(recall_interval_days__isnull=False)
    longest = max(
        workspace.recall_interval_days or 0,
        contacts.aggregate(longest=Max("recall_interval_days"))["longest"] or 0,
    )
    if not longest:
        return []
    # Only visits recent enough for the next recall to be ahead, or at most
    # RECALL_PAST_DAYS behind, even for the longest interval.
    earliest = today - dt.timedelta(days=longest + RECALL_PAST_DAYS)
    rows = (
        contacts.annotate(last_visit=Max("purchases__date", filter=Q(purchases__date__lte=today)))
        .filter(last_visit__gte=earliest)
        .values_list("pk", "first_name", "last_name", "recall_interval_days", "last_visit")
    )
    events = []
    for pk, first, last, own, last_visit in rows:
        interval = own or workspace.recall_interval_days
        due = last_visit + dt.timedelta(days=interval)
        if (today - due).days > RECALL_PAST_DAYS:
            continue
        name = _name(first, last)
        events.append(
            _event(
                _uid("recall", pk, due.strftime("%Y%m%d")),
                due,
                f"Recall due: {name}",
                f"Routine visit every {interval} days; last visit {last_visit}. "
                f"Their next visit is due on {due}.",
                _contact_url(pk),
                stamp,
            )
        )
    return events


def _agenda_call_events(membership, stamp) -> list[icalendar.Event]:
    items = (
        AgendaItem.objects.filter(
            workspace=membership.workspace, action__in=[Action.RECALL, Action.REACTIVATE]
        )
        .for_user(membership.user)
        .values_list(
            "contact_id",
            "contact__first_name",
            "contact__last_name",
            "action",
            "key",
            "date",
            "why",
        )
    )
    events = []
    for contact_id, first, last, action, key, day, why in items:
        name = _name(first, last)
        label = "Recall call" if action == Action.RECALL else "Win-back call"
        events.append(
            _event(
                # Without the day: the same call moves along while it waits.
                _uid("agenda", contact_id, action, key),
                day,
                f"{label}: {name}",
                f"{why}\nOn your agenda in Rapport.",
                _contact_url(contact_id),
                stamp,
            )
        )
    return events


def _snooze_events(membership, stamp, today) -> list[icalendar.Event]:
    user = membership.user
    decisions = (
        AgendaDecision.objects.filter(
            workspace=membership.workspace,
            status=AgendaDecision.Status.SNOOZED,
            until__gte=today - dt.timedelta(days=SNOOZE_PAST_DAYS),
            contact__erased_at=None,
        )
        .filter(mine(user) | Q(decided_by=user))
        .values_list(
            "pk", "contact_id", "contact__first_name", "contact__last_name", "action", "until"
        )
    )
    labels = dict(Action.choices)
    events = []
    for pk, contact_id, first, last, action, until in decisions:
        name = _name(first, last)
        label = labels.get(action, action)
        events.append(
            _event(
                _uid("snooze", pk),
                until,
                f"Back on the agenda: {name} ({label.lower()})",
                f"Snoozed until {until}: \u201c{label}\u201d for {name} is back on your agenda "
                "that day.",
                _contact_url(contact_id),
                stamp,
            )
        )
    return events


def build(membership, now: dt.datetime | None = None) -> icalendar.Calendar:
    """The feed of one membership, now."""
    now = now or timezone.now()
    workspace = membership.workspace
    today = workspace.today(now)
    stamp = now.astimezone(dt.UTC).replace(microsecond=0)

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    title = f"Rapport: {workspace.name}"
    calendar.add("x-wr-calname", title)
    calendar.add("name", title)
    calendar.add("x-wr-caldesc", "Follow-ups from Rapport: permissions due, recalls, sends.")
    calendar.add("x-wr-timezone", workspace.time_zone)
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")

    events = [
        *_permission_events(membership, stamp),
        *_send_events(membership, stamp, now),
        *_recall_events(membership, stamp, today),
        *_agenda_call_events(membership, stamp),
        *_snooze_events(membership, stamp, today),
    ]

    def order(event):
        start = event.decoded("dtstart")
        day = start.date() if isinstance(start, dt.datetime) else start
        return (day, str(event["uid"]))

    for event in sorted(events, key=order):
        calendar.add_component(event)
    timed = [
        event.decoded("dtstart")
        for event in events
        if isinstance(event.decoded("dtstart"), dt.datetime)
    ]
    if timed:
        # The zone's rules around the timed events only: a short VTIMEZONE.
        calendar.add_missing_timezones(
            first_date=min(today, *(t.date() for t in timed)) - dt.timedelta(days=366),
            last_date=max(t.date() for t in timed) + dt.timedelta(days=366),
        )
    return calendar


def render(membership, now: dt.datetime | None = None) -> bytes:
    return build(membership, now).to_ical()


# -- the public view -------------------------------------------------------


# GET only: every request that builds a feed is rate limited.
@require_GET
@limited(per_ip=(30, 0.5), methods=("GET",))
def calendar_feed(request, token):
    """The feed itself: no login, the token is the key. Unknown or turned
    off: 404, and nothing else said."""
    membership = membership_for(token)
    if membership is None:
        response = HttpResponse(
            "No such calendar.", status=404, content_type="text/plain; charset=utf-8"
        )
    else:
        response = HttpResponse(render(membership), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="rapport.ics"'
    # The token is in the URL: never sent on as a referrer, never cached by
    # a shared cache, never indexed.
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
