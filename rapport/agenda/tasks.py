"""Background work for the agenda: the morning refresh of every workspace.

The scheduler (run by `rapport worker`) only enqueues; the task does the
work, so that a slow refresh never delays the next scheduling pass.
"""

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from rapport.agenda import signals, store
from rapport.workspaces.models import Workspace

log = logging.getLogger(__name__)


@task()
def refresh_workspace(workspace_id: int, on: str | None = None) -> int:
    workspace = Workspace.objects.get(pk=workspace_id)
    day = dt.date.fromisoformat(on) if on else workspace.today()
    # What the day's reads rely on is computed now and only now: win-back's
    # rhythms and lapse model (so an agenda read for any day never refits).
    signals.morning.send(sender=Workspace, workspace=workspace, on=day)
    workspace.refresh_from_db()
    count = store.refresh(workspace, day)
    log.info("agenda of %s for %s: %d items", workspace.slug, day, count)
    return count


def due_morning_refreshes(now: dt.datetime | None = None) -> list[tuple[Workspace, dt.date]]:
    """Workspaces whose local morning has come and whose agenda is older.

    Each is claimed with a conditional UPDATE: of several schedulers running
    at once, exactly one wins a given workspace and day.
    """
    now = now or timezone.now()
    due = []
    for workspace in Workspace.objects.all().only(
        "pk", "time_zone", "agenda_refresh_hour", "agenda_date", "agenda_scheduled_on"
    ):
        local = timezone.localtime(now, workspace.tzinfo)
        today = local.date()
        if local.hour < workspace.agenda_refresh_hour or workspace.agenda_date == today:
            continue
        claimed = (
            Workspace.objects.filter(pk=workspace.pk)
            .filter(Q(agenda_scheduled_on__isnull=True) | Q(agenda_scheduled_on__lt=today))
            .update(agenda_scheduled_on=today)
        )
        if claimed:
            due.append((workspace, today))
    return due


def schedule_mornings(now: dt.datetime | None = None) -> int:
    due = due_morning_refreshes(now)
    for workspace, today in due:
        refresh_workspace.enqueue(workspace.pk, today.isoformat())
    return len(due)
