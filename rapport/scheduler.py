"""Periodic jobs, run by `rapport worker` beside the task worker.

Each job is a plain function called every `every` seconds; jobs only enqueue
tasks or claim rows with conditional updates, so several workers may run
this loop at once without doing the same work twice.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)


@dataclass
class Job:
    name: str
    every: float
    run: Callable[[], object]


def jobs() -> list[Job]:
    from rapport.agenda.tasks import schedule_mornings
    from rapport.outreach import automation, digest
    from rapport.outreach.tasks import schedule_due

    return [
        Job("morning agenda", 60, schedule_mornings),
        # Retries, scheduled sends and claims left by a dead worker.
        Job("outbox sweep", settings.OUTBOX_SWEEP_SECONDS, schedule_due),
        # After the morning agenda, in each workspace's time zone; once a day each.
        Job("morning digest", 300, digest.schedule),
        Job("automation rules", 600, automation.schedule),
        # Webhook event ids, kept to refuse replays, for a month.
        Job("forget old webhook ids", 3600, forget_webhook_ids),
    ]


def forget_webhook_ids() -> int:
    from django.utils import timezone

    from rapport.outreach.webhooks import forget_old

    return forget_old(timezone.now())


def loop(stop: threading.Event, tick: float | None = None) -> None:
    tick = tick or min(5.0, *(job.every for job in jobs()))
    due = {job.name: 0.0 for job in jobs()}
    elapsed = 0.0
    while not stop.is_set():
        for job in jobs():
            if elapsed >= due[job.name]:
                due[job.name] = elapsed + job.every
                close_old_connections()
                try:
                    job.run()
                except Exception:  # a failing job must not stop the others
                    log.exception("scheduled job %s failed", job.name)
        stop.wait(tick)
        elapsed += tick
    close_old_connections()
