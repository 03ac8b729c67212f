"""Reading activity text for moments and complaints: the public names callers import.

The reading itself lives in ``rapport.agenda.reading`` (rules, learned layer, confidence,
per-workspace layer); this module keeps the names existing callers use, and the command:

    python -m rapport.agenda.text train      # refit the learned layer from the labelled data
    python -m rapport.agenda.text evaluate   # per-kind precision/recall with 95% intervals
"""

from __future__ import annotations

from rapport.agenda.reading import (
    COMPLAINT,
    EVIDENCE_MAX_CHARS,
    MAX_INPUT_CHARS,
    MOMENT_KINDS,
    PARTNER_ASSOCIATION,
    PRAISE,
    REFERRAL,
    SAVED_US,
    TESTIMONIAL,
    TEXT_KINDS,
    Finding,
    Reading,
    detect,
    read,
    train_workspace_model,
)
from rapport.agenda.reading.cli import main

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
    "main",
    "read",
    "train_workspace_model",
]

if __name__ == "__main__":
    raise SystemExit(main())
