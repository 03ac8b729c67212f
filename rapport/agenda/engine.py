"""The agenda engine: every action for a day, with its priority, why and script.

Orchestration only. A `Snapshot` (facts.py) reads the facts; the rules
(rules.py, and the ones other apps register) propose, in precedence order;
the gates (gates.py) let each ask stand, make it wait, or turn it into
"earn it first"; what remains is ranked. Nothing here writes: `refresh`
(store.py) stores a day's items.
"""

import datetime as dt
from dataclasses import dataclass

from rapport.agenda import gates
from rapport.agenda.facts import Snapshot
from rapport.agenda.models import Action
from rapport.agenda.moments import Moment
from rapport.agenda.rules import (
    Item,
    Proposal,
    Run,
    acknowledge,
    earn_first,
    ordered,
    upfront_due,
    upfront_proposal,
)
from rapport.agenda.scripts import bodies_for, render
from rapport.clients.models import Contact

BASE_PRIORITY = {
    Action.RECOVER: 0.95,
    Action.FOLLOW_UP_PERMISSION: 0.9,
    Action.ASK_MORE_NAMES: 0.82,
    Action.THANK: 0.8,
    Action.ASK_REFERRAL: 0.6,
    Action.ASK_TESTIMONIAL: 0.58,
    Action.UPFRONT_CONTRACT: 0.55,
    Action.REACTIVATE: 0.45,
    Action.RECALL: 0.42,
    Action.EARN_FIRST: 0.35,
    Action.TOUCH: 0.2,
}
# A touch that answers a fresh moment (a thank-you while the ask waits, a
# referred person nobody has called) matters more than the touch plan.
ANSWERING_TOUCH = ("acknowledge:", "referral:")
ASKS = (Action.ASK_REFERRAL, Action.ASK_TESTIMONIAL, Action.ASK_MORE_NAMES)


@dataclass
class ContactView:
    """Everything the engine concluded about one contact, for its page."""

    readiness: int
    reasons: list[str]
    moments: list[Moment]
    holds: list[str]
    items: list[Item]


def consider(run: Run, i: int, p: Proposal) -> None:
    """One proposal through its gates: it stands, waits, or becomes another."""
    if (run.pk(i), p.action, p.key) in run.keys:
        # Already on the day (the upfront contract a held moment became):
        # judging it again would hold it back by itself ("one ask a day").
        return
    held = gates.judge(run, i, p)
    if held is None:
        run.add(i, p)
        return
    gate, reason = held
    if gate.severity == gates.WAIT and p.alternative is not None:
        consider(run, i, p.alternative)
        return
    pk = run.pk(i)
    run.hold(pk, reason)
    if p.moment is not None:
        run.held[pk].append((p.moment, reason, gate.severity))
    if gate.severity == gates.EARN and p.action in ASKS and pk not in run.earning:
        run.earning.add(pk)
        if gate.name == "readiness" and upfront_due(run, i):
            # A brand-new client: the softer form, mentioning what just happened.
            consider(run, i, upfront_proposal(run, i, p.moment))
        else:
            consider(run, i, earn_first(run, i, p.moment, reason))


def first_recover(run: Run, pk: int) -> Item | None:
    """The contact's first recovery item of the run so far. The rules run one
    contact at a time, so its items are the tail of `run.items`: look back
    that far only — a scan of every item made so far, for each contact with a
    held moment, grew with the square of the workspace (1.3 s of 12 at 20,000)."""
    found = None
    for item in reversed(run.items):
        if item.contact_id != pk:
            break
        if item.action == Action.RECOVER:
            found = item
    return found


def settle(run: Run, i: int) -> None:
    """A moment held back is never lost: a recovery item names it, and a
    moment whose ask must wait is thanked for when nothing else is due."""
    pk = run.pk(i)
    held = run.held.get(pk)
    if not held:
        return
    recover = first_recover(run, pk)
    blocked = [moment for moment, _, severity in held if severity == gates.BLOCK]
    if recover is not None and blocked:
        recover.why.extend(f"no ask meanwhile: {m.describe()}" for m in dict.fromkeys(blocked))
        return
    if pk in run.with_items:
        return
    moment, reason, _ = held[0]
    if run.decided(pk, Action.THANK, moment.source):
        return  # the referral or testimonial was thanked for already: not twice
    consider(run, i, acknowledge(run, i, moment, reason))


