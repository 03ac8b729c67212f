"""Reading a text: rules and the learned layer combined, with a confidence per kind.

Each sentence is scored by the learned layer (which also sees what the rules found in it);
the rule layer's hits are combined with it by a small calibration fitted on held-out
predictions (``combine`` in the weights' metadata), so that a confidence of 0.8 means about
8 in 10 such readings were right on sentences the model had not been trained on.

Two thresholds per kind turn a confidence into an action:

* ``confident``: acted on without asking (what ``detect`` returns, what the agenda uses);
* ``ask``: shown to a person to confirm ("this note sounds like praise — right?");

below ``ask`` nothing is reported. A complaint wins: a complaint read in a sentence, even
one that needs confirmation, removes praise read in that same sentence, and any complaint
in the note (``Reading.blocks_asks``) holds every ask until a person dismisses it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from rapport.agenda.reading import features, rules
from rapport.agenda.reading.kinds import COMPLAINT, MOMENT_KINDS, PRAISE, TEXT_KINDS
from rapport.agenda.reading.model import TextModel, shipped
from rapport.agenda.reading.workspace import WorkspaceLayer

# Used only when the weights file is missing: the rules alone, each hit taken as confident.
_RULES_ONLY_CONFIDENCE = 0.9
_RULES_ONLY_THRESHOLDS = dict.fromkeys(TEXT_KINDS, {"confident": 0.5, "ask": 0.5})


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    evidence: str  # an exact substring of the text read
    confidence: float  # 0-1
    confident: bool  # False: a person should confirm it before it is acted on
    source: str  # "rules", "model", "rules+model", or "workspace" (a person's earlier answer)

    @property
    def needs_confirmation(self) -> bool:
        return not self.confident

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "evidence": self.evidence,
            "confidence": round(self.confidence, 3),
            "confident": self.confident,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Reading:
    """Per kind, the most confident finding in the text (``TEXT_KINDS`` order)."""

    findings: tuple[Finding, ...] = ()

    def get(self, kind: str) -> Finding | None:
        return next((f for f in self.findings if f.kind == kind), None)

    @property
    def confident(self) -> dict[str, str]:
        """``{kind: evidence}`` of what can be acted on without asking (``detect``'s answer)."""
        return {f.kind: f.evidence for f in self.findings if f.confident}

    @property
    def to_confirm(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if not f.confident)

    @property
    def complaint(self) -> Finding | None:
        return self.get(COMPLAINT)

    @property
    def blocks_asks(self) -> bool:
        """A complaint, confident or not: an open problem holds every ask until dismissed."""
        return self.complaint is not None

    @property
    def moments(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind in MOMENT_KINDS)

    def as_dict(self) -> dict:
        return {"findings": [f.as_dict() for f in self.findings]}


@dataclass(frozen=True, slots=True)
class _Scored:
    confidence: float
    evidence: str
    source: str
    held: bool = False  # a possible complaint in the same sentence: never confident


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, x))))


def combined_logit(model_logit: float, rule_hit: bool, params: Mapping[str, float]) -> float:
    """Calibrated log-odds from the model's log-odds and whether the rules fired."""
    return params["model"] * model_logit + params["rule"] * float(rule_hit) + params["bias"]


def _score_sentence(
    sentence: rules.Sentence,
    model: TextModel | None,
    workspace: WorkspaceLayer | None,
) -> dict[str, _Scored]:
    rule_hits = rules.sentence_kinds(sentence)
    scored: dict[str, _Scored] = {}
    if model is None:
        for kind, offset in rule_hits.items():
            scored[kind] = _Scored(
                _RULES_ONLY_CONFIDENCE, rules.evidence(sentence, offset), "rules"
            )
        return scored
    logits = model.logits(sentence.text, features.rule_vector_of([sentence], [rule_hits]))
    combine = model.meta["combine"]
    adjusted = workspace.adjust(sentence.text, logits, model.kinds) if workspace else {}
    for j, kind in enumerate(model.kinds):
        hit = kind in rule_hits
        logit = combined_logit(float(logits[j]), hit, combine[kind])
        source = "rules+model" if hit else "model"
        if kind in adjusted:
            logit, source = adjusted[kind](logit), "workspace"
        offset = rule_hits.get(kind, 0)
        scored[kind] = _Scored(_sigmoid(logit), rules.evidence(sentence, offset), source)
    return scored


def read(
    text: str,
    workspace_model: Mapping | WorkspaceLayer | None = None,
    *,
    model: TextModel | None = None,
) -> Reading:
    """Read ``text`` for moments and complaints, with a confidence for each kind found.

    ``workspace_model`` is what ``train_workspace_model`` returned for this workspace (its own
    confirmed and dismissed readings); it shifts the reading for that workspace only.
    ``model`` replaces the shipped weights (cross-validation passes the fold's model).
    """
    if not text or not text.strip():
        return Reading()
    model = model if model is not None else shipped()
    layer = (
        workspace_model
        if isinstance(workspace_model, WorkspaceLayer) or workspace_model is None
        else WorkspaceLayer.from_json(workspace_model)
    )
    thresholds = model.meta["thresholds"] if model is not None else _RULES_ONLY_THRESHOLDS
    complaint_limits = thresholds[COMPLAINT]
    best: dict[str, _Scored] = {}
    for sentence in rules.split_sentences(text[: rules.MAX_INPUT_CHARS]):
        scored = _score_sentence(sentence, model, layer)
        complaint = scored.get(COMPLAINT)
        if complaint and PRAISE in scored:
            # A complaint wins over praise in the same sentence ("lovely staff but I waited
            # an hour"): a confident one removes it, a possible one keeps it from being acted
            # on until a person has looked.
            if complaint.confidence >= complaint_limits["confident"]:
                del scored[PRAISE]
            elif complaint.confidence >= complaint_limits["ask"]:
                praise = scored[PRAISE]
                scored[PRAISE] = _Scored(praise.confidence, praise.evidence, praise.source, True)
        for kind, found in scored.items():
            # The sentence to show is the one that can be acted on, then the surest.
            if kind not in best or (not found.held, found.confidence) > (
                not best[kind].held,
                best[kind].confidence,
            ):
                best[kind] = found
    findings = []
    for kind in TEXT_KINDS:
        found = best.get(kind)
        if found is None or found.confidence < thresholds[kind]["ask"]:
            continue
        findings.append(
            Finding(
                kind=kind,
                evidence=found.evidence,
                confidence=found.confidence,
                confident=found.confidence >= thresholds[kind]["confident"] and not found.held,
                source=found.source,
            )
        )
    return Reading(tuple(findings))


def detect(text: str) -> dict[str, str]:
    """``{kind: evidence}`` of every kind read confidently in ``text``.

    Evidence is the triggering sentence (or a window of it around the cue), at most about
    120 characters and always a substring of the input, so it can be shown as the "why" of an
    agenda item. Readings that need a person's confirmation are in ``read(text).to_confirm``.
    """
    return read(text).confident
