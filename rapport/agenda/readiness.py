"""Readiness: how far the business has earned the right to ask, 0–100.

Vectorised over all contacts at once (NumPy arrays of facts in, points out),
so the morning refresh scores 100,000 contacts in milliseconds; the reasons,
which are text, are only written for the contacts someone will look at.
"""

from dataclasses import dataclass

import numpy as np

# Points per component and their caps. Relationship weighs most: the owner's
# own judgement is the best single signal of whether an ask would be welcome.
RELATIONSHIP_POINTS = 3.5  # per point of the 1–10 rating: up to 35
STAGE_POINTS = np.array([0, 5, 10, 15, 20, 25])  # suspect … raving fan
TENURE_CAP, TENURE_DAYS_FOR_CAP = 10, 365
MOMENT_POINTS, MOMENT_CAP = 8, 15
PURCHASE_POINTS, PURCHASE_CAP = 2, 10
GIVEN_POINTS, GIVEN_CAP = 5, 10


@dataclass
class Facts:
    """Arrays aligned on contacts; NaN where a fact is missing."""

    relationship: np.ndarray  # 1–10 or NaN
    stage_rank: np.ndarray  # 0–5
    tenure_days: np.ndarray  # days since the first purchase or deal won, NaN if none
    positive_moments: np.ndarray  # fresh positive moments
    purchases: np.ndarray
    referrals_given_to: np.ndarray


def components(facts: Facts) -> dict[str, np.ndarray]:
    tenure = np.nan_to_num(facts.tenure_days, nan=0.0).clip(0, TENURE_DAYS_FOR_CAP)
    return {
        "relationship": np.nan_to_num(facts.relationship, nan=0.0) * RELATIONSHIP_POINTS,
        "stage": STAGE_POINTS[facts.stage_rank.astype(int)].astype(float),
        "tenure": tenure / TENURE_DAYS_FOR_CAP * TENURE_CAP,
        "moments": np.minimum(facts.positive_moments * MOMENT_POINTS, MOMENT_CAP),
        "purchases": np.minimum(facts.purchases * PURCHASE_POINTS, PURCHASE_CAP),
        "given": np.minimum(facts.referrals_given_to * GIVEN_POINTS, GIVEN_CAP),
    }


def scores(facts: Facts) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    parts = components(facts)
    total = np.rint(np.minimum(sum(parts.values()), 100)).astype(int)
    return total, parts


def reasons(i: int, facts: Facts, parts: dict[str, np.ndarray], stage_label: str) -> list[str]:
    """The readiness of contact `i`, explained: one line per component."""

    def pts(name: str) -> str:
        return f"+{round(float(parts[name][i]))}"

    lines = []
    if np.isnan(facts.relationship[i]):
        lines.append("relationship not rated yet (+0)")
    else:
        lines.append(f"relationship {int(facts.relationship[i])}/10 ({pts('relationship')})")
    lines.append(f"stage: {stage_label} ({pts('stage')})")
    if np.isnan(facts.tenure_days[i]):
        lines.append("no purchase yet (+0)")
    else:
        days = int(facts.tenure_days[i])
        span = f"{days // 365} year{'s' if days >= 730 else ''}" if days >= 365 else f"{days} days"
        lines.append(f"client for {span} ({pts('tenure')})")
    if facts.positive_moments[i]:
        n = int(facts.positive_moments[i])
        lines.append(f"{n} recent positive moment{'s' if n > 1 else ''} ({pts('moments')})")
    n = int(facts.purchases[i])
    lines.append(f"{n} purchase{'s' if n != 1 else ''} ({pts('purchases')})")
    if facts.referrals_given_to[i]:
        n = int(facts.referrals_given_to[i])
        lines.append(f"we referred {n} client{'s' if n > 1 else ''} to them ({pts('given')})")
    return lines
