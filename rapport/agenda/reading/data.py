"""Labelled sentences: loading them, and splitting them into folds grouped by author style."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rapport.agenda.reading.kinds import TEXT_KINDS


class LabelError(ValueError):
    """A labelled file that cannot be read as one: the message names the file and line."""


@dataclass(frozen=True, slots=True)
class LabelledText:
    text: str
    labels: frozenset[str]
    split: str = ""
    # The author persona: cross-validation keeps one style's sentences in one fold, so a
    # score never rewards having learnt a writer's habits.
    style: str = ""


def load_labelled(path: str | Path) -> list[LabelledText]:
    """Read a labelled CSV: ``text,labels`` and optionally ``split`` and ``style`` columns.

    Labels are ``;``-separated kinds (empty for a neutral sentence). An unknown kind or a
    missing column is an error naming the file and line, so a typo never silently turns a
    complaint into a neutral sentence.
    """
    path = Path(path)
    rows: list[LabelledText] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"text", "labels"} - set(reader.fieldnames or ())
        if missing:
            raise LabelError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for row in reader:
            labels = frozenset(
                label.strip() for label in (row["labels"] or "").split(";") if label.strip()
            )
            unknown = labels - set(TEXT_KINDS)
            if unknown:
                raise LabelError(
                    f"{path}:{reader.line_num}: unknown label(s) {', '.join(sorted(unknown))}"
                )
            text = row["text"] or ""
            if not text.strip():
                raise LabelError(f"{path}:{reader.line_num}: empty text")
            rows.append(
                LabelledText(
                    text=text,
                    labels=labels,
                    split=(row.get("split") or "").strip(),
                    style=(row.get("style") or "").strip(),
                )
            )
    return rows


def grouped_folds(rows: Sequence[LabelledText], k: int = 5) -> list[list[int]]:
    """Row indices of ``k`` test folds; every style's rows fall in exactly one fold.

    Styles are dealt largest first to the fold with the fewest rows so far (ties by fold
    number, styles by name), which balances fold sizes and gives the same folds every run.
    Rows without a style are each their own group.
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        groups[row.style or f"\0row{index}"].append(index)
    if len(groups) < k:
        raise ValueError(f"{len(groups)} style(s) cannot make {k} grouped folds")
    folds: list[list[int]] = [[] for _ in range(k)]
    for _, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        smallest = min(range(k), key=lambda fold: (len(folds[fold]), fold))
        folds[smallest].extend(members)
    return [sorted(fold) for fold in folds]
