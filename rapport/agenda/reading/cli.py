"""``python -m rapport.agenda.text train|evaluate``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print("usage: python -m rapport.agenda.text {train,evaluate} ...", file=sys.stderr)
    return 2
