"""Readiness: how far the business has earned the right to ask, 0–100.

The practice's questions before any ask — what have I earned so far, have I
done more than make a sale, how strong is this relationship 1–10, why would
this client refer me — become points, each with its reason:

- relationship: 3.5 per point of the 1–10 rating, up to 35 — how strong is
  this relationship?
- stage: 0, 5, 10, 15, 20, 25 from suspect to raving fan — where are they on
  the ladder?
- delivered: up to 25 — 8 per project completed, 4 per deal won, 4 when what
  they bought is worth more than the workspace's usual, 2 per visit or
  purchase kept (up to 10) — have I done more than make a sale?
- moments: 10 per unprompted moment (praise, a testimonial, a referral, "you
  saved us", news of an association), 8 per other (a sale, a completed
  project, a 9–10 rating); up to 15 — why would they refer me now?
- tenure: up to 10 over their first year as a client;
- put right: 5 when a problem of theirs was put right and confirmed — did I
  keep my word when it mattered?
- given: 5 per referral the business gave them, up to 10 — what have I given?

Read the threshold (50 by default) like this: a customer who rates 7/10 and
just volunteered a moment is over it; so is a client of a year who rates
6/10 and has come back a few times; a client nobody has rated yet, or rated
4/10, is not — whatever the moment — and gets "earn it first" instead.

Vectorised over all contacts at once (NumPy arrays of facts in, points out),
so the morning refresh scores 100,000 contacts in milliseconds; the reasons,
which are text, are only written for the contacts someone will look at.
"""

from dataclasses import dataclass

import numpy as np

from rapport.kinds import UNPROMPTED

RELATIONSHIP_POINTS = 3.5
STAGE_POINTS = np.array([0, 5, 10, 15, 20, 25])  # suspect … raving fan
TENURE_CAP, TENURE_DAYS_FOR_CAP = 10, 365
UNPROMPTED_MOMENT_POINTS, OTHER_MOMENT_POINTS, MOMENT_CAP = 10, 8, 15
PROJECT_POINTS, DEAL_POINTS, VALUE_POINTS = 8, 4, 4
VISIT_POINTS, VISIT_CAP = 2, 10
DELIVERED_CAP = 25
PUT_RIGHT_POINTS = 5
GIVEN_POINTS, GIVEN_CAP = 5, 10


def moment_weight(kind: str) -> int:
    return UNPROMPTED_MOMENT_POINTS if kind in UNPROMPTED else OTHER_MOMENT_POINTS


@dataclass
class Facts:
    """Arrays aligned on contacts; NaN where a fact is missing."""

    relationship: np.ndarray  # 1–10 or NaN
    stage_rank: np.ndarray  # 0–5
    tenure_days: np.ndarray  # days since the first purchase or deal won, NaN if none
    moment_points: np.ndarray  # fresh positive moments, weighted (moment_weight)
    purchases: np.ndarray  # purchase days kept
    projects_completed: np.ndarray
    deals_won: np.ndarray
    deal_value: np.ndarray  # value of the deals won
    first_amount: np.ndarray  # the first purchase's amount, NaN if unknown
    put_right: np.ndarray  # problems put right and confirmed
    referrals_given_to: np.ndarray
    # The workspace's usual value (usual_value over all its clients, not only
    # the ones scored: a contact's page must score as the morning does).
    usual_value: float = np.nan


def client_values(deal_value: np.ndarray, first_amount: np.ndarray) -> np.ndarray:
    """The value of what each client bought: the deals they won, else their
    first purchase (NaN when unknown)."""
    return np.where(deal_value > 0, deal_value, first_amount)


def usual_value(values: np.ndarray) -> float:
    """The median of the known values (NaN with fewer than two): worth more
    than this is worth more than the workspace's usual. Relative, so it holds
    in any currency and any trade."""
    known = values[~np.isnan(values) & (values > 0)]
    return float(np.median(known)) if len(known) >= 2 else np.nan


def components(facts: Facts) -> dict[str, np.ndarray]:
    tenure = np.nan_to_num(facts.tenure_days, nan=0.0).clip(0, TENURE_DAYS_FOR_CAP)
    value = np.nan_to_num(client_values(facts.deal_value, facts.first_amount), nan=0.0)
    with np.errstate(invalid="ignore"):
        above_usual = value > facts.usual_value  # never, when the usual is unknown
    delivered = (
        facts.projects_completed * PROJECT_POINTS
        + facts.deals_won * DEAL_POINTS
        + above_usual * VALUE_POINTS
        + np.minimum(facts.purchases * VISIT_POINTS, VISIT_CAP)
    )
    return {
        "relationship": np.nan_to_num(facts.relationship, nan=0.0) * RELATIONSHIP_POINTS,
        "stage": STAGE_POINTS[facts.stage_rank.astype(int)].astype(float),
        "delivered": np.minimum(delivered, DELIVERED_CAP),
        "moments": np.minimum(facts.moment_points, MOMENT_CAP),
        "tenure": tenure / TENURE_DAYS_FOR_CAP * TENURE_CAP,
        "put_right": np.minimum(facts.put_right, 1) * PUT_RIGHT_POINTS,
        "given": np.minimum(facts.referrals_given_to * GIVEN_POINTS, GIVEN_CAP),
    }


def scores(facts: Facts) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    parts = components(facts)
    total = np.rint(np.minimum(sum(parts.values()), 100)).astype(int)
    return total, parts


def _n(n: float, one: str, many: str | None = None) -> str:
    n = int(n)
    return f"{n} {one if n == 1 else (many or one + 's')}"


def reasons(i: int, facts: Facts, parts: dict[str, np.ndarray], stage_label: str) -> list[str]:
    """The readiness of contact `i`, explained: one line per component."""

    def pts(name: str) -> str:
        return f"+{round(float(parts[name][i]))}"

    lines = []
    if np.isnan(facts.relationship[i]):
        lines.append("relationship not rated yet — how strong is it, 1 to 10? (+0)")
    else:
        lines.append(f"relationship {int(facts.relationship[i])}/10 ({pts('relationship')})")
    lines.append(f"stage: {stage_label} ({pts('stage')})")
    delivered = []
    if facts.projects_completed[i]:
        delivered.append(_n(facts.projects_completed[i], "project") + " completed")
    if facts.deals_won[i]:
        delivered.append(_n(facts.deals_won[i], "deal") + " won")
    if facts.purchases[i]:
        delivered.append(_n(facts.purchases[i], "visit or purchase", "visits or purchases"))
    if delivered:
        lines.append(f"delivered: {', '.join(delivered)} ({pts('delivered')})")
    else:
        lines.append("nothing delivered yet (+0)")
    if facts.moment_points[i]:
        lines.append(f"a recent moment to build on ({pts('moments')})")
    if np.isnan(facts.tenure_days[i]):
        lines.append("not a client yet (+0)")
    else:
        days = int(facts.tenure_days[i])
        span = _n(days // 365, "year") if days >= 365 else _n(days, "day")
        lines.append(f"client for {span} ({pts('tenure')})")
    if facts.put_right[i]:
        lines.append(f"a problem of theirs put right and confirmed ({pts('put_right')})")
    if facts.referrals_given_to[i]:
        n = _n(facts.referrals_given_to[i], "client")
        lines.append(f"we referred {n} to them ({pts('given')})")
    return lines
