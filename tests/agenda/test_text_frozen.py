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

# Floors: see the docstring; where a goal was met the floor is the goal.
MOMENTS_RECALL_FLOOR = None  # set from the final measurement
COMPLAINT_RECALL_FLOOR = None
POSITIVE_ON_NEUTRAL_CEILING = None
KIND_RECALL_FLOORS: dict[str, float] = {}


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
