"""The morning refresh: scheduled in each workspace's time zone, claimed once."""

import datetime as dt

import pytest

from rapport.agenda import tasks
from rapport.agenda.models import AgendaItem
from rapport.workspaces.models import Workspace
from tests import factories

pytestmark = pytest.mark.django_db


def test_mornings_come_in_each_workspace_time_zone(acme, bright):
    # 07:00 UTC in winter: 07:00 in London (refresh hour 6 has passed),
    # 02:00 in New York (not yet).
    now = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
    Workspace.objects.update(agenda_date=dt.date(2026, 11, 30))
    due = tasks.due_morning_refreshes(now)
    assert [(w.slug, day) for w, day in due] == [(acme.slug, dt.date(2026, 12, 1))]
    # Claimed: a second scheduler (another worker) gets nothing.
    assert tasks.due_morning_refreshes(now) == []
    later = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)  # 07:00 in New York
    assert [w.slug for w, _ in tasks.due_morning_refreshes(later)] == [bright.slug]


def test_the_task_rebuilds_the_agenda_for_the_day(acme, today):
    ann = factories.client_with_history(acme, today)
    factories.activity(ann, today, signals=["praise"])
    AgendaItem.objects.all().delete()
    count = tasks.refresh_workspace.call(acme.pk, today.isoformat())
    assert count == AgendaItem.objects.filter(workspace=acme).count() >= 1
    acme.refresh_from_db()
    assert acme.agenda_date == today


def test_schedule_enqueues_one_task_per_due_workspace(acme, bright, settings):
    from django_tasks import default_task_backend

    Workspace.objects.update(agenda_date=None, agenda_scheduled_on=None)
    now = dt.datetime(2026, 12, 1, 13, 0, tzinfo=dt.UTC)
    assert tasks.schedule_mornings(now) == 2
    assert len(default_task_backend.results) == 2
