"""Reading free text for moments and complaints: rules, a learned layer, and confidence.

``read(text, workspace_model=None) -> Reading`` is the full answer (per kind: evidence,
confidence, confident or to confirm); ``detect(text)`` keeps the older ``{kind: evidence}``
shape with the confident findings only. ``train_workspace_model`` builds a workspace's own
layer from its people's confirmations. See docs/moment-detection.md.
"""

from __future__ import annotations

from rapport.agenda.reading.kinds import (
    COMPLAINT,
    MOMENT_KINDS,
    PARTNER_ASSOCIATION,
    PRAISE,
    REFERRAL,
    SAVED_US,
    TESTIMONIAL,
    TEXT_KINDS,
)
from rapport.agenda.reading.reader import Finding, Reading, detect, read
from rapport.agenda.reading.rules import EVIDENCE_MAX_CHARS, MAX_INPUT_CHARS
from rapport.agenda.reading.workspace import train_workspace_model

__all__ = [
    "COMPLAINT",
    "EVIDENCE_MAX_CHARS",
    "MAX_INPUT_CHARS",
    "MOMENT_KINDS",
    "PARTNER_ASSOCIATION",
    "PRAISE",
    "REFERRAL",
    "SAVED_US",
    "TESTIMONIAL",
    "TEXT_KINDS",
    "Finding",
    "Reading",
    "detect",
    "read",
    "train_workspace_model",
]
