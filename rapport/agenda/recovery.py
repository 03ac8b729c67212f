"""Service recovery: where an issue stands on a given day, and what it blocks.

The lifecycle is opened → apology made → fix planned → resolved → confirmed
by the client. Until the client confirms (or stays silent for the
workspace's `recovery_confirm_days` after the fix), every ask to the contact
and to colleagues at its organization is blocked; after that, the contact
alone waits `recovery_wait_days` more before any ask. Each step has a time
by which it should be done; past it, the agenda warns.
"""

import datetime as dt
from dataclasses import dataclass, field

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

    FIELDS = (
        "pk",
        "contact_id",
        "contact__organization_id",
        "opened_on",
        "summary",
        "status",
        "acknowledged_on",
        "fix_due",
        "fix_owner__first_name",
        "resolved_on",
        "confirmed_on",
    )


@dataclass
class Phase:
    step: str  # apologise, plan_fix, fix, confirm, wait, done
    blocks_contact: bool
    blocks_colleagues: bool
    why: list[str] = field(default_factory=list)
    late: str = ""

    @property
    def needs_action(self) -> bool:
        return self.step in ("apologise", "plan_fix", "fix", "confirm")


SCRIPT_FOR_STEP = {
    "apologise": "apology",
    "plan_fix": "recovery_fix",
    "fix": "recovery_fix",
    "confirm": "recovery_confirm",
}


def phase(issue: IssueFacts, on: dt.date, workspace) -> Phase:
    summary = issue.summary[:100]
    opened = f"issue since {issue.opened_on}: {summary}"
    if issue.status == Status.OPEN:
        late = ""
        if (on - issue.opened_on).days > APOLOGY_DAYS:
            late = f"the apology is late: opened {(on - issue.opened_on).days} days ago"
        return Phase("apologise", True, True, [opened, "next: apologise (the words below)"], late)
    if issue.status == Status.ACKNOWLEDGED:
        since = issue.acknowledged_on or issue.opened_on
        late = ""
        if (on - since).days > PLAN_DAYS:
            late = f"no fix planned {(on - since).days} days after the apology"
        why = [opened, f"apology made on {since}", "next: decide who fixes it, and by when"]
        return Phase("plan_fix", True, True, why, late)
    if issue.status == Status.FIX_PLANNED:
        who = f" by {issue.fix_owner}" if issue.fix_owner else ""
        why = [opened, f"fix planned{who}, due {issue.fix_due}", "next: put it right"]
        late = ""
        if issue.fix_due and issue.fix_due < on:
            late = f"the fix is late: it was due on {issue.fix_due}"
        return Phase("fix", True, True, why, late)
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
            return Phase("confirm", True, True, why, late)
        settled = silence_ends
    elif issue.status == Status.CONFIRMED:
        settled = issue.confirmed_on or issue.resolved_on or issue.opened_on
    if settled is not None:
        until = settled + dt.timedelta(days=workspace.recovery_wait_days)
        if on < until:
            return Phase("wait", True, False, [f"recovering from an issue: no ask before {until}"])
    return Phase("done", False, False)


def recent_filter(on: dt.date, workspace):
    """The issues that may still matter on `on` (a Q for Issue.objects)."""
    from django.db.models import Q

    horizon = on - dt.timedelta(days=workspace.recovery_confirm_days + workspace.recovery_wait_days)
    return (
        Q(status__in=[Status.OPEN, Status.ACKNOWLEDGED, Status.FIX_PLANNED])
        | Q(status=Status.RESOLVED, resolved_on__gte=horizon)
        | Q(
            status=Status.CONFIRMED,
            confirmed_on__gte=on - dt.timedelta(days=workspace.recovery_wait_days),
        )
    )
