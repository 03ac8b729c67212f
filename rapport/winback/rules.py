"""Win-back and service recovery in the agenda: their rules and their gate.

Registered into the agenda's ordered list (rapport.agenda.rules.PRECEDENCE)
when the app is ready; the agenda knows their names, not their code.

- recover: the next step of every issue that needs one (apologise, plan
  the fix, fix it, ask whether it is fixed);
- reactivate / recall: a client whose pattern broke, or whose routine visit
  is due, from one vectorised screen of every contact;
- the open_issue gate: an open issue (or a recovery still under way) blocks
  every ask to the contact and to colleagues at its organization.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from rapport.agenda import gates, wording
from rapport.agenda.facts import CUSTOMER_RANK, Snapshot, to_date
from rapport.agenda.models import Action
from rapport.agenda.rules import Proposal, Run, rule
from rapport.kinds import MomentKind
from rapport.winback import recovery

# "8 months for a 6-month recall": past this multiple of the recall interval
# the routine reminder becomes a win-back.
RECALL_LAPSE_FACTOR = 4 / 3
# Without a recall schedule, a regular client's own rhythm is the schedule:
# due a quarter past the usual interval, lapsed after twice it.
DUE_FACTOR = 1.25
LAPSE_FACTOR = 2.0
# Below this chance of still being a client, a regular client is lapsed.
P_ALIVE_THRESHOLD = 0.5


# -- service recovery ---------------------------------------------------------


@gates.gate(
    "open_issue",
    gates.BLOCK,
    "2. An open problem blocks every ask, for the contact and their organization",
)
def open_issue(run: Run, i: int, p: Proposal) -> str | None:
    found = recovery.blockers(run.s, i)
    return found[0] if found else None


def _with_issues(run: Run) -> Iterator[int]:
    found = run.s.memo(recovery.states)
    index = run.s.index
    for pk in found.by_contact:
        if pk in index:
            yield index[pk]


@rule(
    "recover",
    "2. Service recovery: apologise, fix, and ask whether it is fixed — before any ask",
    candidates=_with_issues,
)
def recover(run: Run, i: int) -> Iterator[Proposal]:
    for facts, state in run.s.memo(recovery.states).by_contact.get(run.pk(i), []):
        if not state.needs_action:
            continue
        # One item per step: "done" on the apology does not hide the fix.
        yield Proposal(
            Action.RECOVER,
            f"issue:{facts.pk}:{state.step}",
            [
                *([state.late] if state.late else []),
                *state.why,
                "no ask until the client confirms it is put right",
            ],
            recovery.SCRIPT_FOR_STEP[state.step],
            fields={"issue": wording.clip(facts.summary, 120)},
            issue_pk=facts.pk,
            step=state.step,
        )


# -- lapse and recall -----------------------------------------------------------


@dataclass(frozen=True)
class Lapse:
    action: str  # reactivate or recall
    key: str
    why: list[str]
    interval: float  # the days they used to come at


def _own_intervals(s: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    mean_gap = (s.last_purchase - s.first_purchase) / np.maximum(s.purchases - 1, 1)
    own = np.where(s.purchases >= 2, np.where(np.isnan(s.rhythm), mean_gap, s.rhythm), np.nan)
    return own, s.purchases >= 3


def typical_interval(s: Snapshot) -> float:
    """The workspace's typical interval: the median of its regular clients'."""
    own, regular = _own_intervals(s.whole())
    return float(np.nanmedian(own[regular])) if regular.any() else np.nan


def usual_intervals(s: Snapshot) -> tuple[np.ndarray, np.ndarray]:
    """Each contact's usual interval between purchases, and whether it is
    their own (three purchase days or more) or the workspace's typical one."""
    own, regular = _own_intervals(s)
    # Few purchases say little about a rhythm: use the workspace's typical
    # interval (the median of its regular clients) for them — of all its
    # clients, so that a contact judged alone is judged as in the morning.
    few = (s.purchases >= 1) & ~regular
    typical = typical_interval(s) if few.any() else np.nan
    return np.where(regular, own, typical), regular


