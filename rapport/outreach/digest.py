"""The morning digest: an opt-in email with the day's top agenda items.

Each member who turned it on (`Membership.wants_digest`) gets, once a day,
the top items of their own scope (their contacts and the unassigned ones),
with the why of each and a link to Today — after the morning refresh has
built the day's agenda in the workspace's time zone. Nothing is sent on a
day with nothing to do.

A scheduler job looks every few minutes for workspaces whose agenda is
today's and whose morning has come (within a few hours of the refresh hour:
a digest in the afternoon is no longer a morning digest) and hands the
sending to a task. Each digest has the idempotency key
`digest:<membership id>:<date>`, so it goes out once however often the job
runs, and on however many workers.
"""

import datetime as dt

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from rapport.agenda.models import AgendaItem
from rapport.outreach import compose
from rapport.outreach.models import OutboundMessage
from rapport.workspaces.models import Membership

TOP = 10
# The digest goes out within this many hours after the morning refresh hour.
WINDOW_HOURS = 6


def key(membership, on: dt.date) -> str:
    return f"digest:{membership.pk}:{on.isoformat()}"


def due(now: dt.datetime | None = None) -> list[tuple[Membership, dt.date]]:
    """Memberships whose digest of today is due and not yet in the outbox."""
    now = now or timezone.now()
    found = []
    memberships = (
        Membership.objects.filter(wants_digest=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("workspace", "user")
        .order_by("pk")
    )
    for membership in memberships:
        workspace = membership.workspace
        local = timezone.localtime(now, workspace.tzinfo)
        today = local.date()
        morning = 0 <= local.hour - workspace.agenda_refresh_hour < WINDOW_HOURS
        if workspace.agenda_date == today and morning:
            found.append((membership, today))
    if not found:
        return []
    sent = set(
        OutboundMessage.objects.filter(
            idempotency_key__in=[key(m, day) for m, day in found]
        ).values_list("idempotency_key", flat=True)
    )
    return [(m, day) for m, day in found if key(m, day) not in sent]


def items_for(membership, on: dt.date) -> tuple[list[AgendaItem], int]:
    """The top items of the member's scope for the day, and how many there are."""
    items = (
        AgendaItem.objects.filter(workspace=membership.workspace, date=on)
        .for_user(membership.user)
        .select_related("contact")
        .order_by("-priority", "id")
    )
    top = list(items[:TOP])
    total = len(top) if len(top) < TOP else items.count()
    return top, total


def send(membership, on: dt.date) -> OutboundMessage | None:
    """Queue this member's digest for the day; None when there is nothing to do."""
    items, total = items_for(membership, on)
    if not items:
        return None
    workspace, user = membership.workspace, membership.user
    for item in items:
        item.url = settings.SITE_URL + reverse("clients:detail", args=[item.contact_id])
    context = {
        "workspace": workspace,
        "user": user,
        "items": items,
        "total": total,
        "day": on,
        "today_url": settings.SITE_URL + reverse("agenda:today"),
        "settings_url": settings.SITE_URL + reverse("outreach:personal_settings"),
    }
    things = "thing" if total == 1 else "things"
    return compose.team_email(
        workspace,
        to=user.email,
        subject=f"Today at {workspace.name}: {total} {things} to do",
        text=render_to_string("outreach/email/digest.txt", context),
        html=render_to_string("outreach/email/digest.html", context),
        key=key(membership, on),
        kind=OutboundMessage.Kind.DIGEST,
    )


def send_due(now: dt.datetime | None = None) -> int:
    sent = 0
    for membership, day in due(now):
        if send(membership, day) is not None:
            sent += 1
    return sent


@task()
def send_digests() -> int:
    return send_due()


def schedule(now: dt.datetime | None = None) -> int:
    """Scheduler job: hand the sending to the task worker when a digest is due."""
    if due(now):
        send_digests.enqueue()
        return 1
    return 0
