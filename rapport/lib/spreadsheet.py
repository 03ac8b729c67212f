"""Cells that a spreadsheet shows and never runs (CSV injection, OWASP)."""

FORMULA_START = ("=", "+", "-", "@")


def csv_safe(value) -> str:
    """A cell a spreadsheet will not run: text that could start a formula
    (= + - @, also after leading spaces, or a tab or carriage return first)
    gets a leading quote."""
    text = "" if value is None else str(value)
    if text[:1] in ("\t", "\r") or text.lstrip()[:1] in FORMULA_START:
        return "'" + text
    return text
