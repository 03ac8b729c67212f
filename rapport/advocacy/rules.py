"""Advocacy in the agenda: thank-yous, referrals left waiting, give to get.

Registered into the agenda's ordered list (rapport.agenda.rules.PRECEDENCE)
when the app is ready.

- thank: every referral and testimonial is thanked (gratitude is not an
  ask: no gate holds it, not even an open issue);
- stale_referral: a referral nobody has touched for a week;
- referrer_update: a referred friend became a client and their referrer has
  not been told yet;
- give: a valued client the business has not yet earned the right to ask is
  offered something first — an introduction that helps their business.

Every rule reads the facts advocacy computes set-based for the whole
snapshot (rapport.advocacy.facts), once per snapshot through `memo`: a
few queries for all contacts, never one per contact, and no writes.
"""

import datetime as dt
from collections.abc import Iterator

import numpy as np

from rapport.advocacy import facts
from rapport.advocacy.models import Referral
from rapport.agenda import wording
from rapport.agenda.facts import CUSTOMER_RANK, Snapshot, day_number
from rapport.agenda.models import Action
from rapport.agenda.moments import Moment, Origin
from rapport.agenda.rules import Proposal, Run, rule, touch_overdue, with_moments
from rapport.kinds import MomentKind

# A referral waits this long for a first contact before it surfaces.
STALE_REFERRAL_DAYS = 7
# ... and stops surfacing after this (it is the pipeline's to chase then).
STALE_REFERRAL_HORIZON_DAYS = 60
# A give is offered at most this often to one client.
GIVE_EVERY_DAYS = 180


# -- what advocacy's facts say, once per snapshot -------------------------------


def thanked(s: Snapshot) -> set[tuple[int, str]]:
    return facts.thanked_sources(s.workspace, s.contact_ids)


def covering(s: Snapshot) -> dict[tuple[int, str], str]:
    return facts.thank_you_covering(s.workspace, s.contact_ids)


def open_tasks(s: Snapshot) -> dict[tuple[int, str], facts.ThankYouRow]:
    return {
        (row.contact_id, row.source_key): row
        for row in facts.open_thank_yous(s.workspace, s.on, s.contact_ids)
    }


# -- thank ---------------------------------------------------------------------------


def _referral_number(moment: Moment) -> tuple[int, int]:
    kind, _, pk = moment.source.partition(":")
    return (0 if kind == "referral" else 1, int(pk) if pk.isdigit() else 0)


def referral_thanks(run: Run, i: int) -> dict[str, list[Moment]]:
    """The referrals still to thank, grouped into thank-yous: those a
    thank-you task already covers (names given while one was open share it)
    under that task's key; the others by day — several names given on one
    day are one thank-you. Referrals on record and referrals a user marked
    are thanked; words read in a note are not a referral (nobody named)."""
    pk = run.pk(i)
    done = run.s.memo(thanked)
    cover = run.s.memo(covering)
    # Newest first, as the moments come: the names read in that order.
    referrals = [
        m
        for m in run.s.moments.get(pk, [])
        if m.kind == MomentKind.REFERRAL
        and m.origin in (Origin.RECORD, Origin.MARKED)
        and (pk, m.source) not in done
    ]
    by_task: dict[str, list[Moment]] = {}
    by_day: dict[dt.date, list[Moment]] = {}
    for m in referrals:
        task = cover.get((pk, m.source))
        if task is not None:
            by_task.setdefault(task, []).append(m)
        else:
            by_day.setdefault(m.on, []).append(m)
    groups = dict(by_task)
    for group in by_day.values():
        first = min(group, key=_referral_number)
        groups.setdefault(first.source, []).extend(group)
    return groups


def _thank_for_referrals(run: Run, i: int, key: str, group: list[Moment]) -> Proposal:
    named = [m for m in group if m.origin == Origin.RECORD]
    days = sorted({m.on for m in group})
    when = f"on {days[0]}" if len(days) == 1 else f"between {days[0]} and {days[-1]}"
    if named:
        names = wording.and_list(list(dict.fromkeys(m.detail for m in named if m.detail)))
        why = [f"referred {names} {when}"]
        moment = f"introducing {names} to us — we'll look after them with the same care you've had"
    else:
        # A referral a user marked on a note: somebody was sent our way, unnamed.
        names = "the person you sent our way"
        detail = next((m.detail for m in group if m.detail), "")
        why = [f"marked as a referral {when}" + (f": \u201c{detail}\u201d" if detail else "")]
        moment = "sending someone our way — we'll look after them with the same care you've had"
    fields = {"moment": moment, "referred_name": names}
    task = run.s.memo(open_tasks).get((run.pk(i), key))
    if task is not None:
        # The thank-you task exists (a card or an email): the item is that
        # task, and Today links to it; marking either done ends both.
        fields["thank_you"] = str(task.thank_you_id)
        fields["thank_you_kind"] = task.kind
    return Proposal(
        Action.THANK,
        key,
        why,
        "thank_you",
        moments=[MomentKind.REFERRAL],
        fields=fields,
    )


