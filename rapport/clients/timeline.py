"""Everything that happened with a contact, newest first, in one list.

The record's own facts are read here; asks, referrals and testimonials are
added by their apps through clients.hooks.add_timeline_source."""

import datetime as dt
from dataclasses import dataclass

from rapport.clients import hooks
from rapport.clients.models import (
    Activity,
    ConsentRecord,
    Contact,
    Deal,
    Issue,
    Permission,
    Purchase,
    StageChange,
)


@dataclass
class Entry:
    on: dt.date
    kind: str  # a css-friendly word: activity, purchase, deal, issue, ...
    title: str
    text: str = ""
    badges: tuple[str, ...] = ()
    order: int = 0
    complaint: str = ""  # words that read like a complaint: offer to open an issue


def timeline(contact: Contact, limit: int | None = 60) -> tuple[list[Entry], bool]:
    """Returns the entries and whether more were left out."""
    entries: list[Entry] = []
    for a in Activity.objects.filter(contact=contact)[: limit or None]:
        badges = tuple(dict.fromkeys([*a.signals, *a.detected]))
        title = f"{a.get_kind_display()} ({'from them' if a.direction == 'in' else 'from us'})"
        entries.append(
            Entry(a.occurred_on, "activity", title, a.text, badges, a.pk, a.complaint or "")
        )
    for p in Purchase.objects.filter(contact=contact)[: limit or None]:
        amount = f" — {p.amount}" if p.amount is not None else ""
        entries.append(Entry(p.date, "purchase", f"Purchase{amount}", p.description, order=p.pk))
    for d in Deal.objects.filter(contact=contact):
        entries.append(
            Entry(
                (d.completed_on or d.won_on or d.created_at.date()),
                "deal",
                f"Deal: {d.title}",
                d.get_stage_display(),
                order=d.pk,
            )
        )
    for i in Issue.objects.filter(contact=contact):
        entries.append(
            Entry(
                i.opened_on,
                "issue",
                f"Issue opened ({i.get_status_display().lower()})",
                i.summary,
                order=i.pk,
            )
        )
        if i.resolved_on:
            entries.append(
                Entry(i.resolved_on, "issue", "Issue resolved", i.resolution, order=i.pk)
            )
    for p in Permission.objects.filter(contact=contact):
        entries.append(
            Entry(
                p.granted_on,
                "permission",
                f"Permission: {p.get_kind_display().lower()} after {p.ask_after}",
                p.note,
                (p.get_source_display(),),
                p.pk,
            )
        )
    for s in StageChange.objects.filter(contact=contact).select_related("changed_by"):
        who = f" by {s.changed_by.first_name or s.changed_by.email}" if s.changed_by else ""
        frm = f"{s.get_from_stage_display()} → " if s.from_stage else ""
        entries.append(
            Entry(
                s.changed_at.date(),
                "stage",
                f"Ladder: {frm}{s.get_to_stage_display()}",
                f"{s.get_reason_display()}{who}",
                order=s.pk,
            )
        )
    for source in hooks.timeline_sources():
        entries.extend(source(contact))
    given: set[str] = set()
    for c in ConsentRecord.objects.filter(contact=contact).order_by("recorded_at", "pk"):
        # "Withdrew" only what was given before; an unticked box is a no.
        verb = (
            "agreed to" if c.granted else "withdrew" if c.channel in given else "did not agree to"
        )
        if c.granted:
            given.add(c.channel)
        entries.append(
            Entry(
                c.recorded_at.date(),
                "consent",
                f"Consent: {verb} {c.get_channel_display().lower()}",
                c.text,
                (c.source,),
                c.pk,
            )
        )
    entries.sort(key=lambda e: (e.on, e.order), reverse=True)
    if limit and len(entries) > limit:
        return entries[:limit], True
    return entries, False
