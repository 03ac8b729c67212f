"""A workspace's own layer: what its people confirmed or dismissed shifts its readings.

``train_workspace_model(labels)`` turns a workspace's answers ("this note sounds like
praise — right?" → yes / no) into a JSON-serialisable dict; ``read(text, that_dict)`` applies
it. Nothing is shared across workspaces: the dict is built from one workspace's labels and
is passed in by the caller for that workspace only.

Two parts:

* **answers** — the exact sentence a person answered about (normalised) is read as they
  said, every time: a dismissed "cheers for nothing" stays dismissed.
* **adjustment** — per kind, a logistic regression over the same hashed n-grams whose
  starting point is the shipped reading (its log-odds are the offset), strongly regularised
  towards no change, so a handful of answers nudges similar sentences without overturning
  the shipped model on everything else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rapport.agenda.reading import features
from rapport.agenda.reading.kinds import TEXT_KINDS

FORMAT_VERSION = 1
# L2 strength pulling the adjustment towards zero (no change from the shipped reading).
REGULARISATION = 1.0
# Log-odds given to a sentence a person has answered about: ~0.9997 or ~0.0003.
ANSWERED_LOGIT = 8.0


def _key(text: str) -> str:
    return hashlib.sha256(features.normalise(text).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class WorkspaceLayer:
    answers: Mapping[str, Mapping[str, bool]]
    # kind -> (bias, sorted columns, weights)
    adjustments: Mapping[str, tuple[float, np.ndarray, np.ndarray]]
    n_features: int

    @classmethod
    def from_json(cls, data: Mapping) -> WorkspaceLayer:
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"workspace model format {data.get('format')!r} is not supported")
        adjustments = {
            kind: (
                float(part["bias"]),
                np.asarray(part["columns"], dtype=np.int64),
                np.asarray(part["weights"], dtype=np.float64),
            )
            for kind, part in data.get("kinds", {}).items()
        }
        return cls(
            answers=data.get("answers", {}),
            adjustments=adjustments,
            n_features=int(data["n_features"]),
        )

    def adjust(
        self, text: str, logits: Sequence[float], kinds: Sequence[str]
    ) -> dict[str, Callable[[float], float]]:
        """Kind -> how this workspace changes that kind's combined log-odds for ``text``."""
        changes: dict[str, Callable[[float], float]] = {}
        answered = self.answers.get(_key(text), {})
        for kind, is_yes in answered.items():
            changes[kind] = lambda _, v=is_yes: ANSWERED_LOGIT if v else -ANSWERED_LOGIT
        pending = [k for k in self.adjustments if k not in changes]
        if pending:
            columns, values = features.hashed(text, self.n_features)
            for kind in pending:
                bias, known, weights = self.adjustments[kind]
                rows = np.searchsorted(known, columns)
                rows = np.minimum(rows, max(len(known) - 1, 0))
                hit = known[rows] == columns if len(known) else np.zeros(len(columns), bool)
                shift = bias + float(values[hit] @ weights[rows[hit]]) if len(known) else bias
                changes[kind] = lambda logit, s=shift: logit + s
        return changes


def train_workspace_model(
    labels: Iterable[tuple[str, str, bool]],
    *,
    model=None,
) -> dict:
    """Fit a workspace's layer from its ``(text, kind, is_yes)`` answers, oldest first.

    Returns a JSON-serialisable dict (no pickle) for ``read(text, workspace_model=...)``.
    A later answer about the same sentence and kind replaces an earlier one. An unknown
    kind is an error; a blank text is skipped (there is nothing to learn from it).
    """
    from scipy.optimize import minimize

    from rapport.agenda.reading.model import shipped
    from rapport.agenda.reading.reader import combined_logit
    from rapport.agenda.reading.rules import sentence_kinds, split_sentences

    model = model if model is not None else shipped()
    if model is None:
        raise RuntimeError(
            "the text model's weights are missing: run `python -m rapport.agenda.text train`"
        )
    latest: dict[tuple[str, str], tuple[str, bool]] = {}
    for text, kind, is_yes in labels:
        if kind not in TEXT_KINDS:
            raise ValueError(f"unknown kind {kind!r} (expected one of {', '.join(TEXT_KINDS)})")
        if not text or not text.strip():
            continue
        latest[(_key(text), kind)] = (text, bool(is_yes))
    answers: dict[str, dict[str, bool]] = {}
    for (key, kind), (_, is_yes) in latest.items():
        answers.setdefault(key, {})[kind] = is_yes

    kinds_out: dict[str, dict] = {}
    for kind in TEXT_KINDS:
        rows = [(text, is_yes) for (_, k), (text, is_yes) in latest.items() if k == kind]
        if not rows:
            continue
        j = model.kinds.index(kind)
        offsets = np.empty(len(rows))
        for i, (text, _) in enumerate(rows):
            hit = any(kind in sentence_kinds(s) for s in split_sentences(text))
            logit = float(model.logits(text)[j])
            offsets[i] = combined_logit(logit, hit, model.meta["combine"][kind])
        x = features.design_matrix([t for t, _ in rows], model.config.n_features, with_rules=False)
        used = np.unique(x.indices)
        x = x[:, used].tocsr()
        y = np.array([1.0 if is_yes else -1.0 for _, is_yes in rows])

        def loss(params: np.ndarray, x=x, y=y, offsets=offsets) -> tuple[float, np.ndarray]:
            w, b = params[:-1], params[-1]
            margin = y * (offsets + x @ w + b)
            value = np.logaddexp(0.0, -margin).sum() + 0.5 * REGULARISATION * params @ params
            slope = -y / (1.0 + np.exp(margin))
            grad = np.concatenate([x.T @ slope, [slope.sum()]]) + REGULARISATION * params
            return float(value), grad

        result = minimize(loss, np.zeros(len(used) + 1), jac=True, method="L-BFGS-B")
        weights = result.x[:-1]
        keep = np.abs(weights) > 1e-6
        kinds_out[kind] = {
            "bias": round(float(result.x[-1]), 6),
            "columns": used[keep].tolist(),
            "weights": [round(float(w), 6) for w in weights[keep]],
        }
    return {
        "format": FORMAT_VERSION,
        "model": model.digest,
        "n_features": model.config.n_features,
        "labels": len(latest),
        "answers": answers,
        "kinds": kinds_out,
    }