def screen(s: Snapshot) -> dict[int, Lapse]:
    """Contacts due a recall or a win-back call, by index (use s.memo)."""
    days_since = s.today - s.last_purchase
    bought = s.purchases >= 1
    interval, regular = usual_intervals(s)
    customer = s.stage_rank >= CUSTOMER_RANK
    has_recall = ~np.isnan(s.recall)
    with np.errstate(invalid="ignore"):
        recall_due = customer & bought & has_recall & (days_since >= s.recall)
        recall_lapsed = recall_due & (days_since >= s.recall * RECALL_LAPSE_FACTOR)
        rhythm = customer & bought & ~has_recall & (interval >= 1)
        # Lapsed: the model says they have probably stopped, or the gap is
        # more than twice their usual one. The why says which.
        model_lapsed = rhythm & regular & (s.p_alive < P_ALIVE_THRESHOLD)
        pattern_lapsed = rhythm & ((days_since > LAPSE_FACTOR * interval) | model_lapsed)
        # A regular client past their own rhythm is due, like a recall.
        pattern_due = rhythm & regular & (days_since >= DUE_FACTOR * interval) & ~pattern_lapsed
    chosen = np.flatnonzero(recall_due | pattern_lapsed | pattern_due)
    # Plain Python values for the loop: indexing NumPy scalars one by one
    # costs more than the rule itself.
    columns = zip(
        chosen.tolist(),
        s.last_purchase[chosen].tolist(),
        days_since[chosen].tolist(),
        s.recall[chosen].tolist(),
        interval[chosen].tolist(),
        recall_due[chosen].tolist(),
        recall_lapsed[chosen].tolist(),
        pattern_due[chosen].tolist(),
        regular[chosen].tolist(),
        s.p_alive[chosen].tolist(),
        strict=True,
    )
    found = {}
    for i, last_day, since, recall, usual, is_recall, lapsed, due, is_regular, alive in columns:
        last = to_date(last_day)
        if is_recall:
            found[i] = _recall_lapse(last, since, recall, lapsed)
        elif due:
            why = [f"comes {wording.every(usual)}; last time {last} ({wording.since(since)} ago)"]
            found[i] = Lapse(Action.RECALL, f"recall:{last}", [*why, "due again"], usual)
        else:
            found[i] = _pattern_lapse(last, since, usual, is_regular, alive)
    return found


def _recall_lapse(last: dt.date, since: float, recall: float, lapsed: bool) -> Lapse:
    cadence = wording.every(recall)
    why = [f"routine visit {cadence}; last seen {last} ({wording.since(since)} ago)"]
    if not lapsed:
        return Lapse(Action.RECALL, f"recall:{last}", why, recall)
    limit = wording.since(recall * RECALL_LAPSE_FACTOR)
    why.append(f"lapsed: more than {limit} without a visit, for a recall {cadence}")
    return Lapse(Action.REACTIVATE, f"reactivate:{last}", why, recall)


def _pattern_lapse(last: dt.date, since: float, usual: float, regular: bool, alive: float) -> Lapse:
    source = "used to come" if regular else "clients usually come"
    gap = wording.since(since, usual)
    why = [f"{source} {wording.every(usual)}; nothing for {gap} (since {last})"]
    if alive == alive and alive < P_ALIVE_THRESHOLD:  # not NaN
        why.append(f"the lapse model gives a {round(alive * 100)}% chance they are still a client")
    if since > LAPSE_FACTOR * usual:
        why.append("more than twice their usual gap")
    return Lapse(Action.REACTIVATE, f"reactivate:{last}", why, usual)


def _lapse_proposal(run: Run, i: int, lapse: Lapse) -> Proposal:
    recall = lapse.action == Action.RECALL
    return Proposal(
        lapse.action,
        lapse.key,
        lapse.why,
        "recall" if recall else "reactivation",
        moments=[MomentKind.RECALL_DUE if recall else MomentKind.LAPSED],
        fields={
            "last_visit": run.spoken(to_date(run.s.last_purchase[i])),
            "usual_interval": wording.every(lapse.interval) if lapse.interval >= 1 else "regularly",
        },
    )


def _screened(action: str):
    def candidates(run: Run) -> list[int]:
        return [i for i, lapse in run.s.memo(screen).items() if lapse.action == action]

    return candidates


@rule(
    "reactivate",
    "5. Win back the ones who drift: a pattern broke, or the model says they have gone",
    candidates=_screened(Action.REACTIVATE),
)
def reactivate(run: Run, i: int) -> Iterator[Proposal]:
    yield _lapse_proposal(run, i, run.s.memo(screen)[i])


@rule(
    "recall",
    "5. Win back before they drift: the routine visit (or their own rhythm) is due",
    candidates=_screened(Action.RECALL),
)
def recall(run: Run, i: int) -> Iterator[Proposal]:
    yield _lapse_proposal(run, i, run.s.memo(screen)[i])
