"""Background tasks of the outbox, run by `rapport worker` (django-tasks,
database backend). Each is safe to run twice: delivery claims first."""

from django_tasks import task

from rapport.outreach import sending


@task()
def deliver_message(message_pk: int) -> str:
    return sending.deliver(message_pk).status


@task()
def deliver_due() -> int:
    """The safety net: scheduled messages whose time came, retries, and
    claims left by a worker that died."""
    return len(sending.send_due())


def schedule_due() -> int:
    """Scheduler job: hand the sweep to the task worker when work is waiting."""
    from django_tasks_db.models import DBTaskResult

    from rapport.outreach.models import OutboundMessage

    if not OutboundMessage.objects.due().exists():
        return 0
    # One sweep waiting is enough: don't pile them up behind a backlog. (Not
    # counting RUNNING ones: a sweep whose worker was killed stays RUNNING.)
    waiting = DBTaskResult.objects.filter(status="READY", task_path=deliver_due.module_path)
    if waiting.exists():
        return 0
    deliver_due.enqueue()
    return 1
