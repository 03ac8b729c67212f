"""The learned layer: one logistic regression per kind over hashed n-grams and the rule
layer's reading of the same sentence.

The weights are data, not code: ``weights.npz`` beside this module holds plain arrays (no
pickle), written by ``python -m rapport.agenda.text train`` from the labelled sentences, and
read lazily once per process. Training is deterministic (L-BFGS from zero, fixed column
hashing, the file written with fixed zip timestamps), so the same data gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from rapport.agenda.reading import features
from rapport.agenda.reading.kinds import TEXT_KINDS

logger = logging.getLogger(__name__)
WEIGHTS_PATH = Path(__file__).with_name("weights.npz")
FORMAT_VERSION = 1


@dataclass(frozen=True)
class TrainingConfig:
    n_features: int = 2**19
    with_rules: bool = True
    # Inverse L2 strength; chosen by grouped cross-validation (docs/moment-detection.md).
    c: float = 8.0
    balanced: bool = True


@dataclass(frozen=True, eq=False)
class TextModel:
    """Weights of the per-kind logistic regressions, stored sparse (unseen columns are 0)."""

    kinds: tuple[str, ...]
    config: TrainingConfig
    columns: np.ndarray  # int64, sorted: columns with any non-zero weight
    weights: np.ndarray  # float32, (len(columns), len(kinds))
    intercepts: np.ndarray  # float32, (len(kinds),)
    meta: dict = field(default_factory=dict)

    def logits(self, text: str, rule_vector: np.ndarray | None = None) -> np.ndarray:
        """Per-kind log-odds of ``text`` (one sentence or short message). ``rule_vector``
        is ``features.rule_vector(text)`` when the caller has already read the rules."""
        columns, values = features.hashed(text, self.config.n_features)
        if self.config.with_rules:
            extra = np.arange(len(features.RULE_FEATURES)) + self.config.n_features
            columns = np.concatenate([columns, extra])
            if rule_vector is None:
                rule_vector = features.rule_vector(text)
            values = np.concatenate([values, rule_vector])
        rows = self._row_of[columns]
        known = rows >= 0
        return self.intercepts + values[known] @ self.weights[rows[known]]

    @cached_property
    def _row_of(self) -> np.ndarray:
        # Column -> row of ``weights`` (-1: no weight), a direct lookup for every reading.
        size = self.config.n_features + len(features.RULE_FEATURES)
        row_of = np.full(size, -1, dtype=np.int32)
        row_of[self.columns] = np.arange(len(self.columns), dtype=np.int32)
        return row_of

    def probabilities(self, text: str) -> dict[str, float]:
        scores = 1.0 / (1.0 + np.exp(-self.logits(text)))
        return dict(zip(self.kinds, (float(s) for s in scores), strict=True))

    @property
    def digest(self) -> str:
        """Identifies these weights (a workspace layer records which model it adjusted)."""
        h = hashlib.sha256(self.columns.tobytes())
        h.update(self.weights.tobytes())
        h.update(self.intercepts.tobytes())
        return h.hexdigest()[:16]

    # --- storage -----------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write a ``.npz`` that ``numpy.load(allow_pickle=False)`` reads; same model, same
        bytes (numpy's own savez stamps the current time into the zip)."""
        header = {
            "format": FORMAT_VERSION,
            "kinds": list(self.kinds),
            "config": {
                "n_features": self.config.n_features,
                "with_rules": self.config.with_rules,
                "c": self.config.c,
                "balanced": self.config.balanced,
            },
            "rule_features": list(features.RULE_FEATURES),
            "features": {k: list(v) for k, v in features.FEATURES_SPEC.items()},
            "meta": self.meta,
        }
        arrays = {
            "header": np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8),
            # int32 columns and float16 weights: half the file, and a reading moves by
            # less than 0.001 in confidence (weights need ~3 significant digits).
            "columns": self.columns.astype(np.int32),
            "weights": self.weights.astype(np.float16),
            "intercepts": self.intercepts.astype(np.float32),
        }
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, array, allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> TextModel:
        with np.load(path, allow_pickle=False) as stored:
            header = json.loads(bytes(stored["header"]).decode())
            if header.get("format") != FORMAT_VERSION:
                raise ValueError(f"{path}: weights format {header.get('format')} is not supported")
            spec = {k: list(v) for k, v in features.FEATURES_SPEC.items()}
            if tuple(header["rule_features"]) != features.RULE_FEATURES or (
                header.get("features") != spec
            ):
                raise ValueError(f"{path}: trained on other rule features; retrain the model")
            return cls(
                kinds=tuple(header["kinds"]),
                config=TrainingConfig(**header["config"]),
                columns=stored["columns"].astype(np.int64),
                weights=stored["weights"].astype(np.float32),
                intercepts=stored["intercepts"],
                meta=header["meta"],
            )


def train(
    texts: Sequence[str],
    labels: Sequence[frozenset[str]],
    config: TrainingConfig | None = None,
    kinds: Sequence[str] = TEXT_KINDS,
    meta: dict | None = None,
) -> TextModel:
    """Fit one binary logistic regression per kind (scikit-learn's L-BFGS, from zero)."""
    from sklearn.linear_model import LogisticRegression

    config = config or TrainingConfig()
    x = features.design_matrix(texts, config.n_features, with_rules=config.with_rules)
    # Fit only the columns some training text has: the rest would get zero weight anyway.
    seen = np.unique(x.indices)
    x = x[:, seen].tocsr()
    coef = np.zeros((len(seen), len(kinds)), dtype=np.float64)
    intercepts = np.zeros(len(kinds), dtype=np.float64)
    for j, kind in enumerate(kinds):
        y = np.fromiter((kind in row for row in labels), dtype=np.int8, count=len(labels))
        if y.min() == y.max():
            intercepts[j] = 8.0 if y[0] else -8.0  # every row agrees: a constant
            continue
        # liblinear's primal Newton solver: deterministic, and the fastest here.
        classifier = LogisticRegression(
            C=config.c,
            class_weight="balanced" if config.balanced else None,
            solver="liblinear",
            random_state=0,
            max_iter=1000,
            tol=1e-5,
        )
        classifier.fit(x, y)
        coef[:, j] = classifier.coef_[0]
        intercepts[j] = classifier.intercept_[0]
    used = np.flatnonzero(np.abs(coef).max(axis=1) > 1e-6)
    return TextModel(
        kinds=tuple(kinds),
        config=config,
        columns=seen[used].astype(np.int64),
        weights=coef[used].astype(np.float32),
        intercepts=intercepts.astype(np.float32),
        meta=dict(meta or {}),
    )


@cache
def shipped() -> TextModel | None:
    """The model trained from the project's labelled sentences, read once; None when the
    weights file is missing (a broken install), so the rules still read text alone."""
    if not WEIGHTS_PATH.exists():
        logger.warning("%s is missing: text is read by the rules alone", WEIGHTS_PATH)
        return None
    return TextModel.load(WEIGHTS_PATH)
