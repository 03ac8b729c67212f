"""What users do with agenda items that is the agenda's own: mark one done,
snooze it, remember the decision; and keeping the stored agenda current.

Recording an ask and its outcome is outreach's (outreach.actions.record_outcome),
a win-back call's outcome and recovery steps winback's: they act on the
agenda from above, and call `decide` here.
"""

import datetime as dt

from rapport.agenda import store
from rapport.agenda.models import Action, AgendaDecision, AgendaItem
from rapport.clients.actions import changing, close_permission, facts_changed, log_activity
from rapport.clients.models import ActivityKind, Direction
from rapport.outreach.models import AskKind
from rapport.workspaces.models import Membership, Workspace

# Past this many changed contacts, one full rebuild is cheaper than a filter.
PARTIAL_REFRESH_LIMIT = 2000


def refresh_after_change(workspace, contact_ids: list[int] | None) -> None:
    workspace = Workspace.objects.get(pk=workspace.pk)
    today = workspace.today()
    stale = workspace.agenda_date != today
    if stale or contact_ids is None or len(contact_ids) > PARTIAL_REFRESH_LIMIT:
        store.refresh(workspace, today)
    else:
        store.refresh(workspace, today, contact_ids)


def ensure_current(workspace) -> None:
    """The morning job keeps the agenda current; this covers a missed run."""
    if workspace.agenda_date != workspace.today():
        store.refresh(workspace)


def ask_kind_for(item: AgendaItem) -> str:
    if item.action == Action.UPFRONT_CONTRACT:
        return AskKind.PERMISSION
    if item.recovery:
        return AskKind.RECOVERY
    if item.action == Action.REACTIVATE:
        return AskKind.REACTIVATION
    return item.ask_kind or AskKind.REFERRAL


def decide(item: AgendaItem, status: str, *, by, until: dt.date | None = None) -> None:
    """Remember what the user decided about an item: it survives every rebuild."""
    AgendaDecision.objects.update_or_create(
        workspace_id=item.workspace_id,
        contact_id=item.contact_id,
        action=item.action,
        key=item.key,
        defaults={"status": status, "until": until, "decided_by": by},
    )


# What "done" means for the items that are not asks: the touch it stands for.
DONE_AS_ACTIVITY = {
    Action.THANK: (ActivityKind.CARD, "Thanked them"),
    Action.TOUCH: (ActivityKind.CALL, "Kept in touch"),
    Action.RECALL: (ActivityKind.CALL, "Called about their routine visit"),
    Action.REACTIVATE: (ActivityKind.CALL, "Win-back call"),
    Action.EARN_FIRST: (ActivityKind.NOTE, "Worked on earning the right to ask"),
    Action.RECOVER: (ActivityKind.NOTE, "Handled the complaint"),
}


def mark_done(item: AgendaItem, *, by, note: str = "") -> None:
    with changing():
        kind, text = DONE_AS_ACTIVITY.get(
            item.action, (ActivityKind.NOTE, item.get_action_display())
        )
        # The touch is a fact: the touch plan restarts from today.
        log_activity(
            item.contact,
            by=by,
            occurred_on=item.contact.workspace.today(),
            kind=kind,
            direction=Direction.OUT,
            text=f"{text}. {note}".strip() if note else text,
            read_text=False,
        )
        close_followed_permission(item)
        decide(item, AgendaDecision.Status.DONE, by=by)


def close_followed_permission(item: AgendaItem) -> None:
    """The follow-up a permission asked for was made: it is closed."""
    if item.permission_pk:
        close_permission(item.contact, item.permission_pk, on=item.contact.workspace.today())


def mark_asked(item: AgendaItem, *, by) -> None:
    """The item's ask went out by another path (email, SMS, a QR code): the
    Ask is recorded there; here the item is done."""
    with changing():
        close_followed_permission(item)
        decide(item, AgendaDecision.Status.DONE, by=by)
        facts_changed(item.contact.workspace, [item.contact_id])


def snooze(item: AgendaItem, until: dt.date, *, by) -> None:
    with changing():
        decide(item, AgendaDecision.Status.SNOOZED, by=by, until=until)
        facts_changed(item.contact.workspace, [item.contact_id])


def set_capacity(membership, capacity: int) -> None:
    """How many actions a day this person's Today shows. (`membership` may be
    the request's lazy proxy: the model is named, not taken from its type.)"""
    Membership.objects.filter(pk=membership.pk).update(daily_capacity=capacity)
    membership.daily_capacity = capacity
