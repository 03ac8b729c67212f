"""Win-back and service recovery: one path for every entry point.

- `refit_lapse_model`: the morning job's, nobody else's (reads never refit);
- `record_reactivation`: what came of a win-back call, in one step.
"""

import datetime as dt

import numpy as np

from rapport.agenda.actions import decide
from rapport.agenda.facts import contacts_with_history, day_number, day_numbers
from rapport.agenda.models import AgendaDecision, AgendaItem
from rapport.clients import rhythm
from rapport.clients.actions import changing, facts_changed, open_issue
from rapport.outreach.actions import start_ask
from rapport.outreach.models import Ask, AskKind, Outcome
from rapport.winback import figures, lapse


def morning(sender=None, *, workspace, on: dt.date, **kwargs) -> None:
    """The morning job's part for win-back (agenda.signals.morning): every
    client's rhythm from all their purchases (writes keep it current during
    the day), then the lapse model refitted on them."""
    rhythm.update(workspace)
    refit_lapse_model(workspace, on)
    # The win-back page reads these instead of computing them per request.
    workspace.refresh_from_db(fields=["lapse_model"])
    figures.store(workspace, on)


def follow_the_record(sender=None, *, workspace, contact_ids=None, **kwargs) -> None:
    """A contact's facts changed (clients.signals.facts_changed), or the
    workspace's settings did: the stored lapse figures of the day follow,
    for those contacts (None: everyone). Nothing stored for today: nothing
    to follow (the page computes the report itself)."""
    figures.store(workspace, workspace.today(), contact_ids, only_if_stored=True)


def refit_lapse_model(workspace, on: dt.date) -> dict:
    """Fit the workspace's BG/NBD on its purchase history up to `on`, and
    store it. Run by the morning job before the agenda is rebuilt."""
    rows = contacts_with_history(workspace, on, None)
    columns = list(zip(*rows, strict=True)) if rows else [()] * 15
    purchases = np.nan_to_num(np.array(columns[11], dtype=float), nan=0.0)
    first, last = day_numbers(columns[12]), day_numbers(columns[13])
    return lapse.fit(workspace, purchases, first, last, float(day_number(on)), on)


# What a win-back call can come to, in one click.
REACTIVATION_OUTCOMES = (Outcome.YES, Outcome.LATER, Outcome.DECLINED, Outcome.PROBLEM)


def record_reactivation(
    item: AgendaItem,
    outcome: str,
    *,
    by,
    channel: str,
    script: str = "",
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
    with changing():
        ask = start_ask(
            contact,
            kind=AskKind.REACTIVATION,
            channel=channel,
            script=script,
            by=by,
            page=False,
            outcome=outcome,
            note=" ".join(parts),
        )
        if outcome == Outcome.PROBLEM:
            open_issue(contact, words, opened_on=today, by=by)
        if outcome == Outcome.LATER:
            decide(item, AgendaDecision.Status.SNOOZED, by=by, until=until)
        else:
            decide(item, AgendaDecision.Status.DONE, by=by)
        facts_changed(workspace, [contact.pk])
    return ask
