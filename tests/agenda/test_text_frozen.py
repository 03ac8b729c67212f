"""The frozen test split: sentences by another hand, never read while the reading was built.

This is the only test that opens tests/agenda/data/moments/frozen_test.csv. It scores the
shipped reading (rules + learned layer, as ``read`` runs it) and fails the build if recall
drops below floors set a little under the figures measured once, at the end, with
``python -m rapport.agenda.text evaluate --frozen …`` (docs/moment-detection.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.agenda.reading import evaluation
from rapport.agenda.reading.data import load_labelled
from rapport.agenda.reading.kinds import COMPLAINT, MOMENT_KINDS
from rapport.agenda.reading.reader import read

FROZEN = Path(__file__).parent / "data" / "moments" / "frozen_test.csv"

# Measured once on this split (docs/moment-detection.md), surfaced level: moments recall
# 0.82 (goal 0.85, not met), complaint recall 0.93 (goal 0.95, not met), a confident
# positive reading on 3% of neutral sentences. No goal was met, so each floor sits about two
# to three sentences under its measured figure (one sentence moves a kind's recall by
# 0.01-0.03 here); where a goal is met later, raise the floor to the goal.
MOMENTS_RECALL_FLOOR = 0.79
COMPLAINT_RECALL_FLOOR = 0.90
POSITIVE_ON_NEUTRAL_CEILING = 0.06
KIND_RECALL_FLOORS: dict[str, float] = {
    "praise": 0.58,  # measured 0.63 of 102
    "testimonial": 0.88,  # 0.93 of 58
    "referral": 0.81,  # 0.86 of 71
    "saved_us": 0.86,  # 0.93 of 44
    "partner_association": 0.90,  # 0.97 of 33
    "complaint": 0.90,  # 0.93 of 134
}


@pytest.fixture(scope="module")
def result() -> evaluation.SplitResult:
    rows = load_labelled(FROZEN)
    predictions = evaluation.predictions_of(read, [row.text for row in rows])
    return evaluation.evaluate_split("frozen test", "after", rows, predictions)


def test_moments_recall_holds_its_floor(result: evaluation.SplitResult) -> None:
    assert result.safety["moments recall (surfaced)"].value >= MOMENTS_RECALL_FLOOR


def test_complaint_recall_holds_its_floor(result: evaluation.SplitResult) -> None:
    assert result.safety["complaint recall (surfaced)"].value >= COMPLAINT_RECALL_FLOOR


def test_positive_readings_on_neutral_text_stay_rare(result: evaluation.SplitResult) -> None:
    rate = result.safety["positive reading on neutral (acted)"].value
    assert rate <= POSITIVE_ON_NEUTRAL_CEILING


@pytest.mark.parametrize("kind", [*MOMENT_KINDS, COMPLAINT])
def test_each_kind_recall_holds_its_floor(kind: str, result: evaluation.SplitResult) -> None:
    assert result.surfaced[kind].recall.value >= KIND_RECALL_FLOORS[kind]
