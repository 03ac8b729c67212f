"""What the agenda reads from advocacy: set-based, for a whole workspace (or
some contacts), for any day. Reads only: nothing here writes.

The agenda engine's rules call these (the lead wires them into its RULES):

- `open_thank_yous(workspace, on)` — thank-you tasks to do;
- `thanked_sources(workspace)` — the moments whose thank-you is done, so the
  `thank` items for them complete;
- `stale_referrals(workspace, on)` — open referrals nobody touched for a week;
- `referrer_updates_due(workspace, on)` — calls to tell a referrer their
  friend became a client, and won referrals whose referrer was not told yet;
- `give_candidates(workspace, on)` — valued clients whose readiness is low:
  propose giving them a referral ("give to get").
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, Max, OuterRef, Q, Sum

from rapport.advocacy.models import (
    Introduction,
    Referral,
    ReferralEvent,
    ReferralGiven,
    ReferrerUpdate,
    ThankYou,
)
from rapport.clients.models import Activity, Contact, Deal, DealStage, Issue, Purchase

STALE_DAYS = 7


def _scoped(queryset, workspace, contact_ids, field="contact_id"):
    queryset = queryset.filter(workspace=workspace)
    if contact_ids is not None:
        queryset = queryset.filter(**{f"{field}__in": list(contact_ids)})
    return queryset


@dataclass(frozen=True)
class ThankYouRow:
    contact_id: int
    source_key: str  # the agenda moment it answers: "referral:12", "testimonial:4"
    kind: str  # "card" or "email"
    what_for: str  # "referring Bob and Carla", "their testimonial"
    thank_you_id: int
    created_on: dt.date


def open_thank_yous(workspace, on: dt.date, contact_ids=None) -> list[ThankYouRow]:
    """Thank-you tasks created on or before `on` and not done (a card not
    marked sent, an email not yet sent by the outbox)."""
    rows = (
        _scoped(ThankYou.objects.open(), workspace, contact_ids)
        .filter(created_on__lte=on)
        .order_by("created_on", "pk")
        .values_list("contact_id", "source_key", "kind", "what_for", "pk", "created_on")
    )
    return [ThankYouRow(*row) for row in rows]


def thanked_sources(workspace, contact_ids=None) -> set[tuple[int, str]]:
    """(contact id, moment source) pairs whose thank-you is done: the agenda's
    `thank` item keyed by that source is done. A referral thank-you covers
    every referral it was shared with ("referral:<pk>" for each)."""
    done = _scoped(ThankYou.objects.done(), workspace, contact_ids)
    pairs = set(done.values_list("contact_id", "source_key"))
    pairs |= {
        (referrer_id, f"referral:{pk}")
        for pk, referrer_id in Referral.objects.filter(
            workspace=workspace, thank_you__in=done.values("pk")
        ).values_list("pk", "referrer_id")
    }
    return pairs


def thank_you_covering(workspace, contact_ids=None) -> dict[tuple[int, str], str]:
    """(referrer id, "referral:<pk>") → the source key of the thank-you task
    that covers it (names given while a thank-you was open share it): the
    agenda's `thank` item for those referrals is that one task, never a second.
    One query."""
    rows = _scoped(
        Referral.objects.exclude(thank_you=None), workspace, contact_ids, "referrer_id"
    ).values_list("pk", "referrer_id", "thank_you__source_key")
    return {(referrer, f"referral:{pk}"): key for pk, referrer, key in rows}


@dataclass(frozen=True)
class StaleReferral:
    referral_id: int
    referrer_id: int
    referred_id: int
    status: str
    last_touch: dt.date
    days: int
    # Who to reach: the friend, or the referrer while an introduction waits on them.
    contact_id: int
    why: str
    # For the agenda's item: the day of the referral and who is who.
    referred_on: dt.date | None = None
    referrer_name: str = ""
    referred_name: str = ""
    waiting_on_introduction: bool = False


def stale_referrals(workspace, on: dt.date, contact_ids=None) -> list[StaleReferral]:
    """Open referrals (new, contacted, meeting) with no touch for STALE_DAYS:
    no move on the pipeline, no activity with the friend, no step of the
    introduction. `contact_ids` narrows to referrals of those referrers or
    friends. Facts after `on` are ignored."""
    referrals = Referral.objects.filter(
        workspace=workspace, status__in=Referral.OPEN_STATUSES, date__lte=on
    ).exclude(introduction__state=Introduction.State.DECLINED)
    if contact_ids is not None:
        ids = list(contact_ids)
        referrals = referrals.filter(Q(referrer_id__in=ids) | Q(referred_id__in=ids))
    last_activity = (
        Activity.objects.filter(
            workspace=workspace, contact_id=OuterRef("referred_id"), occurred_on__lte=on
        )
        .order_by()
        .values("contact_id")
        .annotate(last=Max("occurred_on"))
        .values("last")
    )
    last_event = (
        ReferralEvent.objects.filter(referral=OuterRef("pk"), on__lte=on)
        .order_by()
        .values("referral_id")
        .annotate(last=Max("on"))
        .values("last")
    )
    rows = referrals.annotate(
        last_activity=last_activity[:1], last_event=last_event[:1]
    ).values_list(
        "pk",
        "referrer_id",
        "referred_id",
        "status",
        "date",
        "touched_on",
        "last_activity",
        "last_event",
        "introduction__state",
        "referrer__first_name",
        "referrer__last_name",
        "referred__first_name",
        "referred__last_name",
    )
    found = []
    for row in rows:
        pk, referrer, referred, status, day, touched, activity, event, intro = row[:9]
        referrer_name = " ".join(n for n in row[9:11] if n)
        referred_name = " ".join(n for n in row[11:13] if n)
        touches = [d for d in (day, activity, event) if d]
        if touched and touched <= on:
            touches.append(touched)
        last = max(touches)
        days = (on - last).days
        if days < STALE_DAYS:
            continue
        waiting = intro in (Introduction.State.DRAFTED, Introduction.State.SENT)
        why = (
            f"the introduction has waited {days} days"
            if waiting
            else f"referred on {day}; nobody has been in touch for {days} days"
        )
        found.append(
            StaleReferral(
                pk,
                referrer,
                referred,
                status,
                last,
                days,
                referrer if waiting else referred,
                why,
                day,
                referrer_name,
                referred_name,
                waiting,
            )
        )
    return found


@dataclass(frozen=True)
class ReferrerUpdateDue:
    referral_id: int
    referrer_id: int
    referred_id: int
    won_on: dt.date | None
    call_open: bool  # a call task was chosen and is not done yet
    referred_name: str = ""


def referrer_updates_due(workspace, on: dt.date, contact_ids=None) -> list[ReferrerUpdateDue]:
    """Won referrals whose referrer was not told, and calls chosen but not made."""
    referrals = _scoped(
        Referral.objects.filter(status=Referral.Status.WON, closed_on__lte=on),
        workspace,
        contact_ids,
        "referrer_id",
    )
    told = ReferrerUpdate.objects.filter(referral=OuterRef("pk"))
    open_call = told.filter(done_at=None, channel=ReferrerUpdate.Channel.CALL)
    rows = (
        referrals.annotate(told=Exists(told), call_open=Exists(open_call))
        .filter(Q(told=False) | Q(call_open=True))
        .values_list(
            "pk",
            "referrer_id",
            "referred_id",
            "closed_on",
            "call_open",
            "referred__first_name",
            "referred__last_name",
        )
    )
    return [ReferrerUpdateDue(*row[:5], " ".join(n for n in row[5:] if n)) for row in rows]


@dataclass(frozen=True)
class GiveCandidate:
    contact_id: int
    readiness: int
    value: Decimal  # purchases plus won deals, lifetime
    relationship: int | None
    gives: int
    last_give: dt.date | None


GIVE_RECENT_DAYS = 90


def give_candidates(
    workspace, on: dt.date, contact_ids=None, *, top_share: float = 0.2
) -> list[GiveCandidate]:
    """Valued clients whose readiness is below the workspace's threshold and
    who were given no referral in the last 90 days, most valuable first.

    Valued: a customer or above, with no open issue (recovery comes first),
    and either in the top `top_share` of the workspace's clients by lifetime
    value, or a relationship of 8 or more. Readiness is the stored figure
    of the last agenda refresh (`Contact.readiness`)."""
    clients = Contact.objects.in_workspace(workspace).active().customers()
    spend = (
        Purchase.objects.filter(workspace=workspace, contact_id=OuterRef("pk"), date__lte=on)
        .order_by()
        .values("contact_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    deals = (
        Deal.objects.filter(
            workspace=workspace,
            contact_id=OuterRef("pk"),
            stage__in=[DealStage.WON, DealStage.COMPLETED],
            won_on__lte=on,
        )
        .order_by()
        .values("contact_id")
        .annotate(total=Sum("value"))
        .values("total")
    )
    rows = list(
        clients.annotate(spend_total=spend[:1], deal_total=deals[:1]).values_list(
            "pk", "readiness", "relationship", "spend_total", "deal_total"
        )
    )
    values = {pk: (s or Decimal(0)) + (d or Decimal(0)) for pk, _, _, s, d in rows}
    ranked = sorted(values.values(), reverse=True)
    cut = ranked[max(int(len(ranked) * top_share) - 1, 0)] if ranked else Decimal(0)
    given = {
        pk: (n, last)
        for pk, n, last in ReferralGiven.objects.filter(workspace=workspace, given_on__lte=on)
        .values("contact_id")
        .annotate(n=Count("id"), last=Max("given_on"))
        .values_list("contact_id", "n", "last")
    }
    blocked = set(
        Issue.objects.blocking().filter(workspace=workspace).values_list("contact_id", flat=True)
    )
    wanted = None if contact_ids is None else set(contact_ids)
    found = []
    recent = on - dt.timedelta(days=GIVE_RECENT_DAYS)
    for pk, readiness, relationship, _, _ in rows:
        if (wanted is not None and pk not in wanted) or pk in blocked:
            continue
        if readiness >= workspace.readiness_threshold:
            continue
        valued = (values[pk] > 0 and values[pk] >= cut) or (relationship or 0) >= 8
        n, last = given.get(pk, (0, None))
        if not valued or (last and last > recent):
            continue
        found.append(GiveCandidate(pk, readiness, values[pk], relationship, n, last))
    found.sort(key=lambda c: (-c.value, c.contact_id))
    return found


def referrer_credit(workspace, contact_ids=None) -> dict[int, tuple[int, int, Decimal]]:
    """{referrer id: (referrals, won, value credited)}, for the board and pages."""
    rows = (
        _scoped(Referral.objects, workspace, contact_ids, "referrer_id")
        .values("referrer_id")
        .annotate(
            n=Count("id"),
            won=Count("id", filter=Q(status=Referral.Status.WON)),
            value=Sum("value", filter=Q(status=Referral.Status.WON)),
        )
        .values_list("referrer_id", "n", "won", "value")
    )
    return {pk: (n, won, value or Decimal(0)) for pk, n, won, value in rows}


__all__ = [
    "GiveCandidate",
    "ReferrerUpdateDue",
    "StaleReferral",
    "ThankYouRow",
    "give_candidates",
    "open_thank_yous",
    "referrer_credit",
    "referrer_updates_due",
    "stale_referrals",
    "thank_you_covering",
    "thanked_sources",
]
