"""The example CSV files (examples/csv/), dated from today when loaded.

The files are written as of one day, ANCHOR: their last visit is the day
before it, a permission falls due a few weeks after. Loaded as they are a year
later, every client would be "late" and "15 months ago" on a new user's first
Today. So when the examples are loaded — `rapport load_examples`, or the
"Try the example files" button of the import page — every date in them moves
by the same number of days, today − ANCHOR, and the story they tell keeps its
shape: the same gaps, the same things due, relative to the day you look.
"""

import datetime as dt
import re
from pathlib import Path

from django.conf import settings

# The "today" the example files were written for. Change it with the files.
ANCHOR = dt.date(2025, 11, 20)
DIRECTORY = Path(settings.BASE_DIR) / "examples" / "csv"
# An ISO date standing alone in a cell: never part of a longer number.
_DATE = re.compile(rb"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")


def shift_dates(data: bytes, days: int) -> bytes:
    """Every YYYY-MM-DD in the file moved by `days`; anything else as it was."""

    def move(match: re.Match) -> bytes:
        try:
            day = dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            return match.group(0)  # not a real date: leave it for the import to name
        return (day + dt.timedelta(days=days)).isoformat().encode()

    return _DATE.sub(move, data)


def files(today: dt.date, directory: Path = DIRECTORY) -> list[tuple[str, bytes]]:
    """(name, content) of each example file, dated as of `today`."""
    days = (today - ANCHOR).days
    return [
        (path.name, shift_dates(path.read_bytes(), days))
        for path in sorted(directory.glob("*.csv"))
    ]
