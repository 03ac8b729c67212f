"""Moments: occasions to act, derived from facts for any date.

Each moment has a kind, the day it happened, its source (the fact it came
from) and a freshness window: older than its window, it is gone. Each source
below is one set-based pass over the rows inside its window, for the whole
workspace (or a few contacts) at once; facts dated after the day are
ignored, so any past day can be replayed.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import models

from rapport.advocacy.models import Referral, Testimonial
from rapport.clients.models import Activity, Deal, DealStage, Purchase
from rapport.kinds import TEXT_KINDS, MomentKind
from rapport.outreach.models import QuestionnaireAnswer

# A purchase this many times the client's usual amount is a decision, not routine.
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
QUOTED = {
    MomentKind.PRAISE,
    MomentKind.SAVED_US,
    MomentKind.COMPLAINT,
    MomentKind.TESTIMONIAL,
    MomentKind.PARTNER_ASSOCIATION,
    MomentKind.REFERRAL,
}


class Origin(models.TextChoices):
    """Where a moment was found: a fact recorded as such, a signal a user
    marked on an activity, or words the text reader found in it."""

    RECORD = "record", "Recorded"
    MARKED = "marked", "Marked by a user"
    READ = "read", "Read in a note"


@dataclass(frozen=True)
class Moment:
    contact_id: int
    kind: str
    on: dt.date
    source: str  # "activity:12", "purchase:3", ... : the fact it came from
    detail: str = ""  # the words or the thing, for "why" and scripts
    origin: str = Origin.RECORD
    # A referral's way in (Referral.How): names given on request are not a
    # reason to ask for the other names again.
    how: str = ""

    def describe(self) -> str:
        verb = VERBS.get(self.kind, self.kind.replace("_", " "))
        if self.kind == MomentKind.REFERRAL and self.origin != Origin.RECORD:
            # Words or a mark, not a referral on record: no name to give.
            verb = "mentioned passing our name on"
        if not self.detail:
            return f"{verb} on {self.on}"
        if self.kind in QUOTED and self.source.startswith("activity:"):
            return f"{verb} on {self.on}: \u201c{self.detail}\u201d"
        return f"{verb} on {self.on} ({self.detail})"


@dataclass(frozen=True)
class Query:
    """What every source needs: the workspace, the day, the contacts (None
    for all), the freshness windows, and the caller's known purchase history."""

    workspace: object
    on: dt.date
    contact_ids: list[int] | None
    windows: dict[str, int]
    known_history: Callable[[set[int]], dict[int, tuple]] | None

    def fresh(self, kind: str, day: dt.date) -> bool:
        return 0 <= (self.on - day).days <= self.windows.get(kind, 14)

    def since(self, *kinds: str) -> dt.date:
        return self.on - dt.timedelta(days=max(self.windows.get(k, 14) for k in kinds))

    def scoped(self, queryset, field: str = "contact_id"):
        queryset = queryset.filter(workspace=self.workspace)
        if self.contact_ids is not None:
            queryset = queryset.filter(**{f"{field}__in": self.contact_ids})
        return queryset


def from_activities(q: Query) -> Iterator[Moment]:
    """Signals a user marked, and what the text reader found in the words."""
    activities = q.scoped(Activity.objects).filter(
        carries_moment=True, occurred_on__range=(q.since(*TEXT_KINDS), q.on)
    )
    for pk, contact_id, day, signals, detected in activities.values_list(
        "pk", "contact_id", "occurred_on", "signals", "detected"
    ):
        for kind in dict.fromkeys([*signals, *detected]):
            if q.fresh(kind, day):
                origin = Origin.MARKED if kind in signals else Origin.READ
                yield Moment(
                    contact_id, kind, day, f"activity:{pk}", detected.get(kind, ""), origin
                )


