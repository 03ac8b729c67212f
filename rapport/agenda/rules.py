"""The rules of the practice, each a small named function, in one order.

A rule looks at one contact's facts (a `Snapshot` row) and proposes actions;
the gates (gates.py) then decide whether each ask-like proposal may stand,
must wait, or turns into "earn it first". `PRECEDENCE` is the order in which
rules are asked: it decides which ask a contact gets when several could
apply on one day (one ask a day, the first to pass wins), and it is the
order of docs/agenda-rules.md, which a test keeps in step with this list.

Rules that belong to another part of the practice live with it and join the
list from their app's `ready()`: service recovery and win-back in
`rapport.winback.rules`, thank-yous and give-to-get in
`rapport.advocacy.rules`. The agenda never imports them; it only knows
their names and where they stand.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from rapport.agenda import wording
from rapport.agenda.facts import CUSTOMER_RANK, STAGE_LABEL, Snapshot, to_date
from rapport.agenda.models import Action, AgendaDecision
from rapport.agenda.moments import Moment, Origin
from rapport.clients.models import PermissionKind
from rapport.kinds import UNPROMPTED, MomentKind
from rapport.outreach.models import AskKind

# A client this new, with no permission on record, is due the upfront contract.
UPFRONT_WINDOW_DAYS = 60
# The words of a problem as a script quotes them ("You told us: …").
ISSUE_WORDS_MAX = 120

PRECEDENCE = (
    "recover",
    "complaint",
    "thank",
    "permission_due",
    "more_names",
    "main_ask",
    "upfront",
    "reactivate",
    "recall",
    "stale_referral",
    "referrer_update",
    "passive",
    "give",
    "touch",
)


@dataclass
class Proposal:
    action: str
    key: str
    why: list[str]
    script_key: str
    moments: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    # What the gates judge: "referral", "testimonial", "permission" (None: not an ask).
    ask_kind: str | None = None
    # The moment it answers: named when the ask is held, so it is never lost.
    moment: Moment | None = None
    issue_pk: int | None = None  # a recover item's issue, and its next step
    step: str = ""
    # Tried when this one must wait (a testimonial when a referral is cooling down).
    alternative: "Proposal | None" = None


@dataclass
class Item:
    """An action for the day, as shown and stored."""

    contact_id: int
    action: str
    key: str
    priority: float
    why: list[str]
    script_key: str
    moments: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    readiness: int = 0
    issue_pk: int | None = None
    step: str = ""
    script: str = ""  # filled by engine.fill_scripts
    name: str = ""
    external_id: str = ""


@dataclass(frozen=True)
class Rule:
    name: str
    practice: str  # the practice step it follows (DESIGN.md), for the docs
    propose: Callable[["Run", int], Iterable[Proposal]]
    candidates: Callable[["Run"], Iterable[int]]
    # Only for contacts who have no other item (the touch plan).
    fallback: bool = False


_RULES: dict[str, Rule] = {}


def rule(name: str, practice: str, *, candidates, fallback: bool = False):
    """Register a rule under its name in PRECEDENCE (from any app)."""
    if name not in PRECEDENCE:
        raise ValueError(f"rule {name!r} has no place in PRECEDENCE")

    def register(propose):
        _RULES[name] = Rule(name, practice, propose, candidates, fallback)
        return propose

    return register


def ordered() -> list[Rule]:
    """The registered rules in precedence order. Every rule of PRECEDENCE
    must be registered once the apps are ready: a missing one is a bug."""
    missing = [name for name in PRECEDENCE if name not in _RULES]
    if missing:
        raise LookupError(f"agenda rules not registered: {', '.join(missing)}")
    return [_RULES[name] for name in PRECEDENCE]


class Run:
    """One pass of the rules over a snapshot: the items made so far, what
    was held and why, and which contacts already have their ask of the day."""

    def __init__(self, snapshot: Snapshot):
        self.s = snapshot
        self.workspace = snapshot.workspace
        self.on = snapshot.on
        self.items: list[Item] = []
        self.holds: dict[int, list[str]] = defaultdict(list)
        self.asking: set[int] = set()  # contacts with an ask-like item already
        self.earning: set[int] = set()  # contacts with an earn-first or upfront item
        self.with_items: set[int] = set()
        self.keys: set[tuple[int, str, str]] = set()
        # Moments held back by a gate, by contact: (moment, why held, severity).
        self.held: dict[int, list[tuple[Moment, str, str]]] = defaultdict(list)

    def pk(self, i: int) -> int:
        return int(self.s.ids[i])

    def spoken(self, day: dt.date) -> str:
        return wording.spoken(day, self.on)

    def decided(self, pk: int, action: str, key: str) -> bool:
        """Done, or snoozed until a later day: not proposed again."""
        decision = self.s.decisions.get((pk, action, key))
        if not decision:
            return False
        status, until = decision
        return status == AgendaDecision.Status.DONE or bool(until and until > self.on)

    def add(self, i: int, p: Proposal) -> bool:
        pk = self.pk(i)
        if (pk, p.action, p.key) in self.keys or self.decided(pk, p.action, p.key):
            return False
        self.keys.add((pk, p.action, p.key))
        self.items.append(
            Item(
                pk,
                p.action,
                p.key,
                0.0,
                p.why,
                p.script_key,
                moments=p.moments,
                fields=p.fields,
                readiness=int(self.s.readiness[i]),
                issue_pk=p.issue_pk,
                step=p.step,
            )
        )
        self.with_items.add(pk)
        if p.ask_kind:
            self.asking.add(pk)
        return True

    def hold(self, pk: int, reason: str) -> None:
        if reason not in self.holds[pk]:
            self.holds[pk].append(reason)


# -- screens: which contacts a rule may apply to --------------------------------


def with_moments(*kinds: str) -> Callable[[Run], Iterator[int]]:
    def screen(run: Run) -> Iterator[int]:
        index = run.s.index
        for pk, moments in run.s.moments.items():
            if pk in index and any(m.kind in kinds for m in moments):
                yield index[pk]

    return screen


def with_permissions(run: Run) -> Iterator[int]:
    return (run.s.index[pk] for pk in run.s.permissions if pk in run.s.index)


def new_clients(run: Run) -> list[int]:
    s = run.s
    with np.errstate(invalid="ignore"):
        new = (s.stage_rank >= CUSTOMER_RANK) & (
            s.today - s.first_client_day <= UPFRONT_WINDOW_DAYS
        )
    return np.flatnonzero(new).tolist()


def touch_overdue(run: Run) -> list[int]:
    s, ws = run.s, run.workspace
    cadence = np.array([ws.cadence_for(stage) for stage in STAGE_LABEL], dtype=float)[s.stage_rank]
    last = np.where(np.isnan(s.last_touch), s.created, s.last_touch)
    return np.flatnonzero((cadence > 0) & (s.today - last > cadence)).tolist()


# -- the agenda's own rules -----------------------------------------------------

# The moment that opens a referral ask picks the words.
SCRIPT_FOR_MOMENT = {
    MomentKind.PRAISE: "moment_praise",
    MomentKind.TESTIMONIAL: "moment_testimonial",
    MomentKind.SAVED_US: "moment_saved_us",
    MomentKind.PARTNER_ASSOCIATION: "moment_partner_association",
    MomentKind.PROJECT_COMPLETED: "moment_project_completed",
    MomentKind.POINT_OF_SALE: "point_of_sale",
    MomentKind.PROMOTER: "moment_praise",
    MomentKind.REFERRAL: "moment_praise",
}

# How a moment reads inside a script ("thank you so much for …").
MOMENT_PHRASE = {
    MomentKind.PRAISE: "you took the time to tell us how happy you are",
    MomentKind.TESTIMONIAL: "your kind words",
    MomentKind.SAVED_US: "you felt we made a real difference",
    MomentKind.PARTNER_ASSOCIATION: "sharing your news",
    MomentKind.PROJECT_COMPLETED: "the project is finished",
    MomentKind.POINT_OF_SALE: "you decided to go ahead",
    MomentKind.PROMOTER: "you rated us so highly",
    MomentKind.REFERRAL: "you mentioned passing our name on",
}


def unhandled_complaints(run: Run, i: int) -> list[Moment]:
    """Complaints read in notes that no issue was opened for since, and that
    nobody dismissed ("not a complaint" marks the item done). A snoozed one
    is still a complaint: it keeps blocking asks, and comes back on its day."""
    pk = run.pk(i)
    issue_days = run.s.issue_days.get(pk, [])
    decisions = run.s.decisions
    return [
        m
        for m in run.s.moments.get(pk, [])
        if m.kind == MomentKind.COMPLAINT
        and not any(day >= m.on for day in issue_days)
        and decisions.get((pk, Action.RECOVER, f"complaint:{m.source}"), ("",))[0]
        != AgendaDecision.Status.DONE
    ]


@rule(
    "complaint",
    "2. An open problem blocks every ask: a complaint read in a note opens an issue",
    candidates=with_moments(MomentKind.COMPLAINT),
)
def complaint(run: Run, i: int) -> Iterator[Proposal]:
    for moment in unhandled_complaints(run, i):
        yield Proposal(
            Action.RECOVER,
            f"complaint:{moment.source}",
            [
                f"complained on {moment.on}: \u201c{moment.detail}\u201d",
                "open an issue and apologise; no ask meanwhile",
            ],
            "apology",
            moments=[MomentKind.COMPLAINT],
            fields={"issue": wording.clip(moment.detail, ISSUE_WORDS_MAX)},
        )


def permission_used(run: Run, pk: int, kind: str, ask_after: dt.date) -> bool:
    """The permission was acted on: an ask it covers was made since its date.
    Only a referral or testimonial ask is what a permission is for: a
    questionnaire or a win-back call since the date leaves it due."""
    for ask_kind, asked_on, _ in run.s.recent_asks.get(pk, []):
        favour = ask_kind in (AskKind.REFERRAL, AskKind.TESTIMONIAL)
        covered = kind == PermissionKind.BOTH or kind == ask_kind
        if favour and covered and asked_on >= ask_after:
            return True
    return False


@rule(
    "permission_due",
    "4. The upfront contract: the follow-up is due exactly on the agreed day",
    candidates=with_permissions,
)
def permission_due(run: Run, i: int) -> Iterator[Proposal]:
    pk = run.pk(i)
    latest_by_kind = {}
    for perm in run.s.permissions.get(pk, []):
        latest_by_kind[perm[2]] = perm
    for perm_pk, _, kind, granted_on, ask_after in latest_by_kind.values():
        if ask_after > run.on or permission_used(run, pk, kind, ask_after):
            continue
        ask_kind = AskKind.TESTIMONIAL if kind == PermissionKind.TESTIMONIAL else AskKind.REFERRAL
        yield Proposal(
            Action.FOLLOW_UP_PERMISSION,
            f"permission:{perm_pk}",
            [f"agreed on {granted_on} to be asked after {ask_after}", "the date has come"],
            "follow_up_permission",
            moments=[MomentKind.PERMISSION_DUE],
            # Stored with the item: the ask logged from it is of the kind the
            # client agreed to (a testimonial stays a testimonial).
            fields={"permission_date": run.spoken(ask_after), "ask_kind": str(ask_kind)},
            ask_kind=ask_kind,
        )


def real_referrals(run: Run, i: int) -> list[Moment]:
    """Referrals that are real: a person on record or a signal a user marked.
    Words read in a note ("I gave your number to my neighbour") are a moment
    to ask for names, not a referral to thank for; word of mouth ("I tell
    everyone about you") is praise."""
    return [
        m
        for m in run.s.moments.get(run.pk(i), [])
        if m.kind == MomentKind.REFERRAL and m.origin in (Origin.RECORD, Origin.MARKED)
    ]


@rule(
    "more_names",
    "3. A referral: thank, then ask for all the other names at once",
    candidates=with_moments(MomentKind.REFERRAL),
)
def more_names(run: Run, i: int) -> Iterator[Proposal]:
    referrals = real_referrals(run, i)
    if not referrals:
        return
    moment = referrals[0]
    on_record = [m for m in referrals if m.origin == Origin.RECORD]
    if on_record:
        names = wording.and_list(list(dict.fromkeys(m.detail for m in on_record)))
        what = f"referred {names} on {moment.on}"
    else:
        names = "the person you sent our way"
        what = f"marked as a referral on {moment.on}" + (
            f": \u201c{moment.detail}\u201d" if moment.detail else ""
        )
    yield Proposal(
        Action.ASK_MORE_NAMES,
        f"more_names:{moment.source}",
        [what, "ask for all the other names now"],
        "ask_more_names",
        moments=[MomentKind.REFERRAL],
        fields={"referred_name": names},
        ask_kind="referral",
        moment=moment,
    )


def main_ask_moments(run: Run, i: int) -> list[Moment]:
    return [
        m
        for m in run.s.positive_moments(run.pk(i))
        if m.kind != MomentKind.REFERRAL or m.origin == Origin.READ
    ]


def _ask(run: Run, i: int, kind: str, moments: list[Moment]) -> Proposal:
    strongest = moments[0]
    if kind == AskKind.REFERRAL:
        action, script_key = Action.ASK_REFERRAL, SCRIPT_FOR_MOMENT.get(strongest.kind)
    else:
        action = Action.ASK_TESTIMONIAL
        script_key = (
            "moment_project_completed"
            if strongest.kind == MomentKind.PROJECT_COMPLETED
            else "ask_testimonial"
        )
    relationship = run.s.relationship[i]
    return Proposal(
        action,
        f"{kind}:{strongest.source}",
        [
            *(m.describe() for m in moments[:3]),
            *([] if np.isnan(relationship) else [f"relationship {int(relationship)}/10"]),
            f"readiness {int(run.s.readiness[i])} (threshold {run.workspace.readiness_threshold})",
            "no open issues",
        ],
        script_key or "moment_praise",
        moments=list(dict.fromkeys(m.kind for m in moments)),
        fields={
            "moment": MOMENT_PHRASE.get(strongest.kind, ""),
            "moment_date": run.spoken(strongest.on),
        },
        ask_kind=kind,
        moment=strongest,
    )


@rule(
    "main_ask",
    "3. Ask at the moments that matter: a testimonial when a project is completed "
    "(the funnel's last phase), a referral otherwise",
    candidates=with_moments(
        MomentKind.PRAISE,
        MomentKind.TESTIMONIAL,
        MomentKind.REFERRAL,
        MomentKind.SAVED_US,
        MomentKind.PARTNER_ASSOCIATION,
        MomentKind.PROJECT_COMPLETED,
        MomentKind.POINT_OF_SALE,
        MomentKind.PROMOTER,
    ),
)
def main_ask(run: Run, i: int) -> Iterator[Proposal]:
    moments = main_ask_moments(run, i)
    if not moments:
        return
    if all(m.kind == MomentKind.POINT_OF_SALE for m in moments) and upfront_due(run, i):
        # A brand-new client who has just said yes: the moment is real, but
        # the softer form fits — the upfront contract, naming what happened.
        yield upfront_proposal(run, i, moments[0])
        return
    has_testimonial = bool(run.s.testimonials[i])
    completed = any(m.kind == MomentKind.PROJECT_COMPLETED for m in moments)
    if completed and not has_testimonial:
        first = _ask(run, i, AskKind.TESTIMONIAL, moments)
        first.alternative = _ask(run, i, AskKind.REFERRAL, moments)
    else:
        first = _ask(run, i, AskKind.REFERRAL, moments)
        if not has_testimonial:
            first.alternative = _ask(run, i, AskKind.TESTIMONIAL, moments)
    yield first


def upfront_due(run: Run, i: int) -> bool:
    s = run.s
    pk = run.pk(i)
    new = (
        s.stage_rank[i] >= CUSTOMER_RANK and s.today - s.first_client_day[i] <= UPFRONT_WINDOW_DAYS
    )
    asked = any(
        kind in (AskKind.PERMISSION, AskKind.REFERRAL, AskKind.TESTIMONIAL)
        for kind, _, _ in s.recent_asks.get(pk, [])
    )
    return bool(new) and not s.permissions.get(pk) and pk not in s.asked_permission and not asked


def upfront_proposal(run: Run, i: int, moment: Moment | None = None) -> Proposal:
    since = to_date(run.s.first_client_day[i])
    why = [f"new client since {since}", "no permission to ask recorded yet"]
    fields = {}
    script_key = "upfront_contract"
    if moment is not None:
        why.insert(0, moment.describe())
        script_key = "upfront_after_moment"
        fields = {
            "moment": MOMENT_PHRASE.get(moment.kind, ""),
            "moment_date": run.spoken(moment.on),
        }
    why.append("agree now when you may ask for a referral or testimonial")
    return Proposal(
        Action.UPFRONT_CONTRACT,
        "upfront",
        why,
        script_key,
        moments=[moment.kind] if moment else [],
        fields=fields,
        ask_kind=AskKind.PERMISSION,
        moment=moment,
    )


@rule(
    "upfront",
    "4. The upfront contract at the start of a relationship",
    candidates=new_clients,
)
def upfront(run: Run, i: int) -> Iterator[Proposal]:
    if upfront_due(run, i):
        moments = run.s.positive_moments(run.pk(i))
        yield upfront_proposal(run, i, moments[0] if moments else None)


@rule(
    "passive",
    "1. Earn the right: a 7–8 rating is satisfied, not yet enthusiastic — a personal touch",
    candidates=with_moments(MomentKind.PASSIVE),
)
def passive(run: Run, i: int) -> Iterator[Proposal]:
    for moment in run.s.moments.get(run.pk(i), []):
        if moment.kind == MomentKind.PASSIVE:
            yield Proposal(
                Action.TOUCH,
                f"passive:{moment.source}",
                [
                    f"rated us {moment.detail} on {moment.on}",
                    "a personal touch could turn them into a promoter",
                ],
                "touch",
                moments=[MomentKind.PASSIVE],
                fields={"last_visit": run.spoken(moment.on)},
            )


@rule(
    "touch",
    "1. Earn the right: the touch plan reaches every client on its rung's cadence",
    candidates=touch_overdue,
    fallback=True,
)
def touch(run: Run, i: int) -> Iterator[Proposal]:
    s = run.s
    stage = s.stages[i]
    cadence = run.workspace.cadence_for(stage)
    rung = STAGE_LABEL[stage].lower()
    plan = f"the plan for {wording.article(rung)} is every {cadence} days"
    last = s.last_touch[i]
    if np.isnan(last):
        why = [f"no touch recorded; {plan}"]
        key, last_visit = "touch:never", "we last spoke"
    else:
        day = to_date(last)
        why = [f"last touch {day} ({wording.since(s.today - last)} ago); {plan}"]
        key, last_visit = f"touch:{day}", run.spoken(day)
    yield Proposal(Action.TOUCH, key, why, "touch", fields={"last_visit": last_visit})


# -- what a held moment becomes ---------------------------------------------------


def earn_first(run: Run, i: int, moment: Moment | None, reason: str) -> Proposal:
    moments = [moment] if moment else []
    return Proposal(
        Action.EARN_FIRST,
        f"earn:{moment.source}" if moment else "earn",
        [
            *(m.describe() for m in moments),
            reason,
            "earn it first: a touch, a thank-you, a referral given to them",
        ],
        "earn_first",
        moments=[m.kind for m in moments],
    )


def acknowledge(run: Run, i: int, moment: Moment, reason: str) -> Proposal:
    """A moment whose ask must wait is still answered: a thank-you, no ask."""
    return Proposal(
        Action.TOUCH,
        f"acknowledge:{moment.source}",
        [moment.describe(), f"no ask now: {reason}", "thank them for it; nothing more"],
        "acknowledge",
        moments=[moment.kind],
        fields={"moment": MOMENT_PHRASE.get(moment.kind, ""), "moment_date": run.spoken(moment.on)},
    )


def is_unprompted(moment: Moment) -> bool:
    return moment.kind in UNPROMPTED
