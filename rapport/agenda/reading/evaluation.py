"""Scoring readings against labelled sentences: per-kind precision and recall with 95%
Wilson intervals, and the safety figures the agenda depends on.

Each row is scored at two levels:

* **acted** — the confident findings (``detect``): what the agenda acts on unasked;
* **surfaced** — confident plus "to confirm": what a person sees (a moment to confirm is
  not missed, and a possible complaint holds asks until it is dismissed).
"""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapport.agenda.reading.data import LabelledText
from rapport.agenda.reading.kinds import COMPLAINT, MOMENT_KINDS, TEXT_KINDS

Z95 = 1.959964


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (sound at 0, 1 and small counts)."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class Rate:
    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.hits, self.total)

    def __str__(self) -> str:
        if not self.total:
            return "–"
        low, high = self.interval
        return f"{self.value:.2f} [{low:.2f}–{high:.2f}]"


@dataclass(frozen=True, slots=True)
class KindScore:
    precision: Rate
    recall: Rate

    @property
    def support(self) -> int:
        return self.recall.total


@dataclass(frozen=True, slots=True)
class Prediction:
    acted: frozenset[str]
    surfaced: frozenset[str]


def score_kinds(
    rows: Sequence[LabelledText], predicted: Sequence[frozenset[str]]
) -> dict[str, KindScore]:
    scores = {}
    for kind in TEXT_KINDS:
        tp = sum(kind in p and kind in r.labels for r, p in zip(rows, predicted, strict=True))
        fp = sum(kind in p and kind not in r.labels for r, p in zip(rows, predicted, strict=True))
        fn = sum(kind not in p and kind in r.labels for r, p in zip(rows, predicted, strict=True))
        scores[kind] = KindScore(precision=Rate(tp, tp + fp), recall=Rate(tp, tp + fn))
    return scores


def safety(rows: Sequence[LabelledText], predictions: Sequence[Prediction]) -> dict[str, Rate]:
    """The figures behind the goals: moments found, complaints found, and asks that a reading
    would wrongly enable or wrongly hold."""
    moments = set(MOMENT_KINDS)
    pairs = list(zip(rows, predictions, strict=True))
    labelled_moments = [(r, p) for r, p in pairs if r.labels & moments]
    neutral = [(r, p) for r, p in pairs if not r.labels]
    complaining = [(r, p) for r, p in pairs if COMPLAINT in r.labels]
    moments_only = [(r, p) for r, p in pairs if r.labels & moments and COMPLAINT not in r.labels]

    def micro(level: str) -> Rate:
        tp = sum(len(r.labels & moments & getattr(p, level)) for r, p in labelled_moments)
        return Rate(tp, sum(len(r.labels & moments) for r, _ in labelled_moments))

    def would_ask(p: Prediction) -> bool:
        # The agenda asks on a confident moment unless any complaint was read.
        return bool(p.acted & moments) and COMPLAINT not in p.surfaced

    return {
        "moments recall (acted)": micro("acted"),
        "moments recall (surfaced)": micro("surfaced"),
        "any moment found (surfaced)": Rate(
            sum(bool(p.surfaced & moments) for _, p in labelled_moments), len(labelled_moments)
        ),
        "complaint recall (acted)": Rate(
            sum(COMPLAINT in p.acted for _, p in complaining), len(complaining)
        ),
        "complaint recall (surfaced)": Rate(
            sum(COMPLAINT in p.surfaced for _, p in complaining), len(complaining)
        ),
        "positive reading on neutral (acted)": Rate(
            sum(bool(p.acted & moments) for _, p in neutral), len(neutral)
        ),
        "positive reading on complaint (acted)": Rate(
            sum(bool((p.acted - r.labels) & moments) for r, p in complaining), len(complaining)
        ),
        "ask enabled on neutral or complaint": Rate(
            sum(would_ask(p) for _, p in neutral + complaining), len(neutral) + len(complaining)
        ),
        "complaint read on moment-only text (holds an ask)": Rate(
            sum(COMPLAINT in p.surfaced for _, p in moments_only), len(moments_only)
        ),
        "complaint read on neutral text (acted)": Rate(
            sum(COMPLAINT in p.acted for _, p in neutral), len(neutral)
        ),
        "complaint read on neutral text (surfaced)": Rate(
            sum(COMPLAINT in p.surfaced for _, p in neutral), len(neutral)
        ),
    }


