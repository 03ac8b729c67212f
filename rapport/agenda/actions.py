"""What users do with agenda items: record an ask and its outcome, mark an
item done, snooze it. Each records the facts (an Ask, a Permission, names
received, an activity) and the decision, then refreshes the contact."""

import datetime as dt

from rapport.advocacy.actions import receive_names
from rapport.agenda import engine
from rapport.agenda.models import Action, AgendaDecision, AgendaItem
from rapport.clients.actions import (
    changing,
    facts_changed,
    log_activity,
    open_issue,
    record_permission,
)
from rapport.clients.models import ActivityKind, Direction, Permission, PermissionKind
from rapport.outreach.actions import start_ask
from rapport.outreach.models import Ask, AskKind, Outcome
from rapport.workspaces.models import Workspace

# Past this many changed contacts, one full rebuild is cheaper than a filter.
PARTIAL_REFRESH_LIMIT = 2000


def refresh_after_change(workspace, contact_ids: list[int] | None) -> None:
    workspace = Workspace.objects.get(pk=workspace.pk)
    today = workspace.today()
    stale = workspace.agenda_date != today
    if stale or contact_ids is None or len(contact_ids) > PARTIAL_REFRESH_LIMIT:
        engine.refresh(workspace, today)
    else:
        engine.refresh(workspace, today, contact_ids)


def ensure_current(workspace) -> None:
    """The morning job keeps the agenda current; this covers a missed run."""
    if workspace.agenda_date != workspace.today():
        engine.refresh(workspace)


def ask_kind_for(item: AgendaItem) -> str:
    if item.action == Action.UPFRONT_CONTRACT:
        return AskKind.PERMISSION
    if item.recovery:
        return AskKind.RECOVERY
    if item.action == Action.REACTIVATE:
        return AskKind.REACTIVATION
    return item.ask_kind or AskKind.REFERRAL


def _decide(item: AgendaItem, status: str, *, by, until: dt.date | None = None) -> None:
    AgendaDecision.objects.update_or_create(
        workspace_id=item.workspace_id,
        contact_id=item.contact_id,
        action=item.action,
        key=item.key,
        defaults={"status": status, "until": until, "decided_by": by},
    )


def record_outcome(
    item: AgendaItem,
    outcome: str,
    *,
    by,
    channel: str,
    ask_after: dt.date | None = None,
    names: list[dict] | None = None,
    note: str = "",
) -> Ask:
    """The contact was asked; record how it went, in one step."""
    contact = item.contact
    workspace = contact.workspace
    today = workspace.today()
    kind = ask_kind_for(item)
    engine.fill_scripts(workspace, [item])
    with changing():
        ask = start_ask(
            contact,
            kind=kind,
            channel=channel,
            script=item.script,
            by=by,
            page=False,
            outcome=outcome,
            note=note,
        )
        granted = outcome == Outcome.LATER or (
            kind == AskKind.PERMISSION and outcome == Outcome.YES
        )
        if granted:
            record_permission(
                contact,
                kind=PermissionKind.BOTH if kind == AskKind.PERMISSION else kind,
                ask_after=ask_after or today + dt.timedelta(days=90),
                granted_on=today,
                source=(
                    Permission.Source.UPFRONT_CONTRACT
                    if kind == AskKind.PERMISSION
                    else Permission.Source.ASK_ME_LATER
                ),
                note=note,
                by=by,
            )
        if outcome == Outcome.GAVE_NAMES and names:
            receive_names(contact, names, on=today)
        _decide(item, AgendaDecision.Status.DONE, by=by)
        facts_changed(workspace, [contact.pk])
    return ask


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
        _decide(item, AgendaDecision.Status.DONE, by=by)


def mark_asked(item: AgendaItem, *, by) -> None:
    """The item's ask went out by another path (email, SMS, a QR code): the
    Ask is recorded there; here the item is done."""
    with changing():
        _decide(item, AgendaDecision.Status.DONE, by=by)
        facts_changed(item.contact.workspace, [item.contact_id])


def snooze(item: AgendaItem, until: dt.date, *, by) -> None:
    with changing():
        _decide(item, AgendaDecision.Status.SNOOZED, by=by, until=until)
        facts_changed(item.contact.workspace, [item.contact_id])


# What a win-back call can come to, in one click.
REACTIVATION_OUTCOMES = (Outcome.YES, Outcome.LATER, Outcome.DECLINED, Outcome.PROBLEM)


def record_reactivation(
    item: AgendaItem,
    outcome: str,
    *,
    by,
    channel: str,
    until: dt.date | None = None,
    words: str = "",
    note: str = "",
) -> Ask:
    """The win-back call was made; record what came of it, in one step.

    - coming back (`yes`, `until` the day booked, optional): the item is done;
    - not now (`later`, `until` required, after today): the item is snoozed
      until that day and comes back on it. Not a Permission: it is not an
      ask for a referral or a testimonial;
    - not interested (`declined`, `words` their reason): the item is done, and
      the decline holds the contact back like any other;
    - a problem revealed (`problem`, `words` the client's, required): an issue
      opens with their words (the agenda then shows its recovery, and asks
      stay blocked until it is put right); the call is done.

    Each records an Ask of kind reactivation with the outcome.
    """
    if outcome not in REACTIVATION_OUTCOMES:
        raise ValueError(f"not an outcome of a win-back call: {outcome!r}")
    contact = item.contact
    workspace = contact.workspace
    today = workspace.today()
    words, note = words.strip(), note.strip()
    if outcome == Outcome.LATER and (until is None or until <= today):
        raise ValueError("'not now' needs a day after today to call again")
    if outcome == Outcome.PROBLEM and not words:
        raise ValueError("a problem is recorded in the client's words")
    parts = []
    if outcome == Outcome.YES and until:
        parts.append(f"Booked for {until}.")
    elif outcome == Outcome.LATER:
        parts.append(f"Not now; call again on {until}.")
    if words:
        said = "Not interested" if outcome == Outcome.DECLINED else "They said"
        parts.append(f"{said}: \u201c{words}\u201d")
    if note:
        parts.append(note)
    engine.fill_scripts(workspace, [item])
    with changing():
        ask = start_ask(
            contact,
            kind=AskKind.REACTIVATION,
            channel=channel,
            script=item.script,
            by=by,
            page=False,
            outcome=outcome,
            note=" ".join(parts),
        )
        if outcome == Outcome.PROBLEM:
            open_issue(contact, words, opened_on=today, by=by)
        if outcome == Outcome.LATER:
            _decide(item, AgendaDecision.Status.SNOOZED, by=by, until=until)
        else:
            _decide(item, AgendaDecision.Status.DONE, by=by)
        facts_changed(workspace, [contact.pk])
    return ask
