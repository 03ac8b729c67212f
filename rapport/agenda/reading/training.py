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
# A confident moment is acted on (an ask is proposed) with nobody checking: 9 in 10 must
# be right, and no kind may be read confidently in more than 1 in 100 neutral notes (with
# 0.80 and no such cap, grouped CV read a confident moment in 11% of neutral sentences).
CONFIDENT_PRECISION = 0.90
CONFIDENT_MAX_ON_NEUTRAL = 0.01
# A moment to confirm costs a person a click: at least every other one must be right, and
# no kind may ask about more than this share of neutral notes.
ASK_PRECISION = 0.50
ASK_MAX_ON_NEUTRAL = 0.05
# Complaints hold asks, so they are read for recall, bounded by what a false complaint
# costs: the share of moment-only sentences (praise, a referral…) it would hold. A
# confident complaint holds the ask silently; one to confirm holds it until dismissed.
COMPLAINT_CONFIDENT_MAX_ON_MOMENTS = 0.05
COMPLAINT_ASK_MAX_ON_MOMENTS = 0.12
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
    """Per kind ``{"confident": t, "ask": t}``: the lowest thresholds on the out-of-fold
    confidences that meet the limits above (the module's constants)."""
    thresholds: dict[str, dict[str, float]] = {}
    moment_columns = [TEXT_KINDS.index(k) for k in MOMENT_KINDS]
    complaint_column = TEXT_KINDS.index(COMPLAINT)
    moment_only = y[:, moment_columns].any(axis=1) & ~y[:, complaint_column]
    neutral = ~y.any(axis=1)

    def share(scores: np.ndarray, rows: np.ndarray, t: float) -> float:
        return float((scores[rows] >= t).mean()) if rows.any() else 0.0

    def lowest(ok) -> float:
        return float(next((t for t in _GRID if ok(t)), _GRID[-1]))

    for j, kind in enumerate(TEXT_KINDS):
        scores, truth = probabilities[:, j], y[:, j]
        if kind == COMPLAINT:
            confident = lowest(
                lambda t, s=scores: share(s, moment_only, t) <= COMPLAINT_CONFIDENT_MAX_ON_MOMENTS
            )
            ask = lowest(
                lambda t, s=scores: share(s, moment_only, t) <= COMPLAINT_ASK_MAX_ON_MOMENTS
            )
        else:
            confident = lowest(
                lambda t, s=scores, y_=truth: (
                    _precision_recall(s, y_, t)[0] >= CONFIDENT_PRECISION
                    and share(s, neutral, t) <= CONFIDENT_MAX_ON_NEUTRAL
                )
            )
            ask = lowest(
                lambda t, s=scores, y_=truth: (
                    _precision_recall(s, y_, t)[0] >= ASK_PRECISION
                    and share(s, neutral, t) <= ASK_MAX_ON_NEUTRAL
                )
            )
        thresholds[kind] = {"confident": confident, "ask": min(ask, confident)}
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


def compare_candidates(
    rows: Sequence[LabelledText], with_embeddings: bool = True, c: float = 8.0
) -> dict[str, dict[str, float]]:
    """Out-of-fold average precision per kind of each candidate, on the same grouped folds:
    the rules alone (their hits as scores), n-grams, n-grams with the rule features, and
    (when wordllama is installed) its static embeddings, with and without the rules."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score

    from rapport.agenda.reading import features

    texts = [row.text for row in rows]
    y = label_matrix(rows)
    folds = grouped_folds(rows, FOLDS)
    ngrams = features.design_matrix(texts, text_model.TrainingConfig().n_features, with_rules=False)
    rule_columns = np.array([features.rule_vector(t) for t in texts])
    candidates = {
        "n-grams": ngrams,
        "n-grams + rule features (shipped)": sparse.hstack([ngrams, rule_columns]).tocsr(),
    }
    if with_embeddings:
        vectors = features.embeddings(texts)
        candidates["wordllama l2_supercat_256"] = vectors
        candidates["wordllama + rule features"] = np.hstack([vectors, rule_columns])

    def average_precision(scores: np.ndarray) -> dict[str, float]:
        return {
            kind: float(average_precision_score(y[:, j], scores[:, j]))
            for j, kind in enumerate(TEXT_KINDS)
        }

    table = {"rules alone": average_precision(rule_hits(texts).astype(float))}
    for name, x in candidates.items():
        x = sparse.csr_matrix(x)
        scores = np.zeros(y.shape)
        for fold in folds:
            held_out = np.asarray(fold)
            train_rows = np.setdiff1d(np.arange(len(rows)), held_out)
            for j in range(len(TEXT_KINDS)):
                fitted = LogisticRegression(
                    C=c, class_weight="balanced", solver="liblinear", random_state=0, tol=1e-5
                ).fit(x[train_rows], y[train_rows, j])
                scores[held_out, j] = fitted.decision_function(x[held_out])
        table[name] = average_precision(scores)
    return table