@dataclass(frozen=True)
class SplitResult:
    split: str
    detector: str
    rows: int
    acted: dict[str, KindScore]
    surfaced: dict[str, KindScore]
    safety: dict[str, Rate]


def evaluate_split(
    split: str,
    detector: str,
    rows: Sequence[LabelledText],
    predictions: Sequence[Prediction],
) -> SplitResult:
    return SplitResult(
        split=split,
        detector=detector,
        rows=len(rows),
        acted=score_kinds(rows, [p.acted for p in predictions]),
        surfaced=score_kinds(rows, [p.surfaced for p in predictions]),
        safety=safety(rows, predictions),
    )


def predictions_of(reader: Callable, texts: Iterable[str]) -> list[Prediction]:
    """``reader(text) -> Reading`` applied to each text."""
    out = []
    for text in texts:
        reading = reader(text)
        out.append(
            Prediction(
                acted=frozenset(reading.confident),
                surfaced=frozenset(f.kind for f in reading.findings),
            )
        )
    return out


def predictions_of_detect(detect: Callable[[str], Mapping], texts: Iterable[str]) -> list:
    """A ``detect``-only detector (the rules before this layer): acted and surfaced agree."""
    out = []
    for text in texts:
        kinds = frozenset(detect(text))
        out.append(Prediction(acted=kinds, surfaced=kinds))
    return out


def detect_at_revision(revision: str, path: str = "rapport/agenda/text.py") -> Callable:
    """``detect`` as it was at a git revision (the "before" of the docs), loaded from a
    temporary copy of that file so today's code is untouched."""
    source = subprocess.run(
        ["git", "show", f"{revision}:{path}"],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8") as handle:
        handle.write(source)
    name = f"rapport_text_at_{revision}"
    spec = importlib.util.spec_from_file_location(name, handle.name)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    try:
        spec.loader.exec_module(module)
    finally:
        Path(handle.name).unlink()
    return module.detect


# --- markdown ---------------------------------------------------------------------------------


def kinds_table(results: Sequence[SplitResult], level: str = "acted") -> str:
    lines = [
        "| split | detector | kind | precision [95% CI] | recall [95% CI] | support |",
        "| --- | --- | --- | --- | --- | ---: |",
    ]
    for result in results:
        scores = getattr(result, level)
        for kind in TEXT_KINDS:
            s = scores[kind]
            lines.append(
                f"| {result.split} | {result.detector} | {kind} | {s.precision} | "
                f"{s.recall} | {s.support} |"
            )
    return "\n".join(lines)


def safety_table(results: Sequence[SplitResult]) -> str:
    names = list(results[0].safety) if results else []
    header = "| figure | " + " | ".join(f"{r.split}: {r.detector}" for r in results) + " |"
    lines = [header, "| --- |" + " --- |" * len(results)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(str(r.safety[name]) for r in results) + " |")
    return "\n".join(lines)


def report(results: Sequence[SplitResult]) -> str:
    return "\n\n".join(
        [
            "#### Per kind, acted on (confident findings, what `detect` returns)",
            kinds_table(results, "acted"),
            "#### Per kind, surfaced (confident, or shown to a person to confirm)",
            kinds_table([r for r in results if r.detector != "before"], "surfaced"),
            "#### Safety and goals (rate [95% CI])",
            safety_table(results),
        ]
    )


BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"


def write_into(path: str | Path, text: str) -> None:
    """Replace what sits between the figure markers of a document (added at its end if the
    markers are missing), so the figures there are always the command's own output."""
    path = Path(path)
    document = path.read_text(encoding="utf-8")
    block = f"{BEGIN}\n\n{text.strip()}\n\n{END}"
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        document = head + block + tail
    else:
        document = document.rstrip() + "\n\n" + block + "\n"
    path.write_text(document, encoding="utf-8")
