"""Service recovery: where an issue stands on a given day, and what it blocks.

The lifecycle is opened → apology made → fix planned → resolved → confirmed
by the client. Until the client confirms (or stays silent for the
workspace's `recovery_confirm_days` after the fix), every ask to the contact
and to colleagues at its organization is blocked; after that, the contact
alone waits `recovery_wait_days` more before any ask. Each step has a time
by which it should be done; past it, the agenda warns.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q

from rapport.agenda.facts import ISSUE_FIELDS, Snapshot
from rapport.clients.models import Issue

# An apology within two days; a fix planned within three days of it.
APOLOGY_DAYS = 2
PLAN_DAYS = 3

Status = Issue.Status


@dataclass(frozen=True)
class IssueFacts:
    pk: int
    contact_id: int
    organization_id: int | None
    opened_on: dt.date
    summary: str
    status: str
    acknowledged_on: dt.date | None
    fix_due: dt.date | None
    fix_owner: str
    resolved_on: dt.date | None
    confirmed_on: dt.date | None

    FIELDS = ISSUE_FIELDS


class Step(models.TextChoices):
    """Where a recovery stands: the next thing to do about an issue."""

    APOLOGISE = "apologise", "Apologise"
    PLAN_FIX = "plan_fix", "Plan the fix"
    FIX = "fix", "Put it right"
    CONFIRM = "confirm", "Ask whether it is fixed"
    WAIT = "wait", "Wait before any ask"
    DONE = "done", "Done"


@dataclass
class Phase:
    step: str  # a Step
    blocks_contact: bool
    blocks_colleagues: bool
    why: list[str] = field(default_factory=list)
    late: str = ""

    @property
    def needs_action(self) -> bool:
        return self.step in (Step.APOLOGISE, Step.PLAN_FIX, Step.FIX, Step.CONFIRM)


SCRIPT_FOR_STEP = {
    Step.APOLOGISE: "apology",
    Step.PLAN_FIX: "recovery_fix",
    Step.FIX: "recovery_fix",
    Step.CONFIRM: "recovery_confirm",
}


def phase(issue: IssueFacts, on: dt.date, workspace) -> Phase:
    summary = issue.summary[:100]
    opened = f"issue since {issue.opened_on}: {summary}"
    if issue.status == Status.OPEN:
        late = ""
        if (on - issue.opened_on).days > APOLOGY_DAYS:
            late = f"the apology is late: opened {(on - issue.opened_on).days} days ago"
        return Phase(
            Step.APOLOGISE, True, True, [opened, "next: apologise (the words below)"], late
        )
    if issue.status == Status.ACKNOWLEDGED:
        since = issue.acknowledged_on or issue.opened_on
        late = ""
        if (on - since).days > PLAN_DAYS:
            late = f"no fix planned {(on - since).days} days after the apology"
        why = [opened, f"apology made on {since}", "next: decide who fixes it, and by when"]
        return Phase(Step.PLAN_FIX, True, True, why, late)
    if issue.status == Status.FIX_PLANNED:
        who = f" by {issue.fix_owner}" if issue.fix_owner else ""
        why = [opened, f"fix planned{who}, due {issue.fix_due}", "next: put it right"]
        late = ""
        if issue.fix_due and issue.fix_due < on:
            late = f"the fix is late: it was due on {issue.fix_due}"
        return Phase(Step.FIX, True, True, why, late)
    settled = None
    if issue.status == Status.RESOLVED and issue.resolved_on:
        silence_ends = issue.resolved_on + dt.timedelta(days=workspace.recovery_confirm_days)
        if on < silence_ends:
            why = [
                opened,
                f"resolved on {issue.resolved_on}",
                "next: ask them whether it is fixed for them",
            ]
            late = ""
            if (on - issue.resolved_on).days > workspace.recovery_confirm_days // 2:
                late = f"no confirmation yet, {(on - issue.resolved_on).days} days after the fix"
            return Phase(Step.CONFIRM, True, True, why, late)
        settled = silence_ends
    elif issue.status == Status.CONFIRMED:
        settled = issue.confirmed_on or issue.resolved_on or issue.opened_on
    if settled is not None:
        until = settled + dt.timedelta(days=workspace.recovery_wait_days)
        if on < until:
            return Phase(
                Step.WAIT, True, False, [f"recovering from an issue: no ask before {until}"]
            )
    return Phase(Step.DONE, False, False)


def recent_filter(on: dt.date, workspace) -> Q:
    """The issues that may still block on `on` (a Q for Issue.objects)."""
    horizon = on - dt.timedelta(days=workspace.recovery_confirm_days + workspace.recovery_wait_days)
    return (
        Q(status__in=[Status.OPEN, Status.ACKNOWLEDGED, Status.FIX_PLANNED])
        | Q(status=Status.RESOLVED, resolved_on__gte=horizon)
        | Q(
            status=Status.CONFIRMED,
            confirmed_on__gte=on - dt.timedelta(days=workspace.recovery_wait_days),
        )
    )


@dataclass
class States:
    """Where every issue of a snapshot stands: what blocks each contact, and
    every colleague at an organization."""

    by_contact: dict[int, list[tuple[IssueFacts, Phase]]]
    by_organization: dict[int, list[tuple[IssueFacts, Phase]]]


def states(snapshot: Snapshot) -> States:
    """The recovery phase of each issue in the snapshot (use snapshot.memo)."""
    by_contact: dict[int, list] = defaultdict(list)
    by_organization: dict[int, list] = defaultdict(list)
    for row in snapshot.issues:
        facts = IssueFacts(*row)
        state = phase(facts, snapshot.on, snapshot.workspace)
        if state.blocks_contact:
            by_contact[facts.contact_id].append((facts, state))
        if state.blocks_colleagues and facts.organization_id:
            by_organization[facts.organization_id].append((facts, state))
    return States(dict(by_contact), dict(by_organization))


def blockers(snapshot: Snapshot, i: int) -> list[str]:
    """Why no ask may be made to contact i: its open issues or recovery
    still under way, and open issues of colleagues at its organization.
    This is the one definition of "an open issue blocks every ask"."""
    found = snapshot.memo(states)
    pk = int(snapshot.ids[i])
    org = snapshot.organization[i]
    reasons = []
    for facts, state in found.by_contact.get(pk, []):
        if state.step == Step.WAIT:
            reasons.extend(state.why)
        else:
            reasons.append(f"open issue since {facts.opened_on}: {facts.summary[:80]}")
    for facts, _ in found.by_organization.get(org, []) if org else []:
        if facts.contact_id != pk:
            reasons.append(
                f"open issue at their organization since {facts.opened_on}: {facts.summary[:80]}"
            )
    return reasons
