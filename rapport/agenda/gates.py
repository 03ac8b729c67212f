"""The gates: what must hold before an ask-like action may stand.

Every ask the agenda proposes passes the gates listed for its action in
`GATES_FOR`, in that order; the first that holds decides what becomes of it:

- BLOCK — an open problem. No ask at all; the recovery comes first, and the
  moment is named on the contact's recovery item so it is not lost.
- EARN — the right is not earned yet (a prospect, a low readiness). The ask
  becomes "earn it first", or for a brand-new client the upfront contract.
- WAIT — the right is earned but this is not the day (cooldown, a decline, a
  date the client set, an ask already made today). The next kind of ask is
  tried; failing that, the moment is thanked for without an ask.

A gate that does not apply to an ask-like action says why in `NOT_APPLIED`;
a test checks that every pair is one or the other, and docs/agenda-rules.md
shows the same table. The same gates judge automated asks (outreach) and the
check made again when a message is sent, so a rule holds however an ask goes.
"""

from collections.abc import Callable
from dataclasses import dataclass

from rapport.advocacy.models import Referral
from rapport.agenda.facts import CUSTOMER_RANK, STAGE_LABEL
from rapport.agenda.models import Action
from rapport.agenda.rules import Proposal, Run, unhandled_complaints
from rapport.clients.models import PermissionKind
from rapport.outreach.models import AskKind, Outcome

BLOCK, EARN, WAIT = "block", "earn", "wait"


@dataclass(frozen=True)
class Gate:
    name: str
    severity: str
    practice: str
    check: Callable[[Run, int, Proposal], str | None]


_GATES: dict[str, Gate] = {}


def gate(name: str, severity: str, practice: str):
    """Register a gate (from any app: service recovery's lives in winback)."""

    def register(check):
        _GATES[name] = Gate(name, severity, practice, check)
        return check

    return register


def get(name: str) -> Gate:
    try:
        return _GATES[name]
    except KeyError:
        raise LookupError(f"agenda gate not registered: {name}") from None


# A date the client set comes before earning: until then there is nothing to
# ask, nor an "earn it first" to make of the moment (it is thanked for).
_ASK = (
    "open_issue",
    "complaint",
    "permission_date",
    "stage",
    "readiness",
    "decline_hold",
    "cooldown",
    "one_ask_a_day",
)
GATES_FOR: dict[str, tuple[str, ...]] = {
    Action.ASK_REFERRAL: _ASK,
    Action.ASK_TESTIMONIAL: _ASK,
    Action.ASK_MORE_NAMES: (
        "open_issue",
        "complaint",
        "permission_date",
        "stage",
        "readiness",
        "decline_hold",
        "names_just_given",
        "one_ask_a_day",
    ),
    Action.UPFRONT_CONTRACT: ("open_issue", "complaint", "stage", "decline_hold", "one_ask_a_day"),
    Action.FOLLOW_UP_PERMISSION: (
        "open_issue",
        "complaint",
        "permission_date",
        "stage",
        "decline_hold",
        "one_ask_a_day",
    ),
    # Not asks for a favour, but not while a problem is open: recover first.
    Action.REACTIVATE: ("open_issue", "complaint"),
    Action.EARN_FIRST: ("open_issue", "complaint"),
}

ASK_LIKE = (
    Action.ASK_REFERRAL,
    Action.ASK_TESTIMONIAL,
    Action.ASK_MORE_NAMES,
    Action.UPFRONT_CONTRACT,
    Action.FOLLOW_UP_PERMISSION,
)

NOT_APPLIED: dict[tuple[str, str], str] = {
    (Action.ASK_MORE_NAMES, "cooldown"): (
        "asking for the other names is the same conversation as the referral just made"
    ),
    (Action.UPFRONT_CONTRACT, "readiness"): (
        "it asks for nothing now but a date: agreeing it is how a new client's right is earned"
    ),
    (Action.UPFRONT_CONTRACT, "permission_date"): (
        "offered only to new clients with no permission on record"
    ),
    (Action.UPFRONT_CONTRACT, "cooldown"): (
        "offered only to new clients not yet asked for a referral or testimonial"
    ),
    (Action.FOLLOW_UP_PERMISSION, "readiness"): (
        "the client granted the right themselves, with its date"
    ),
    (Action.FOLLOW_UP_PERMISSION, "cooldown"): (
        "the client chose the date; a cooldown would move it"
    ),
}
for _action in ASK_LIKE:
    if _action != Action.ASK_MORE_NAMES:
        NOT_APPLIED[(_action, "names_just_given")] = "only a referral can come from names given"


def judge(run: Run, i: int, p: Proposal) -> tuple[Gate, str] | None:
    """The first gate that holds this proposal back, and why; None to go ahead."""
    for name in GATES_FOR.get(p.action, ()):
        g = get(name)
        reason = g.check(run, i, p)
        if reason:
            return g, reason
    return None


def blockers(run: Run, i: int) -> list[str]:
    """Why no ask at all may be made to contact i: every BLOCK gate's reason."""
    probe = Proposal(Action.ASK_REFERRAL, "", [], "", ask_kind=AskKind.REFERRAL)
    found = []
    for name in GATES_FOR[Action.ASK_REFERRAL]:
        g = get(name)
        if g.severity == BLOCK and (reason := g.check(run, i, probe)):
            found.append(reason)
    return found