def from_sales(q: Query) -> Iterator[Moment]:
    """Point of sale: the client said yes to something — a first purchase, a
    deal won, or a purchase well above their usual (a crown, not the
    six-monthly check-up; not this month's retainer invoice). Projects
    completed, the last phase of the funnel."""
    since = q.since(MomentKind.POINT_OF_SALE)
    recent = list(
        q.scoped(Purchase.objects)
        .filter(date__range=(since, q.on))
        .values_list("pk", "contact_id", "date", "description", "amount")
        .order_by("date", "pk")
    )
    history = _purchase_history(q, {row[1] for row in recent})
    latest_sale: dict[int, tuple] = {}
    for pk, contact_id, day, description, amount in recent:
        first, usual = history.get(contact_id, (day, None))
        major = amount is not None and usual is not None and amount >= MAJOR_PURCHASE * usual
        if day == first or major:
            latest_sale[contact_id] = (day, f"purchase:{pk}", description)
    deals = q.scoped(Deal.objects).filter(
        models.Q(won_on__range=(since, q.on))
        | models.Q(completed_on__range=(q.since(MomentKind.PROJECT_COMPLETED), q.on))
    )
    for pk, contact_id, title, stage, won_on, completed_on in deals.values_list(
        "pk", "contact_id", "title", "stage", "won_on", "completed_on"
    ):
        if stage == DealStage.LOST:
            continue
        newer = contact_id not in latest_sale or latest_sale[contact_id][0] <= (won_on or q.on)
        if won_on and q.fresh(MomentKind.POINT_OF_SALE, won_on) and newer:
            latest_sale[contact_id] = (won_on, f"deal:{pk}", title)
        if completed_on and q.fresh(MomentKind.PROJECT_COMPLETED, completed_on):
            yield Moment(
                contact_id, MomentKind.PROJECT_COMPLETED, completed_on, f"deal:{pk}", title
            )
    for contact_id, (day, source, detail) in latest_sale.items():
        yield Moment(contact_id, MomentKind.POINT_OF_SALE, day, source, detail)


def _purchase_history(q: Query, buyers: set[int]) -> dict[int, tuple]:
    """Each buyer's first day and usual amount: from the caller when it has
    them (the agenda's snapshot does), else one grouped query."""
    history = q.known_history(buyers) if q.known_history and buyers else {}
    missing = buyers - set(history)
    if missing:
        history.update(
            (row[0], row[1:])
            for row in Purchase.objects.filter(
                workspace=q.workspace, contact_id__in=missing, date__lte=q.on
            )
            .order_by()
            .values("contact_id")
            .annotate(first=models.Min("date"), usual=models.Avg("amount"))
            .values_list("contact_id", "first", "usual")
        )
    return history


def from_referrals(q: Query) -> Iterator[Moment]:
    """A referral on record is its referrer's moment, with the name given."""
    referrals = q.scoped(Referral.objects, "referrer_id").filter(
        date__range=(q.since(MomentKind.REFERRAL), q.on)
    )
    for pk, referrer_id, day, how, first, last in referrals.values_list(
        "pk", "referrer_id", "date", "how", "referred__first_name", "referred__last_name"
    ):
        name = f"{first} {last}".strip()
        yield Moment(referrer_id, MomentKind.REFERRAL, day, f"referral:{pk}", name, how=how)


def from_testimonials(q: Query) -> Iterator[Moment]:
    testimonials = q.scoped(Testimonial.objects).filter(
        received_on__range=(q.since(MomentKind.TESTIMONIAL), q.on)
    )
    for pk, contact_id, day, text in testimonials.values_list(
        "pk", "contact_id", "received_on", "text"
    ):
        yield Moment(contact_id, MomentKind.TESTIMONIAL, day, f"testimonial:{pk}", excerpt(text))


def nps_band(nps: int) -> str:
    if nps >= 9:
        return MomentKind.PROMOTER
    return MomentKind.DETRACTOR if nps <= 6 else MomentKind.PASSIVE


def from_answers(q: Query) -> Iterator[Moment]:
    """A questionnaire answer: promoter (9–10), passive (7–8), detractor."""
    answers = q.scoped(QuestionnaireAnswer.objects).filter(
        answered_on__range=(q.since(MomentKind.PROMOTER, MomentKind.DETRACTOR), q.on)
    )
    for pk, contact_id, day, nps in answers.values_list("pk", "contact_id", "answered_on", "nps"):
        kind = nps_band(nps)
        if q.fresh(kind, day):
            yield Moment(contact_id, kind, day, f"answer:{pk}", f"{nps}/10")


SOURCES = (from_activities, from_sales, from_referrals, from_testimonials, from_answers)


def moments_on(
    workspace, on: dt.date, contact_ids=None, known_history=None
) -> dict[int, list[Moment]]:
    """Every fresh moment of the workspace on `on`, newest first, by contact.

    `contact_ids` narrows the queries to some contacts (the contact page, a
    refresh after one fact changed)."""
    q = Query(workspace, on, contact_ids, workspace.windows(), known_history)
    found: dict[int, list[Moment]] = defaultdict(list)
    for source in SOURCES:
        for moment in source(q):
            found[moment.contact_id].append(moment)
    for moments in found.values():
        # Newest first; on the same day, the strongest first.
        moments.sort(key=lambda m: (-m.on.toordinal(), STRENGTH.get(m.kind, 9), m.source))
    return dict(found)


def excerpt(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
