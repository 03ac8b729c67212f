"""Moments: occasions to act, derived from facts for any date.

Each moment has a kind, the day it happened, its source (the fact it came
from) and a freshness window: older than its window, it is gone. Every query
here is one set-based pass over the rows inside the longest window, for the
whole workspace at once.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import models

from rapport.advocacy.models import Referral, Testimonial
from rapport.clients.models import Activity, Deal, Purchase


class MomentKind(models.TextChoices):
    PRAISE = "praise", "Praise"
    TESTIMONIAL = "testimonial", "Testimonial"
    REFERRAL = "referral", "Referral"
    SAVED_US = "saved_us", "You saved us"
    PARTNER_ASSOCIATION = "partner_association", "Joined an association"
    PROJECT_COMPLETED = "project_completed", "Project completed"
    POINT_OF_SALE = "point_of_sale", "Point of sale"
    PERMISSION_DUE = "permission_due", "Permission due"
    LAPSED = "lapsed", "Lapsed"
    RECALL_DUE = "recall_due", "Routine visit due"
    PROMOTER = "promoter", "Promoter"
    DETRACTOR = "detractor", "Detractor"
    # Answered 7 or 8: satisfied, not yet enthusiastic. A touch, not an ask.
    PASSIVE = "passive", "Passive"
    # Not an occasion to ask: a complaint read in an activity's text. It
    # blocks asks and proposes opening an issue.
    COMPLAINT = "complaint", "Complaint"


# Moments that make a good occasion to ask (the positive ones).
POSITIVE = {
    MomentKind.PRAISE,
    MomentKind.TESTIMONIAL,
    MomentKind.REFERRAL,
    MomentKind.SAVED_US,
    MomentKind.PARTNER_ASSOCIATION,
    MomentKind.PROJECT_COMPLETED,
    MomentKind.POINT_OF_SALE,
    MomentKind.PROMOTER,
}

VERBS = {
    MomentKind.PRAISE: "praised us",
    MomentKind.TESTIMONIAL: "sent a testimonial",
    MomentKind.REFERRAL: "referred someone",
    MomentKind.SAVED_US: "said we saved them",
    MomentKind.PARTNER_ASSOCIATION: "joined an association",
    MomentKind.PROJECT_COMPLETED: "project completed",
    MomentKind.POINT_OF_SALE: "bought",
    MomentKind.COMPLAINT: "complained",
    MomentKind.PROMOTER: "rated us",
    MomentKind.DETRACTOR: "rated us",
    MomentKind.PASSIVE: "rated us",
}


# A purchase this many times the client's average is a decision, not routine.
MAJOR_PURCHASE = 2

# On the same day, the stronger occasion leads (and picks the words).
STRENGTH = {
    MomentKind.SAVED_US: 0,
    MomentKind.PRAISE: 1,
    MomentKind.TESTIMONIAL: 2,
    MomentKind.REFERRAL: 3,
    MomentKind.PROMOTER: 4,
    MomentKind.PROJECT_COMPLETED: 5,
    MomentKind.PARTNER_ASSOCIATION: 6,
    MomentKind.POINT_OF_SALE: 7,
}


@dataclass(frozen=True)
class Moment:
    contact_id: int
    kind: str
    on: dt.date
    source: str  # "activity:12", "purchase:3", ... : the fact it came from
    detail: str = ""  # the words or the thing, for "why" and scripts

    def describe(self) -> str:
        verb = VERBS.get(self.kind, self.kind.replace("_", " "))
        if self.detail:
            return (
                f'{verb} on {self.on}: "{self.detail}"'
                if self.kind
                in (
                    MomentKind.PRAISE,
                    MomentKind.SAVED_US,
                    MomentKind.COMPLAINT,
                    MomentKind.TESTIMONIAL,
                    MomentKind.PARTNER_ASSOCIATION,
                )
                else f"{verb} on {self.on} ({self.detail})"
            )
        return f"{verb} on {self.on}"


def moments_on(
    workspace, on: dt.date, contact_ids=None, known_history=None
) -> dict[int, list[Moment]]:
    """Every fresh moment of the workspace on `on`, newest first, by contact.

    Facts dated after `on` are ignored, so any past day can be replayed.
    `contact_ids` narrows the queries to some contacts (the contact page, a
    refresh after one fact changed).
    """
    windows = workspace.windows()
    found: dict[int, list[Moment]] = defaultdict(list)

    def fresh(kind: str, day: dt.date) -> bool:
        return 0 <= (on - day).days <= windows.get(kind, 14)

    def scoped(queryset, field="contact_id"):
        queryset = queryset.filter(workspace=workspace)
        if contact_ids is not None:
            queryset = queryset.filter(**{f"{field}__in": contact_ids})
        return queryset

    def since(kinds) -> dt.date:
        return on - dt.timedelta(days=max(windows.get(k, 14) for k in kinds))

    text_kinds = [
        MomentKind.PRAISE,
        MomentKind.TESTIMONIAL,
        MomentKind.REFERRAL,
        MomentKind.SAVED_US,
        MomentKind.PARTNER_ASSOCIATION,
        MomentKind.COMPLAINT,
    ]
    activities = scoped(Activity.objects).filter(
        carries_moment=True, occurred_on__range=(since(text_kinds), on)
    )
    for pk, contact_id, day, signals, detected in activities.values_list(
        "pk", "contact_id", "occurred_on", "signals", "detected"
    ):
        for kind in dict.fromkeys([*signals, *detected]):
            if fresh(kind, day):
                # A marked signal counts even when the text said nothing.
                found[contact_id].append(
                    Moment(contact_id, kind, day, f"activity:{pk}", detected.get(kind, ""))
                )

    # Point of sale: the client said yes to something — a first purchase, a
    # deal won, or a purchase well above their usual (a crown, not the
    # six-monthly check-up; not this month's retainer invoice).
    pos_since = since([MomentKind.POINT_OF_SALE])
    recent = list(
        scoped(Purchase.objects)
        .filter(date__range=(pos_since, on))
        .values_list("pk", "contact_id", "date", "description", "amount")
        .order_by("date", "pk")
    )
    # Each buyer's first day and usual amount: from the caller when it has
    # them (the agenda's snapshot does), else one grouped query.
    buyers = {r[1] for r in recent}
    history = known_history(buyers) if known_history and buyers else {}
    missing = buyers - set(history)
    if missing:
        history.update(
            (row[0], row[1:])
            for row in Purchase.objects.filter(
                workspace=workspace, contact_id__in=missing, date__lte=on
            )
            .order_by()
            .values("contact_id")
            .annotate(first=models.Min("date"), usual=models.Avg("amount"))
            .values_list("contact_id", "first", "usual")
        )
    latest_sale: dict[int, tuple] = {}
    for pk, contact_id, day, description, amount in recent:
        first, usual = history.get(contact_id, (day, None))
        major = amount is not None and usual is not None and amount >= MAJOR_PURCHASE * usual
        if day == first or major:
            latest_sale[contact_id] = (day, f"purchase:{pk}", description)
    deals = scoped(Deal.objects).filter(
        models.Q(won_on__range=(pos_since, on))
        | models.Q(completed_on__range=(since([MomentKind.PROJECT_COMPLETED]), on))
    )
    for pk, contact_id, title, won_on, completed_on in deals.values_list(
        "pk", "contact_id", "title", "won_on", "completed_on"
    ):
        newer = contact_id not in latest_sale or latest_sale[contact_id][0] <= (won_on or on)
        if won_on and fresh(MomentKind.POINT_OF_SALE, won_on) and newer:
            latest_sale[contact_id] = (won_on, f"deal:{pk}", title)
        if completed_on and fresh(MomentKind.PROJECT_COMPLETED, completed_on):
            found[contact_id].append(
                Moment(contact_id, MomentKind.PROJECT_COMPLETED, completed_on, f"deal:{pk}", title)
            )
    for contact_id, (day, source, detail) in latest_sale.items():
        found[contact_id].append(Moment(contact_id, MomentKind.POINT_OF_SALE, day, source, detail))

    referrals = scoped(Referral.objects, "referrer_id").filter(
        date__range=(since([MomentKind.REFERRAL]), on)
    )
    for pk, referrer_id, day, first, last in referrals.values_list(
        "pk", "referrer_id", "date", "referred__first_name", "referred__last_name"
    ):
        name = f"{first} {last}".strip()
        found[referrer_id].append(
            Moment(referrer_id, MomentKind.REFERRAL, day, f"referral:{pk}", name)
        )

    testimonials = scoped(Testimonial.objects).filter(
        received_on__range=(since([MomentKind.TESTIMONIAL]), on)
    )
    for pk, contact_id, day, text in testimonials.values_list(
        "pk", "contact_id", "received_on", "text"
    ):
        found[contact_id].append(
            Moment(contact_id, MomentKind.TESTIMONIAL, day, f"testimonial:{pk}", _excerpt(text))
        )

    from rapport.outreach.models import QuestionnaireAnswer

    answers = scoped(QuestionnaireAnswer.objects).filter(
        answered_on__range=(since([MomentKind.PROMOTER, MomentKind.DETRACTOR]), on)
    )
    for pk, contact_id, day, nps in answers.values_list("pk", "contact_id", "answered_on", "nps"):
        kind = (
            MomentKind.PROMOTER
            if nps >= 9
            else MomentKind.DETRACTOR
            if nps <= 6
            else MomentKind.PASSIVE
        )
        if fresh(kind, day):
            found[contact_id].append(Moment(contact_id, kind, day, f"answer:{pk}", f"{nps}/10"))

    for moments in found.values():
        # Newest first; on the same day, the strongest first.
        moments.sort(key=lambda m: (-m.on.toordinal(), STRENGTH.get(m.kind, 9), m.source))
    return dict(found)


def _excerpt(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
