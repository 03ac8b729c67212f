"""Every change to the record goes through these functions, whatever its
entry point (a view, an import, a task, the API), so the rules — automatic
ladder promotions, text read for moments, the agenda kept current — hold
however a fact arrives."""

import datetime as dt
import threading
from collections import defaultdict
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count

from rapport.agenda.text import detect
from rapport.clients import hooks, signals
from rapport.clients.ladder import LadderFacts, best_promotion
from rapport.clients.models import (
    Activity,
    ActivityKind,
    ConsentRecord,
    Contact,
    Deal,
    DealStage,
    Issue,
    Permission,
    Purchase,
    Stage,
    StageChange,
)
from rapport.lib import phones
from rapport.workspaces import audit

Reason = StageChange.Reason


_changes = threading.local()


@contextmanager
def changing():
    """One atomic change to the record; the agenda follows when it ends.

    Actions nest (recording names creates contacts and referrals); the
    contacts they touch are gathered and the stored agenda is refreshed
    once, right after the outermost change — after its commit in
    production, and still visible to a test that wraps everything in one
    transaction (which `on_commit` would not be).
    """
    depth = getattr(_changes, "depth", 0)
    if depth == 0:
        _changes.pending = {}
    _changes.depth = depth + 1
    try:
        with transaction.atomic():
            yield
    except BaseException:
        if depth == 0:
            _changes.pending = {}
        raise
    finally:
        _changes.depth = depth
    if depth == 0:
        pending, _changes.pending = _changes.pending, {}
        for workspace, ids in pending.values():
            _refresh(workspace, ids)


def facts_changed(workspace, contact_ids: Iterable[int] | None = None) -> None:
    """Note that facts of these contacts (None: of anyone) changed."""
    ids = None if contact_ids is None else set(contact_ids)
    if not getattr(_changes, "depth", 0):
        _refresh(workspace, ids)
        return
    entry = _changes.pending.setdefault(workspace.pk, [workspace, set()])
    if ids is None or entry[1] is None:
        entry[1] = None
    else:
        entry[1] |= ids


def _refresh(workspace, ids: set[int] | None) -> None:
    signals.facts_changed.send(
        sender=Contact, workspace=workspace, contact_ids=None if ids is None else sorted(ids)
    )


# -- contacts ------------------------------------------------------------


CONSENT_SOURCE_WORDS = {
    "email": "Agreed to receive emails from us",
    "sms": "Agreed to receive text messages from us",
}


def normalize_phone(workspace, raw: str) -> str:
    """A phone number as stored: E.164, read in the workspace's region (what
    cannot be read as a number is kept as typed, and is never texted)."""
    return phones.normalize(raw, workspace.phone_region) if raw else ""


def create_contact(workspace, *, by=None, stage=Stage.PROSPECT, **fields) -> Contact:
    if fields.get("phone"):
        fields["phone"] = normalize_phone(workspace, fields["phone"])
    with changing():
        contact = Contact.objects.create(workspace=workspace, stage=stage, **fields)
        StageChange.objects.create(
            workspace=workspace,
            contact=contact,
            from_stage="",
            to_stage=stage,
            reason=Reason.MANUAL if by else Reason.IMPORT,
            changed_by=by,
        )
        who = f" by {by.email or by.username}" if by else ""
        for channel in ("email", "sms"):
            if getattr(contact, f"{channel}_ok"):
                record_consent(
                    contact,
                    channel,
                    True,
                    f"{CONSENT_SOURCE_WORDS[channel]}: ticked when the contact was created{who}",
                    "app",
                )
        facts_changed(workspace, [contact.pk])
    return contact


def change_stage(contact: Contact, stage: str, *, by=None, reason=Reason.MANUAL) -> None:
    """A change by hand is recorded with who made it and when."""
    if stage == contact.stage:
        return
    with changing():
        StageChange.objects.create(
            workspace_id=contact.workspace_id,
            contact=contact,
            from_stage=contact.stage,
            to_stage=stage,
            reason=reason,
            changed_by=by,
        )
        contact.stage = stage
        contact.save(update_fields=["stage", "updated_at"])
        facts_changed(contact.workspace, [contact.pk])


def set_relationship(contact: Contact, value: int | None, on: dt.date) -> None:
    contact.relationship = value
    contact.relationship_on = on if value else None
    contact.save(update_fields=["relationship", "relationship_on", "updated_at"])
    facts_changed(contact.workspace, [contact.pk])


