"""A message's delivery task is enqueued when its transaction commits, never
before: a rolled-back transaction leaves no task behind (and no message), a
committed one exactly one — through the real database task backend, not the
dummy one the rest of the suite uses."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from rapport.outreach import compose
from rapport.outreach.models import OutboundMessage

pytestmark = pytest.mark.django_db(transaction=True)


class Abandon(Exception):
    pass


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def notice(workspace, key):
    return compose.team_email(
        workspace, to="alice@example.com", subject="A notice", text="Hello", key=key
    )


def test_a_rolled_back_transaction_enqueues_nothing(database_tasks, acme):
    with pytest.raises(Abandon), transaction.atomic():
        notice(acme, "notice:rolled-back")
        assert OutboundMessage.objects.filter(workspace=acme).count() == 1
        raise Abandon
    assert OutboundMessage.objects.filter(workspace=acme).count() == 0
    assert DBTaskResult.objects.count() == 0


def test_a_committed_transaction_enqueues_exactly_one(database_tasks, acme):
    with transaction.atomic():
        notice(acme, "notice:committed")
        assert DBTaskResult.objects.count() == 0  # not before the commit
    assert DBTaskResult.objects.count() == 1
    # The same message again (its key): no second message, no second task.
    with transaction.atomic():
        notice(acme, "notice:committed")
    assert OutboundMessage.objects.filter(workspace=acme).count() == 1
    assert DBTaskResult.objects.count() == 1
