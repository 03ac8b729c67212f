"""Plain words for dates, gaps and rhythms, as an agenda item or a script
says them ("every month", "16 weeks", "21 November").

Cached: a morning refresh words tens of thousands of gaps and rhythms, but
only a few hundred distinct ones.
"""

import datetime as dt
import functools


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def since(days: float, rhythm: float | None = None) -> str:
    """A gap in plain words, in the same unit as the rhythm it breaks:
    "every 5 weeks; nothing for 16 weeks" reads better than "4 months"."""
    return _gap(int(days), rhythm is not None and rhythm < 60)


@functools.cache
def _gap(days: int, in_weeks: bool) -> str:
    if in_weeks and days < 365:
        return plural(round(days / 7), "week")
    if days < 60:
        return plural(days, "day")
    if days < 730:
        return plural(round(days / 30.4), "month")
    return f"{days / 365.25:.1f} years"


def every(days: float) -> str:
    """A rhythm: "every 10 days", "every 6 weeks", "every month"."""
    return _every(round(days))


@functools.cache
def _every(days: int) -> str:
    if days <= 1:
        return "every day"
    if 6 <= days <= 8:
        return "every week"
    if days < 13:
        return f"every {days} days"
    if 28 <= days <= 33:
        return "every month"  # what people call monthly; five weeks is five weeks
    if days < 46:
        return f"every {round(days / 7)} weeks"
    months = round(days / 30.4)
    if months == 1:
        return "every month"
    if months == 12:
        return "every year"
    if months % 12 == 0:
        return f"every {months // 12} years"
    return f"every {months} months"


def and_list(names: list[str]) -> str:
    """ "Ann", "Ann and Bob", "Ann, Bob and Cy"."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def spoken(day: dt.date, today: dt.date) -> str:
    """A date as said aloud in a script: "21 November" (with the year when it
    is not this year's)."""
    text = f"{day.day} {day:%B}"
    return text if day.year == today.year else f"{text} {day.year}"


def article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def clip(text: str, limit: int) -> str:
    """Text cut to at most `limit` characters at a word boundary, with "…"
    when cut, and no trailing full stop (a script quotes it mid-sentence)."""
    text = " ".join(text.split())
    if len(text) > limit:
        cut = text[: limit - 1]
        if " " in cut and not text[limit - 1].isspace():
            cut = cut.rsplit(" ", 1)[0]
        return cut.rstrip(" ,;:.-—") + "…"
    return text.rstrip(". ")
