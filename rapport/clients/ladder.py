"""The loyalty ladder's automatic promotions, defined once.

Each promotion is a fact that earns a rung: a first meeting or a deal makes a
suspect a prospect; a first purchase or a deal won, a customer; a repeat
purchase or a second deal, a member; a referral or a testimonial given, an
advocate; a second referral, or an unsolicited one, a raving fan. The tests
work on plain numbers and on NumPy columns alike, so the same list promotes a
contact when a fact is written (actions.promote) and tells the agenda which
rung the facts had earned on a past day.
"""

from dataclasses import dataclass
from typing import Any

import numpy as np

from rapport.clients.models import Stage, StageChange

Reason = StageChange.Reason


@dataclass
class LadderFacts:
    """Counts per contact (numbers, or NumPy arrays aligned on contacts)."""

    meetings: Any = 0
    deals: Any = 0  # any deal, whatever its stage
    deals_won: Any = 0
    purchases: Any = 0  # purchase days
    referrals: Any = 0  # referrals they made
    unsolicited: Any = 0  # ... of which nobody asked for
    testimonials: Any = 0


# (reason, rung it earns, test), weakest first: the strongest that applies wins.
PROMOTIONS = [
    (Reason.FIRST_MEETING, Stage.PROSPECT, lambda f: f.meetings >= 1),
    (Reason.DEAL_OPENED, Stage.PROSPECT, lambda f: f.deals >= 1),
    (Reason.FIRST_DEAL, Stage.CUSTOMER, lambda f: f.deals_won >= 1),
    (Reason.FIRST_PURCHASE, Stage.CUSTOMER, lambda f: f.purchases >= 1),
    (Reason.SECOND_DEAL, Stage.MEMBER, lambda f: f.deals_won >= 2),
    (Reason.REPEAT_PURCHASE, Stage.MEMBER, lambda f: f.purchases >= 2),
    (Reason.TESTIMONIAL_GIVEN, Stage.ADVOCATE, lambda f: f.testimonials >= 1),
    (Reason.REFERRAL_GIVEN, Stage.ADVOCATE, lambda f: f.referrals >= 1),
    (Reason.UNSOLICITED_REFERRAL, Stage.RAVING_FAN, lambda f: f.unsolicited >= 1),
    (Reason.SECOND_REFERRAL, Stage.RAVING_FAN, lambda f: f.referrals >= 2),
]


def best_promotion(facts: LadderFacts) -> tuple[str, str] | None:
    """The strongest (reason, rung) the facts of one contact earn, or None."""
    best = None
    for reason, stage, test in PROMOTIONS:
        if test(facts) and (best is None or Stage.rank(stage) >= Stage.rank(best[1])):
            best = (reason, stage)
    return best


def earned_ranks(facts: LadderFacts, n: int) -> np.ndarray:
    """The highest rung rank the facts earn, per contact (0: none), vectorised."""
    rank = np.zeros(n, dtype=np.int64)
    for _, stage, test in PROMOTIONS:
        rank = np.where(test(facts), np.maximum(rank, Stage.rank(stage)), rank)
    return rank


class _Column:
    """A fact as a SQL column: the PROMOTIONS' tests, applied to these,
    write their own SQL conditions, so the list stays defined once."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __ge__(self, n: int) -> str:  # type: ignore[override]
        return f"{self.name} >= {int(n)}"

    def __gt__(self, n: int) -> str:  # type: ignore[override]
        return f"{self.name} > {int(n)}"


def sql_promotions() -> list[tuple[str, str, str]]:
    """(reason, rung, SQL condition) for each promotion, over columns named
    as LadderFacts' fields (set-based promotion: clients.bulk)."""
    from dataclasses import fields

    columns = LadderFacts(**{f.name: _Column(f.name) for f in fields(LadderFacts)})
    return [(reason, stage, test(columns)) for reason, stage, test in PROMOTIONS]
