"""Advocacy in the agenda: thank-yous, referrals left waiting, give to get.

Registered into the agenda's ordered list (rapport.agenda.rules.PRECEDENCE)
when the app is ready.

- thank: every referral and testimonial is thanked (gratitude is not an
  ask: no gate holds it, not even an open issue);
- stale_referral: a referred person nobody has contacted for a week;
- give: a valued client the business has not yet earned the right to ask is
  offered something first — an introduction that helps their business.
"""

import datetime as dt
from collections.abc import Iterator

import numpy as np

from rapport.advocacy.models import Referral
from rapport.agenda import wording
from rapport.agenda.facts import CUSTOMER_RANK, Snapshot, day_number
from rapport.agenda.models import Action
from rapport.agenda.moments import Origin
from rapport.agenda.rules import Proposal, Run, rule, touch_overdue, with_moments
from rapport.kinds import MomentKind

# A referral waits this long for a first contact before it surfaces.
STALE_REFERRAL_DAYS = 7
# ... and stops surfacing after this (it is the pipeline's to chase then).
STALE_REFERRAL_HORIZON_DAYS = 60
# A give is offered at most this often to one client.
GIVE_EVERY_DAYS = 180


@rule(
    "thank",
    "7. Follow through: thank every referrer and every testimonial",
    candidates=with_moments(MomentKind.REFERRAL, MomentKind.TESTIMONIAL),
)
def thank(run: Run, i: int) -> Iterator[Proposal]:
    moments = run.s.moments.get(run.pk(i), [])
    # Names given together are thanked together: one thank-you, not one per name.
    referred = [m for m in moments if m.kind == MomentKind.REFERRAL and m.origin == Origin.RECORD]
    if referred:
        names = wording.and_list(list(dict.fromkeys(m.detail for m in referred)))
        days = sorted({m.on for m in referred})
        when = f"on {days[0]}" if len(days) == 1 else f"between {days[0]} and {days[-1]}"
        yield Proposal(
            Action.THANK,
            referred[0].source,
            [f"referred {names} {when}"],
            "thank_you",
            moments=[MomentKind.REFERRAL],
            fields={
                "moment": f"introducing {names} to us — we'll look after them with the same "
                "care you've had",
                "referred_name": names,
            },
        )
    for moment in moments:
        if moment.kind == MomentKind.TESTIMONIAL and moment.source.startswith("testimonial:"):
            yield Proposal(
                Action.THANK,
                moment.source,
                [f"sent a testimonial on {moment.on}: \u201c{moment.detail}\u201d"],
                "thank_you",
                moments=[MomentKind.TESTIMONIAL],
                fields={"moment": "your kind words"},
            )


def waiting_referrals(s: Snapshot) -> dict[int, tuple[int, dt.date, str]]:
    """Referred people (by index) still new, with no touch since they were
    referred a week or more ago: index → (referral id, date, referrer's name)."""
    start = s.on - dt.timedelta(days=STALE_REFERRAL_HORIZON_DAYS)
    end = s.on - dt.timedelta(days=STALE_REFERRAL_DAYS)
    rows = (
        s.scoped(Referral.objects, "referred_id")
        .filter(status=Referral.Status.NEW, date__range=(start, end))
        .values_list("pk", "referred_id", "date", "referrer__first_name", "referrer__last_name")
    )
    found = {}
    for pk, referred_id, day, first, last in rows:
        i = s.index.get(referred_id)
        if i is None:
            continue
        touched = s.last_touch[i]
        if not np.isnan(touched) and touched >= day_number(day):
            continue
        found[i] = (pk, day, f"{first} {last}".strip())
    return found


@rule(
    "stale_referral",
    "7. Follow through: track each referral until it is won or lost",
    candidates=lambda run: list(run.s.memo(waiting_referrals)),
)
def stale_referral(run: Run, i: int) -> Iterator[Proposal]:
    pk, day, referrer = run.s.memo(waiting_referrals)[i]
    days = (run.on - day).days
    yield Proposal(
        Action.TOUCH,
        f"referral:{pk}:first_contact",
        [
            f"referred by {referrer} on {day}",
            f"nobody has been in touch for {wording.plural(days, 'day')}",
            "a referral goes cold fast: call them today",
        ],
        "first_contact",
        fields={"referred_by": referrer, "last_visit": run.spoken(day)},
    )


def valued_and_unearned(run: Run) -> list[int]:
    """Clients worth more than most (deals won or visits kept above the
    median) whose readiness is below the threshold, who were never given a
    referral, and whose touch plan is due: the give is the touch."""
    s = run.s
    clients = s.stage_rank >= CUSTOMER_RANK
    low = s.readiness < run.workspace.readiness_threshold
    due = np.zeros(len(s.ids), dtype=bool)
    due[touch_overdue(run)] = True
    maybe = clients & low & (s.referrals_given_to == 0) & due
    if not maybe.any():
        return []
    # Worth more than most of the workspace's clients — all of them, so that a
    # contact judged alone is judged as in the morning.
    whole = s.whole()
    among = whole.stage_rank >= CUSTOMER_RANK
    median = float(np.median(_delivered(whole)[among]))
    return np.flatnonzero(maybe & (_delivered(s) > median)).tolist()


def _delivered(s: Snapshot) -> np.ndarray:
    """What each contact brought: deals won, and visits at their usual spend."""
    return s.deal_value + np.nan_to_num(s.typical_amount, nan=0.0) * s.purchases


@rule(
    "give",
    "1. Earn the right first: give to get — a referral given to a valued client",
    candidates=valued_and_unearned,
    fallback=True,
)
def give(run: Run, i: int) -> Iterator[Proposal]:
    s = run.s
    period = day_number(run.on) // GIVE_EVERY_DAYS
    yield Proposal(
        Action.EARN_FIRST,
        f"give:{period}",
        [
            "one of your most valued clients",
            f"readiness {int(s.readiness[i])} is below the threshold of "
            f"{run.workspace.readiness_threshold}",
            "give first: introduce them to someone who could help their business",
        ],
        "give",
    )