def record_consent(contact: Contact, channel: str, granted: bool, text: str, source: str) -> None:
    """Consent for an automated channel, with the proof of what, when and how."""
    ConsentRecord.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        channel=channel,
        granted=granted,
        text=text,
        source=source,
    )
    # The security log keeps the fact, not the words: they may name an address.
    audit.record(
        audit.Kind.CONSENT_CHANGED,
        workspace=contact.workspace_id,
        target=f"contact:{contact.pk}",
        detail={"channel": channel, "granted": granted, "source": source},
    )
    field = {"email": "email_ok", "sms": "sms_ok"}.get(channel)
    if field and getattr(contact, field) != granted:
        setattr(contact, field, granted)
        contact.save(update_fields=[field, "updated_at"])


# -- the ladder ----------------------------------------------------------


def promote(workspace, contact_ids: Iterable[int]) -> int:
    """Apply the automatic promotions from the facts, set-based.

    The promotions are clients.ladder.PROMOTIONS. They only ever go up: a
    rung set by hand above what the facts say is kept. Returns how many moved.
    """
    ids = sorted(set(contact_ids))
    moved = 0
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]

        def counts(queryset, field="contact_id", chunk=chunk, **extra):
            rows = (
                queryset.filter(workspace=workspace, **{f"{field}__in": chunk})
                .order_by()
                .values(field)
                .annotate(n=Count("id"), **extra)
            )
            return {row[field]: row for row in rows}

        purchases = counts(Purchase.objects, distinct_days=Count("date", distinct=True))
        all_deals = counts(Deal.objects)
        deals = counts(Deal.objects.filter(stage__in=[DealStage.WON, DealStage.COMPLETED]))
        meetings = counts(Activity.objects.filter(kind=ActivityKind.MEETING))
        # Referrals and testimonials live in advocacy, which counts them for us.
        evidence: dict[str, dict[int, int]] = defaultdict(dict)
        for source in hooks.ladder_evidence():
            for fact, by_contact in source(workspace, chunk).items():
                evidence[fact].update(by_contact)

        earned: dict[str, list[tuple[int, str]]] = defaultdict(list)
        contacts = Contact.objects.filter(workspace=workspace, pk__in=chunk).values_list(
            "pk", "stage"
        )
        for pk, stage in contacts:
            facts = LadderFacts(
                meetings=meetings.get(pk, {}).get("n", 0),
                deals=all_deals.get(pk, {}).get("n", 0),
                deals_won=deals.get(pk, {}).get("n", 0),
                purchases=purchases.get(pk, {}).get("distinct_days", 0),
                **{fact: by_contact.get(pk, 0) for fact, by_contact in evidence.items()},
            )
            best = best_promotion(facts)
            if best and Stage.rank(best[1]) > Stage.rank(stage):
                earned[best[1]].append((pk, stage, best[0]))

        changes = []
        for target, rows in earned.items():
            Contact.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(stage=target)
            changes += [
                StageChange(
                    workspace=workspace,
                    contact_id=pk,
                    from_stage=old,
                    to_stage=target,
                    reason=reason,
                )
                for pk, old, reason in rows
            ]
        StageChange.objects.bulk_create(changes)
        moved += len(changes)
        if changes:
            from rapport.clients.signals import promoted

            promoted.send(
                sender=workspace,
                changes=[(c.contact_id, c.from_stage, c.to_stage, c.reason) for c in changes],
            )
    return moved


# -- purchases and activities --------------------------------------------


@dataclass
class PurchaseRow:
    contact_id: int
    date: dt.date
    amount: Decimal | None = None
    description: str = ""


def record_purchases(workspace, rows: list[PurchaseRow]) -> list[Purchase]:
    with changing():
        purchases = Purchase.objects.bulk_create(
            [
                Purchase(
                    workspace=workspace,
                    contact_id=row.contact_id,
                    date=row.date,
                    amount=row.amount,
                    description=row.description,
                )
                for row in rows
            ],
            batch_size=2000,
        )
        ids = {row.contact_id for row in rows}
        promote(workspace, ids)
        from rapport.clients import rhythm

        rhythm.update(workspace, ids)
        facts_changed(workspace, ids)
    return purchases


def record_purchase(contact: Contact, date: dt.date, amount=None, description="") -> Purchase:
    row = PurchaseRow(contact.pk, date, amount, description)
    return record_purchases(contact.workspace, [row])[0]


def read_activity(text: str, signals: list[str]) -> tuple[dict, bool]:
    """What an activity's words say (detected moments) and whether it carries one."""
    detected = detect(text) if text and text.strip() else {}
    return detected, bool(signals or detected)


def build_activity(workspace, contact_id: int, *, read_text: bool = True, **fields) -> Activity:
    """An unsaved activity with its text read. `read_text=False` is for notes
    Rapport writes itself ("Thanked them"), which are not the client's words."""
    signals = list(dict.fromkeys(fields.pop("signals", None) or []))
    detected, carries = read_activity(fields.get("text", "") if read_text else "", signals)
    return Activity(
        workspace=workspace,
        contact_id=contact_id,
        signals=signals,
        detected=detected,
        carries_moment=carries,
        **fields,
    )


