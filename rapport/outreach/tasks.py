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
    from rapport.outreach.models import OutboundMessage

    if OutboundMessage.objects.due().exists():
        deliver_due.enqueue()
        return 1
    return 0