# A questionnaire asks for feedback, which any client may give: no stage or
# readiness gate, but never with a problem open, nor twice in a day or a cooldown.
FEEDBACK_GATES = ("open_issue", "complaint", "decline_hold", "cooldown", "one_ask_a_day")


def why_not(run: Run, i: int, ask_kind: str, *, skip: tuple[str, ...] = ()) -> str | None:
    """Why an ask of this kind may not be made now, or None: the agenda's
    gates for the ask, for outreach's automated asks and the check at send
    time. `skip` leaves gates out (a reminder of an ask is not a new ask:
    no cooldown)."""
    action = {
        AskKind.REFERRAL: Action.ASK_REFERRAL,
        AskKind.TESTIMONIAL: Action.ASK_TESTIMONIAL,
        AskKind.PERMISSION: Action.UPFRONT_CONTRACT,
    }.get(ask_kind)
    names = GATES_FOR[action] if action else FEEDBACK_GATES
    probe = Proposal(action or "", "", [], "", ask_kind=ask_kind)
    for name in names:
        if name in skip:
            continue
        reason = get(name).check(run, i, probe)
        if reason:
            return reason
    return None


# -- the gates of the agenda ------------------------------------------------------


@gate("complaint", BLOCK, "2. An open problem blocks every ask — a complaint not yet handled")
def complaint(run: Run, i: int, p: Proposal) -> str | None:
    for moment in unhandled_complaints(run, i):
        return f"complained on {moment.on}: \u201c{moment.detail}\u201d"
    return None


@gate("stage", EARN, "1. Earn the right first: suspects and prospects are never asked")
def stage(run: Run, i: int, p: Proposal) -> str | None:
    if run.s.stage_rank[i] >= CUSTOMER_RANK:
        return None
    rung = STAGE_LABEL[run.s.stages[i]].lower()
    what = "for a testimonial" if p.ask_kind == AskKind.TESTIMONIAL else "for a referral"
    return f"a {rung} is not asked {what}: not a client yet"


@gate("readiness", EARN, "1. Earn the right first: readiness below the workspace's threshold")
def readiness(run: Run, i: int, p: Proposal) -> str | None:
    value, threshold = int(run.s.readiness[i]), run.workspace.readiness_threshold
    if value >= threshold:
        return None
    return f"readiness {value} is below the threshold of {threshold}"


def _covers(kind: str, ask_kind: str | None) -> bool:
    if ask_kind == AskKind.PERMISSION:
        return True
    return kind == PermissionKind.BOTH or kind == ask_kind


@gate("permission_date", WAIT, "4. Permission dates hold exactly: not before the agreed day")
def permission_date(run: Run, i: int, p: Proposal) -> str | None:
    for _, _, kind, _, ask_after in run.s.permissions.get(run.pk(i), []):
        if _covers(kind, p.ask_kind) and ask_after > run.on:
            return f"they asked to be asked after {ask_after}"
    return None


@gate(
    "decline_hold", WAIT, "Respect: a decline holds the contact back unless they grant permission"
)
def decline_hold(run: Run, i: int, p: Proposal) -> str | None:
    pk, ws, on = run.pk(i), run.workspace, run.on
    # Closed permissions count too: a permission granted after the decline
    # and already followed up still said "you may ask me".
    last_grant = run.s.last_granted.get(pk)
    for _, asked_on, outcome in run.s.recent_asks.get(pk, []):
        recent = (on - asked_on).days < ws.decline_holdback_days
        if outcome == Outcome.DECLINED and recent and not (last_grant and last_grant >= asked_on):
            return f"declined on {asked_on}; holding back {ws.decline_holdback_days} days"
    return None


@gate("cooldown", WAIT, "Respect: one ask of a kind per contact inside the cooldown")
def cooldown(run: Run, i: int, p: Proposal) -> str | None:
    days = run.workspace.ask_cooldown_days
    for kind, asked_on, _ in run.s.recent_asks.get(run.pk(i), []):
        if kind == p.ask_kind and (run.on - asked_on).days < days:
            return f"already asked for a {kind} on {asked_on}"
    return None


@gate("names_just_given", WAIT, "3. All the names at once: not again right after they gave them")
def names_just_given(run: Run, i: int, p: Proposal) -> str | None:
    if p.moment is not None and p.moment.how == Referral.How.NAMES_GIVEN:
        return f"they gave names when asked on {p.moment.on}: the other names were asked for then"
    return None


@gate("one_ask_a_day", WAIT, "Respect: one ask a day — never a second of another kind")
def one_ask_a_day(run: Run, i: int, p: Proposal) -> str | None:
    pk = run.pk(i)
    for kind, asked_on, _ in run.s.recent_asks.get(pk, []):
        if asked_on == run.on and kind != AskKind.RECOVERY:
            return f"already asked today ({AskKind(kind).label.lower()})"
    if pk in run.asking:
        return "one ask a day: another ask comes first"
    return None
