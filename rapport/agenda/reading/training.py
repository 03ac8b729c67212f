"""Fitting the learned layer: grouped cross-validation, calibration, thresholds.

``fit(rows)`` is what ``python -m rapport.agenda.text train`` runs:

1. five folds grouped by author style; for each, a model trained on the other four scores
   the held-out rows (out-of-fold log-odds, from sentences no model saw in training);
2. per kind, a two-input logistic regression on those out-of-fold log-odds and on whether
   the rules fired (``combine``): it calibrates the confidence, and weighs the rules;
3. per kind, two thresholds on the calibrated confidence, read off the out-of-fold
   precision/recall (``choose_thresholds``);
4. the final model, trained on every row, carries 2 and 3 in its metadata.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rapport.agenda.reading import model as text_model
from rapport.agenda.reading import rules
from rapport.agenda.reading.data import LabelledText, grouped_folds
from rapport.agenda.reading.kinds import COMPLAINT, MOMENT_KINDS, TEXT_KINDS

FOLDS = 5
# A confident moment is acted on (an ask is proposed): about 4 in 5 must be right.
CONFIDENT_PRECISION = 0.80
# Below this a reading is not worth a person's click.
ASK_PRECISION = 0.40
# Complaints hold asks, so they are read for recall: the confident threshold is the
# highest that still finds this share of complaints, the "ask" one a higher share...
COMPLAINT_CONFIDENT_RECALL = 0.90
COMPLAINT_ASK_RECALL = 0.97
# ...as long as a confident complaint is not read in more than this share of the
# sentences that carry only moments (each such false complaint would hold an ask).
COMPLAINT_MAX_FALSE_ON_MOMENTS = 0.05
_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)


@dataclass(frozen=True)
class OutOfFold:
    logits: np.ndarray  # (rows, kinds): the fold model's log-odds on its held-out rows
    rule_hits: np.ndarray  # (rows, kinds) bool: the rules fired on the row
    folds: list[list[int]]


def rule_hits(texts: Sequence[str]) -> np.ndarray:
    hits = np.zeros((len(texts), len(TEXT_KINDS)), dtype=bool)
    for i, text in enumerate(texts):
        for kind in rules.detect_rules(text):
            hits[i, TEXT_KINDS.index(kind)] = True
    return hits


def label_matrix(rows: Sequence[LabelledText]) -> np.ndarray:
    return np.array([[kind in row.labels for kind in TEXT_KINDS] for row in rows], dtype=bool)


def out_of_fold(
    rows: Sequence[LabelledText], config: text_model.TrainingConfig, k: int = FOLDS
) -> tuple[OutOfFold, list[text_model.TextModel]]:
    folds = grouped_folds(rows, k)
    texts = [row.text for row in rows]
    logits = np.zeros((len(rows), len(TEXT_KINDS)))
    models = []
    for fold in folds:
        held_out = set(fold)
        train_rows = [row for i, row in enumerate(rows) if i not in held_out]
        fold_model = text_model.train(
            [r.text for r in train_rows], [r.labels for r in train_rows], config
        )
        models.append(fold_model)
        for i in fold:
            logits[i] = fold_model.logits(texts[i])
    return OutOfFold(logits, rule_hits(texts), folds), models


def fit_combine(logits: np.ndarray, hits: np.ndarray, y: np.ndarray) -> dict[str, dict]:
    """Per kind: calibrated log-odds = model·logit + rule·hit + bias (Platt scaling with the
    rules as a second input), fitted on out-of-fold predictions."""
    from sklearn.linear_model import LogisticRegression

    combine = {}
    for j, kind in enumerate(TEXT_KINDS):
        x = np.column_stack([logits[:, j], hits[:, j].astype(float)])
        if y[:, j].min() == y[:, j].max():
            combine[kind] = {"model": 1.0, "rule": 0.0, "bias": 0.0}
            continue
        fitted = LogisticRegression(C=10.0, max_iter=1000).fit(x, y[:, j])
        combine[kind] = {
            "model": round(float(fitted.coef_[0][0]), 6),
            "rule": round(float(fitted.coef_[0][1]), 6),
            "bias": round(float(fitted.intercept_[0]), 6),
        }
    return combine


def calibrated(logits: np.ndarray, hits: np.ndarray, combine: dict[str, dict]) -> np.ndarray:
    out = np.zeros_like(logits)
    for j, kind in enumerate(TEXT_KINDS):
        c = combine[kind]
        out[:, j] = c["model"] * logits[:, j] + c["rule"] * hits[:, j] + c["bias"]
    return 1.0 / (1.0 + np.exp(-out))


def _precision_recall(scores: np.ndarray, y: np.ndarray, t: float) -> tuple[float, float]:
    predicted = scores >= t
    tp = int((predicted & y).sum())
    precision = tp / predicted.sum() if predicted.any() else 1.0
    recall = tp / y.sum() if y.any() else 1.0
    return precision, recall


def choose_thresholds(probabilities: np.ndarray, y: np.ndarray) -> dict[str, dict[str, float]]:
    """Per kind ``{"confident": t, "ask": t}`` read off out-of-fold confidences."""
    thresholds: dict[str, dict[str, float]] = {}
    moment_only = (
        y[:, [TEXT_KINDS.index(k) for k in MOMENT_KINDS]].any(axis=1)
        & ~y[:, TEXT_KINDS.index(COMPLAINT)]
    )
    for j, kind in enumerate(TEXT_KINDS):
        scores, truth = probabilities[:, j], y[:, j]
        if kind == COMPLAINT:
            false_on_moments = [
                float((scores[moment_only] >= t).mean()) if moment_only.any() else 0.0
                for t in _GRID
            ]
            recalls = [_precision_recall(scores, truth, t)[1] for t in _GRID]
            allowed = [
                t
                for t, fm in zip(_GRID, false_on_moments, strict=True)
                if fm <= COMPLAINT_MAX_FALSE_ON_MOMENTS
            ]
            floor = min(allowed) if allowed else 0.5
            confident = max(
                [t for t, r in zip(_GRID, recalls, strict=True) if r >= COMPLAINT_CONFIDENT_RECALL]
                or [floor]
            )
            ask = max(
                [t for t, r in zip(_GRID, recalls, strict=True) if r >= COMPLAINT_ASK_RECALL]
                or [_GRID[0]]
            )
            confident = max(confident, floor)
            thresholds[kind] = {"confident": float(confident), "ask": float(min(ask, confident))}
            continue
        precisions = [_precision_recall(scores, truth, t)[0] for t in _GRID]
        confident = next(
            (t for t, p in zip(_GRID, precisions, strict=True) if p >= CONFIDENT_PRECISION), 0.5
        )
        ask = next((t for t, p in zip(_GRID, precisions, strict=True) if p >= ASK_PRECISION), 0.5)
        thresholds[kind] = {"confident": float(confident), "ask": float(min(ask, confident))}
    return thresholds


def data_digest(rows: Sequence[LabelledText]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(row.text.encode())
        h.update(";".join(sorted(row.labels)).encode())
        h.update(row.style.encode())
    return h.hexdigest()[:16]


def fit(
    rows: Sequence[LabelledText], config: text_model.TrainingConfig | None = None
) -> tuple[text_model.TextModel, OutOfFold, list[text_model.TextModel]]:
    """The shipped model: trained on every row, calibrated and thresholded out of fold.
    Also returns the out-of-fold predictions and the fold models (for evaluation)."""
    config = config or text_model.TrainingConfig()
    oof, fold_models = out_of_fold(rows, config)
    y = label_matrix(rows)
    combine = fit_combine(oof.logits, oof.rule_hits, y)
    thresholds = choose_thresholds(calibrated(oof.logits, oof.rule_hits, combine), y)
    final = text_model.train(
        [row.text for row in rows],
        [row.labels for row in rows],
        config,
        meta={
            "combine": combine,
            "thresholds": thresholds,
            "trained_on": {"rows": len(rows), "digest": data_digest(rows)},
        },
    )
    return final, oof, fold_models


def with_calibration(
    base: text_model.TextModel, combine: dict, thresholds: dict
) -> text_model.TextModel:
    """A fold model carrying calibration fitted without its held-out rows."""
    return text_model.TextModel(
        kinds=base.kinds,
        config=base.config,
        columns=base.columns,
        weights=base.weights,
        intercepts=base.intercepts,
        meta={**base.meta, "combine": combine, "thresholds": thresholds},
    )


def cross_fitted_models(
    rows: Sequence[LabelledText], oof: OutOfFold, fold_models: list[text_model.TextModel]
) -> list[text_model.TextModel]:
    """Each fold's model with calibration and thresholds fitted on the *other* folds'
    out-of-fold predictions, so the held-out fold is scored as unseen text end to end."""
    y = label_matrix(rows)
    out = []
    for fold, base in zip(oof.folds, fold_models, strict=True):
        others = np.setdiff1d(np.arange(len(rows)), fold)
        combine = fit_combine(oof.logits[others], oof.rule_hits[others], y[others])
        probabilities = calibrated(oof.logits[others], oof.rule_hits[others], combine)
        out.append(with_calibration(base, combine, choose_thresholds(probabilities, y[others])))
    return out
