"""Reading the agenda in tests: one contact's items for a day, and what held
its asks back. Through the public entry points only (engine.build, explain)."""

import datetime as dt

from rapport.agenda import engine
from rapport.agenda.models import Action
from rapport.workspaces.models import Workspace

# Every ask-like action: each gate applies to all of them unless
# gates.NOT_APPLIED says why not.
ASKS = {
    Action.ASK_REFERRAL,
    Action.ASK_TESTIMONIAL,
    Action.ASK_MORE_NAMES,
    Action.UPFRONT_CONTRACT,
    Action.FOLLOW_UP_PERMISSION,
}


def current(contact):
    """The contact with its workspace as stored now: a test that changes the
    workspace's settings must not read them through a stale copy."""
    contact.workspace = Workspace.objects.get(pk=contact.workspace_id)
    return contact


def items(contact, on: dt.date) -> list:
    """The contact's items for the day, ranked, scripts filled."""
    found, _, _ = engine.build(current(contact).workspace, on, [contact.pk])
    return [item for item in found if item.contact_id == contact.pk]


def agenda(contact, on: dt.date) -> dict:
    """The contact's items for the day by action (the first of each)."""
    by_action = {}
    for item in items(contact, on):
        by_action.setdefault(item.action, item)
    return by_action


def holds(contact, on: dt.date) -> list[str]:
    """Why asks were held back for the contact on the day (its page's list)."""
    return engine.explain(current(contact), on).holds


def days(today: dt.date):
    """d(n): n days after today (negative: before)."""
    return lambda n: today + dt.timedelta(days=n)