def run_rules(snapshot: Snapshot) -> Run:
    run = Run(snapshot)
    rules = ordered()
    main = [r for r in rules if not r.fallback]
    screens = {r.name: set(r.candidates(run)) for r in main}
    for i in sorted(set().union(*screens.values())):
        for r in main:
            if i in screens[r.name]:
                for proposal in r.propose(run, i):
                    consider(run, i, proposal)
        settle(run, i)
    # Fallbacks (a give, the touch plan) only for contacts with nothing else.
    for r in rules:
        if r.fallback:
            for i in r.candidates(run):
                if run.pk(i) not in run.with_items:
                    for proposal in r.propose(run, i):
                        consider(run, i, proposal)
    return run


def priority(item: Item, snapshot: Snapshot, i: int) -> float:
    base = BASE_PRIORITY[item.action]
    readiness = snapshot.readiness[i] / 100
    if item.action in ASKS:
        fresh = 0.0
        moments = [m for m in snapshot.moments.get(item.contact_id, []) if m.kind in item.moments]
        if moments:
            window = snapshot.workspace.window_for(moments[0].kind)
            fresh = 1 - (snapshot.on - moments[0].on).days / max(window, 1)
        value = base + 0.2 * readiness + 0.1 * fresh
    elif item.action in (Action.REACTIVATE, Action.RECALL):
        # Regular, loyal clients first: more purchases, more to win back.
        value = base + 0.1 * min(snapshot.purchases[i], 10) / 10 + 0.05 * readiness
    elif item.action == Action.TOUCH:
        answering = item.key.startswith(ANSWERING_TOUCH)
        value = (0.45 if answering else base) + 0.1 * readiness
    else:
        value = base + 0.04 * readiness
    return round(float(min(value, 1.0)), 2)


def build(
    workspace, on: dt.date, contact_ids=None, *, render_scripts: bool = True
) -> tuple[list[Item], Snapshot, Run]:
    """Every item for the day, ranked. `render_scripts` fills each item's
    script and the contact's name; the stored refresh skips it (scripts are
    filled when an item is shown, so an edited script applies at once)."""
    snapshot = Snapshot(workspace, on, contact_ids)
    run = run_rules(snapshot)
    items = run.items
    for item in items:
        item.priority = priority(item, snapshot, snapshot.index[item.contact_id])
    items.sort(key=lambda item: (-item.priority, item.contact_id, item.action))
    if render_scripts and items:
        fill_scripts(workspace, items)
    return items, snapshot, run


def fill_scripts(workspace, items) -> None:
    """Render each item's script with the contact's and the workspace's
    merge fields. Works on engine Items and on stored AgendaItems alike."""
    bodies = bodies_for(workspace)
    ids = sorted({item.contact_id for item in items})
    people = {}
    for start in range(0, len(ids), 5000):
        people.update(
            (pk, rest)
            for pk, *rest in Contact.objects.filter(pk__in=ids[start : start + 5000]).values_list(
                "pk", "external_id", "first_name", "last_name", "owner__first_name"
            )
        )
    for item in items:
        external_id, first, last, owner = people.get(item.contact_id, ("", "", "", ""))
        item.external_id = external_id
        item.name = f"{first} {last}".strip()
        fields = {
            "first_name": first,
            "name": item.name,
            "business": workspace.name,
            "me": owner or "the team",
            **item.fields,
        }
        item.script = render(bodies.get(item.script_key, ""), fields)


def explain(contact, on: dt.date | None = None) -> ContactView:
    """The engine's view of one contact: readiness and reasons, moments, holds."""
    on = on or contact.workspace.today()
    items, snapshot, run = build(contact.workspace, on, [contact.pk])
    if not len(snapshot.ids):
        return ContactView(0, [], [], [], [])
    return ContactView(
        readiness=int(snapshot.readiness[0]),
        reasons=snapshot.reasons(0),
        moments=snapshot.moments.get(contact.pk, []),
        holds=list(dict.fromkeys(run.holds.get(contact.pk, []))),
        items=items,
    )


def ask_blockers(contact, on: dt.date | None = None) -> list[str]:
    """Why no ask may be made to this contact now (an open issue, a recovery
    still under way, an unhandled complaint); empty when none. The outbox
    asks this again at send time: an issue opened after an ask was queued
    stops it."""
    snapshot = Snapshot(contact.workspace, on or contact.workspace.today(), [contact.pk])
    if not len(snapshot.ids):
        return ["the contact no longer exists"]
    return gates.blockers(Run(snapshot), 0)