def log_activity(contact: Contact, *, by=None, read_text: bool = True, **fields) -> Activity:
    with changing():
        activity = build_activity(
            contact.workspace, contact.pk, read_text=read_text, created_by=by, **fields
        )
        activity.save()
        if activity.kind == ActivityKind.MEETING:
            promote(contact.workspace, [contact.pk])  # a first meeting: a prospect
        facts_changed(contact.workspace, [contact.pk])
    return activity


# -- deals, issues, permissions ------------------------------------------


def save_deal(deal: Deal) -> Deal:
    """Create or update a deal; it may promote its contact (a deal opened makes a
    suspect a prospect; a won or completed one, a customer)."""
    if deal.stage in (DealStage.WON, DealStage.COMPLETED) and not deal.won_on:
        deal.won_on = deal.completed_on or deal.workspace.today()
    with changing():
        deal.save()
        promote(deal.workspace, [deal.contact_id])
        facts_changed(deal.workspace, [deal.contact_id])
    return deal


def open_issue(
    contact: Contact, summary: str, *, opened_on: dt.date, by=None, source_activity=None
) -> Issue:
    with changing():
        issue = Issue.objects.create(
            workspace_id=contact.workspace_id,
            contact=contact,
            summary=summary,
            opened_on=opened_on,
            opened_by=by,
            source_activity=source_activity,
        )
        facts_changed(contact.workspace, _with_colleagues(contact))
    return issue


def _issue_step(issue: Issue, status: str, **fields) -> None:
    with changing():
        issue.status = status
        for name, value in fields.items():
            setattr(issue, name, value)
        issue.save(update_fields=["status", *fields])
        facts_changed(issue.contact.workspace, _with_colleagues(issue.contact))


def acknowledge_issue(issue: Issue, *, on: dt.date) -> None:
    """The apology was made."""
    _issue_step(issue, Issue.Status.ACKNOWLEDGED, acknowledged_on=on)


def plan_fix(issue: Issue, *, owner, due: dt.date, plan: str = "", on: dt.date) -> None:
    fields = {"fix_owner": owner, "fix_due": due, "fix_plan": plan}
    if not issue.acknowledged_on:
        fields["acknowledged_on"] = on
    _issue_step(issue, Issue.Status.FIX_PLANNED, **fields)


def resolve_issue(issue: Issue, *, on: dt.date, resolution: str = "") -> None:
    """Put right; asks still wait for the client's confirmation."""
    _issue_step(issue, Issue.Status.RESOLVED, resolved_on=on, resolution=resolution)


def confirm_issue(issue: Issue, *, on: dt.date) -> None:
    """The client says it is fixed: the waiting period starts."""
    _issue_step(issue, Issue.Status.CONFIRMED, confirmed_on=on, resolved_on=issue.resolved_on or on)


def reopen_issue(issue: Issue, *, words: str) -> None:
    """The client says it is not fixed: back to the start, with their words."""
    summary = (
        f"{issue.summary}\n\nNot fixed, they said: {words}".strip() if words else issue.summary
    )
    _issue_step(issue, Issue.Status.OPEN, summary=summary, resolved_on=None, acknowledged_on=None)


def _with_colleagues(contact: Contact) -> list[int]:
    # An open issue blocks asks to everyone at the contact's organization.
    if not contact.organization_id:
        return [contact.pk]
    return list(
        Contact.objects.filter(
            workspace_id=contact.workspace_id, organization_id=contact.organization_id
        ).values_list("pk", flat=True)
    )


def record_permission(
    contact: Contact,
    *,
    kind: str,
    ask_after: dt.date,
    granted_on: dt.date,
    source: str = Permission.Source.UPFRONT_CONTRACT,
    note: str = "",
    by=None,
) -> Permission:
    with changing():
        permission = Permission.objects.create(
            workspace_id=contact.workspace_id,
            contact=contact,
            kind=kind,
            ask_after=ask_after,
            granted_on=granted_on,
            source=source,
            note=note,
            created_by=by,
        )
        facts_changed(contact.workspace, [contact.pk])
    return permission


def close_permission(contact: Contact, permission_pk: int, *, on: dt.date) -> None:
    """The follow-up a permission asked for was made: it holds nothing back
    and comes due no more."""
    with changing():
        Permission.objects.filter(
            workspace_id=contact.workspace_id, contact=contact, pk=permission_pk, closed_on=None
        ).update(closed_on=on)
        facts_changed(contact.workspace, [contact.pk])