@rule(
    "thank",
    "7. Follow through: thank every referrer and every testimonial",
    candidates=with_moments(MomentKind.REFERRAL, MomentKind.TESTIMONIAL),
)
def thank(run: Run, i: int) -> Iterator[Proposal]:
    pk = run.pk(i)
    for key, group in referral_thanks(run, i).items():
        yield _thank_for_referrals(run, i, key, group)
    done = run.s.memo(thanked)
    for moment in run.s.moments.get(pk, []):
        if (
            moment.kind == MomentKind.TESTIMONIAL
            and moment.source.startswith("testimonial:")
            and (pk, moment.source) not in done
        ):
            yield Proposal(
                Action.THANK,
                moment.source,
                [f"sent a testimonial on {moment.on}: \u201c{moment.detail}\u201d"],
                "thank_you",
                moments=[MomentKind.TESTIMONIAL],
                fields={"moment": "your kind words"},
            )


# -- stale_referral -------------------------------------------------------------------


def waiting_referrals(s: Snapshot) -> dict[int, list[facts.StaleReferral]]:
    """Open referrals nobody touched for a week (advocacy.facts.stale_referrals),
    by the index of the person to reach — the friend, or the referrer while
    an introduction waits on them — within the horizon after the referral."""
    found: dict[int, list[facts.StaleReferral]] = {}
    for row in facts.stale_referrals(s.workspace, s.on, s.contact_ids):
        i = s.index.get(row.contact_id)
        if i is None or (s.on - row.referred_on).days > STALE_REFERRAL_HORIZON_DAYS:
            continue
        found.setdefault(i, []).append(row)
    return found


def _first_contact_made(s: Snapshot, i: int, row: facts.StaleReferral) -> bool:
    touched = s.last_touch[i]
    return row.status != Referral.Status.NEW or (
        not np.isnan(touched) and touched >= day_number(row.referred_on)
    )


@rule(
    "stale_referral",
    "7. Follow through: track each referral until it is won or lost",
    candidates=lambda run: list(run.s.memo(waiting_referrals)),
)
def stale_referral(run: Run, i: int) -> Iterator[Proposal]:
    for row in run.s.memo(waiting_referrals)[i]:
        quiet = f"nobody has been in touch for {wording.plural(row.days, 'day')}"
        if row.waiting_on_introduction:
            yield Proposal(
                Action.TOUCH,
                f"referral:{row.referral_id}:introduction",
                [
                    f"offered to introduce {row.referred_name} on {row.referred_on}",
                    f"the introduction has waited {wording.plural(row.days, 'day')}",
                    "a gentle nudge: offer to make the introduction easier",
                ],
                "introduction_nudge",
                fields={
                    "referred_name": row.referred_name,
                    "last_visit": run.spoken(row.last_touch),
                },
            )
        elif not _first_contact_made(run.s, i, row):
            yield Proposal(
                Action.TOUCH,
                f"referral:{row.referral_id}:first_contact",
                [
                    f"referred by {row.referrer_name} on {row.referred_on}",
                    quiet,
                    "a referral goes cold fast: call them today",
                ],
                "first_contact",
                fields={
                    "referred_by": row.referrer_name,
                    "last_visit": run.spoken(row.referred_on),
                },
            )
        else:
            status = Referral.Status(row.status).label.lower()
            yield Proposal(
                Action.TOUCH,
                f"referral:{row.referral_id}:follow_up:{row.last_touch}",
                [
                    f"referred by {row.referrer_name} on {row.referred_on} ({status})",
                    quiet,
                    "keep it moving: follow up today",
                ],
                "touch",
                fields={
                    "referred_by": row.referrer_name,
                    "last_visit": run.spoken(row.last_touch),
                },
            )


# -- referrer_update -------------------------------------------------------------------


def updates_due(s: Snapshot) -> dict[int, list[facts.ReferrerUpdateDue]]:
    found: dict[int, list[facts.ReferrerUpdateDue]] = {}
    for row in facts.referrer_updates_due(s.workspace, s.on, s.contact_ids):
        i = s.index.get(row.referrer_id)
        if i is not None:
            found.setdefault(i, []).append(row)
    return found


@rule(
    "referrer_update",
    "7. Follow through: tell the referrer their friend became a client",
    candidates=lambda run: list(run.s.memo(updates_due)),
)
def referrer_update(run: Run, i: int) -> Iterator[Proposal]:
    for row in run.s.memo(updates_due)[i]:
        friend = row.referred_name or "the person they referred"
        since = f" on {row.won_on}" if row.won_on else ""
        yield Proposal(
            Action.TOUCH,
            f"referral:{row.referral_id}:tell_referrer",
            [
                f"{friend}, whom they referred, became a client{since}",
                "the call to tell them is still to make"
                if row.call_open
                else "they have not been told yet: tell them their friend is in good hands",
            ],
            "tell_referrer",
            fields={"referred_name": friend},
        )


# -- give ---------------------------------------------------------------------------------


def give_candidates(s: Snapshot) -> set[int]:
    return {c.contact_id for c in facts.give_candidates(s.workspace, s.on, s.contact_ids)}


def valued_and_unearned(run: Run) -> list[int]:
    """Valued clients whose readiness is below the threshold and who were
    given no referral lately (advocacy.facts.give_candidates), whose touch
    plan is due: the give is the touch. Readiness is the day's (the
    snapshot's), so a client who just earned it is asked, not given to."""
    s = run.s
    maybe = (s.stage_rank >= CUSTOMER_RANK) & (s.readiness < run.workspace.readiness_threshold)
    due = np.zeros(len(s.ids), dtype=bool)
    due[touch_overdue(run)] = True
    maybe &= due
    if not maybe.any():
        return []  # nobody could be given to: no need to ask who is valued
    wanted = s.memo(give_candidates)
    return [i for i in np.flatnonzero(maybe).tolist() if int(s.ids[i]) in wanted]


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
