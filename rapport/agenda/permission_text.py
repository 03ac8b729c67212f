"""Permissions read from words: "ask me again in three months" proposes a permission.

``propose_permission(text, on)`` finds a sentence where the client defers an ask ("ask me
again…", "check back…", "give me 90 days of results first", "happy to do a review after the
audit in March") and computes the date the words give, relative to ``on`` (the note's date).
A deferral without a date ("once the extension is finished") proposes a permission whose
date the user fills in. Time words alone ("the audit is in March", "recall in 6 months")
propose nothing, and neither does a refusal ("don't ask me again").

How time words become dates (chosen so a client is never asked earlier than they said):

* a duration is added to ``on`` ("in three months", "in a couple of weeks" = 14 days,
  "a few" = 3, "half a year", "a fortnight"); a range takes its later end ("60–90 days");
* a month or season is its next start on or after ``on`` ("in March", "in the spring" =
  1 March; "mid-" = the 15th, "late" = the 20th, "end of" = the last day); "after March"
  and "after the audit in March" are the first of the following month, "after … in early
  March" the 15th;
* "next week" is its Monday, "next month/quarter/year" their first day, "Q2" the quarter's
  first day, "the new year" and "after Christmas/the holidays" 2 January, "after the summer"
  1 September, "after Easter" Easter Monday, "after Thanksgiving" the day after;
* when a sentence holds several times, the latest wins.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from dateutil.easter import easter
from dateutil.relativedelta import MO, TH, relativedelta

from rapport.agenda.reading.rules import split_sentences

REFERRAL = "referral"
TESTIMONIAL = "testimonial"
BOTH = "both"


@dataclass(frozen=True, slots=True)
class Proposal:
    on: dt.date | None  # None: the words give no date; the user picks one
    kind: str  # referral | testimonial | both (PermissionKind's values)
    kind_stated: bool  # False: the words did not say which ask, so it is both
    evidence: str  # the sentence, an exact substring of the text
    when_words: str  # the time words the date came from ("" when undated)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# --- what defers an ask ------------------------------------------------------------------

_PRONOUN = r"(?:me|us|him|her|them)"
# A deferral on its own: the client asks to be asked (or contacted) later.
_DEFERRAL = _rx(
    r"\bask(?:ed|ing)?\s+(?:" + _PRONOUN + r"\s+)?(?:for\s+[\w\s]{1,30}?\s+)?(?:again|later)\b"
    r"|\bask\s+" + _PRONOUN + r"\s+(?=(?:in|after|on|at|when|once|next|around|by)\b)"
    r"|\b(?:check|circle|come|get|getting|coming)\s+back\b|\bcheck\s+in\s+with\b"
    r"|\bfollow(?:ing)?[- ]up\b|\brevisit\b|\bpick\s+(?:this|it|that)\s+up\s+again\b"
    r"|\btouch\s+base\b|\b(?:try|contact|reach out to|email|call|ring)\s+(?:me|us)\s+again\b"
    r"|\breach\s+out\s+again\b|\b(?:talk|speak)\s+(?:to\s+" + _PRONOUN + r"\s+)?again\b"
    r"|\b(?:ring|call|phone)\s+" + _PRONOUN + r"\s+back\b"
    r"|\b(?:text|ping|message|email|call|ring|phone|remind)\s+" + _PRONOUN + r"\b"
    r"|\bwait\s+(?:until|till|til)\b|\bprefer\s+to\s+wait\b|\bnot\s+(?:now|yet|just yet)\b"
    r"|\btoo\s+(?:early|soon)\b|\bdown\s+the\s+(?:line|road|track)\b"
    r"|\bgive\s+(?:me|us|it|them|him|her)\b(?=[^.!?]{0,40}\b(?:days?|weeks?|months?|years?|"
    r"fortnight|time)\b)|\blet\s+(?:me|us)\s+see\b|\bresults\s+first\b"
)
# "Let's talk / we can talk": a deferral only when the topic is an ask (or not said).
_TALK = _rx(r"\blet'?s\s+(?:talk|speak|chat|catch up)\b|\b(?:can|could)\s+(?:talk|chat)\b")
_OTHER_TOPIC = _rx(r"\b(?:about|re|regarding|on)\s+(?:the|your|our|my|an?|this|that)\s+\w+")
# An offer with a later time: "happy to do a review after the audit", "I'll write something".
_WILLING = _rx(
    r"\b(?:happy|glad|willing|keen|pleased)\s+to\b|\b(?:i|we|she|he|they)(?:'ll|\s+will|'d|"
    r"\s+would|\s+can|\s+could)\b|\bcan\s+talk\b"
)
# "Ask me for a testimonial" is a deferral when a time or a condition comes with it.
_ASK_PRONOUN = _rx(r"\bask\s+" + _PRONOUN + r"\b")
_REFUSAL = _rx(
    r"\b(?:don'?t|do\s+not|never|no\s+need\s+to|stop|please\s+don'?t|won'?t\s+need\s+to)\s+"
    r"(?:\w+\s+){0,2}?(?:ask|check|contact|call|ring|email|text|follow|chase|bother)\b"
)
_CONDITION = _rx(
    r"\b(?:once|when|after|as\s+soon\s+as|until|till)\s+(?:the|our|my|his|her|their|its|i|"
    r"i've|i'm|we|we've|we're|he|she|they|it|it's|things|everything|this|that)\b"
)

# --- which ask ----------------------------------------------------------------------------

_REFERRAL_WORDS = _rx(
    r"\brefer(?:s|red|ring|ral|rals)?\b|\bnames?\b|\bintroduc\w*|\bintros?\b|\bwho\s+else\b|"
    r"\bput\s+you\s+in\s+touch\b|\bpass\s+(?:on\s+)?(?:your|our)\s+(?:name|details|number)\b"
)
_TESTIMONIAL_WORDS = _rx(
    r"(?<!annual )(?<!performance )(?<!contract )\breviews?\b|\btestimonials?\b|\bcase\s+study\b|"
    r"\breference\b|\bquote\s+(?:me|us)\b|\bwrite\s+(?:you\s+)?(?:something|a\s+few\s+words)\b|"
    r"\bsay\s+a\s+few\s+words\b|\bstars?\b|\bendorse\w*"
)

# --- time words -----------------------------------------------------------------------------

_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "couple": 2,
    "couple of": 2,
    "a couple": 2,
    "a couple of": 2,
    "few": 3,
    "a few": 3,
    "several": 4,
}
_NUMBER = (
    r"(?:\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"(?:a\s+)?couple(?:\s+of)?|(?:a\s+)?few|several)"
)
_UNIT = r"(?P<unit>days?|wks?|weeks?|mos?|mths?|months?|yrs?|years?)\b"
_DURATION = _rx(
    r"(?:\b(?:like|about|around|roughly|maybe|another|say)\s+)?\b(?P<low>" + _NUMBER + r")"
    r"(?:\s*(?:-|–|to|or)\s*(?P<high>"
    + _NUMBER
    + r"))?\s+"
    + _UNIT
    + r"|\b(?P<half>half\s+a)\s+(?P<hunit>year|month)\b|\b(?P<fortnight>a\s+fortnight)\b"
    r"|\b(?P<mon2>a\s+month\s+or\s+two)\b|\b(?P<ayear>a\s+year'?s?)\s+time\b"
)
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = (
    r"(?P<month>january|february|march|april|may|june|july|august|september|october|"
    r"november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\b"
)
_PART = (
    r"(?P<part>early|mid|late|the\s+end\s+of|end\s+of|the\s+start\s+of|start\s+of|"
    r"the\s+beginning\s+of|beginning\s+of)"
)
_DAY_MONTH = _rx(
    r"\b(?P<after>after\s+)?(?:the\s+)?(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?"
    + _MONTH
    + r"|\b(?P<after2>after\s+)?"
    + _MONTH.replace("month>", "month2>")
    + r"\s+(?P<day2>\d{1,2})(?:st|nd|rd|th)?\b"
)
_MONTH_PHRASE = _rx(
    r"\b(?P<after>after\s+)?(?P<prep>(?:in|by|around|until|till|from)\s+)?(?:"
    + _PART
    + r"[-\s]+)?"
    + _MONTH
)
# "after the audit in March", "(ends in Feb)": an event that takes up the month.
_AFTER_EVENT = _rx(r"\bafter\b[^.!?,;]{1,40}$")
_EVENT_ENDS = _rx(r"\b(?:ends?|ending|finish(?:es|ing)?|over)\s+$")
_SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
_SEASON = _rx(
    r"\b(?P<after>after\s+)?(?:(?:in|by|until|till)\s+)?(?:the\s+)?(?:next\s+)?"
    r"(?P<season>spring|summer|autumn|fall|winter)(?:\s+(?:holidays?|break|hols))?\b"
)
_RELATIVE = _rx(
    r"\b(?P<end>(?:the\s+)?end\s+of\s+)?(?P<start>(?:the\s+)?(?:start|beginning)\s+of\s+|early\s+)?"
    r"(?:next|the\s+coming)\s+(?P<unit>week|month|quarter|year)\b"
    r"|\b(?P<endthis>(?:the\s+)?end\s+of\s+(?:the|this)\s+month)\b"
)
_QUARTER = _rx(r"\b(?P<q>q[1-4])\b")
_HOLIDAY = _rx(
    r"\b(?P<after>after\s+)?(?:the\s+)?(?P<name>christmas|xmas|new\s+year|holidays|"
    r"festive\s+season|easter|thanksgiving)\b"
)


def _next_on_or_after(on: dt.date, month: int, day: int = 1) -> dt.date:
    candidate = _clamped(on.year, month, day)
    return candidate if candidate >= on else _clamped(on.year + 1, month, day)


def _clamped(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, 1) + relativedelta(day=day)  # relativedelta clamps the day


def _number(words: str) -> int:
    words = re.sub(r"\s+", " ", words.lower().strip())
    return int(words) if words.isdigit() else _NUMBERS[words]


def _add(on: dt.date, count: int, unit: str) -> dt.date:
    unit = unit.lower()
    if unit.startswith("d"):
        return on + dt.timedelta(days=count)
    if unit.startswith("w"):
        return on + dt.timedelta(weeks=count)
    if unit.startswith("m"):
        return on + relativedelta(months=count)
    return on + relativedelta(years=count)


def _durations(sentence: str, on: dt.date) -> list[tuple[dt.date, str]]:
    found = []
    for m in _DURATION.finditer(sentence):
        if m["fortnight"]:
            date = on + dt.timedelta(days=14)
        elif m["half"]:
            date = _add(on, 6, "months") if m["hunit"].lower() == "year" else on + dt.timedelta(15)
        elif m["mon2"]:
            date = _add(on, 2, "months")
        elif m["ayear"]:
            date = _add(on, 1, "years")
        else:
            count = _number(m["high"] or m["low"])
            date = _add(on, count, m["unit"])
        found.append((date, m.group(0).strip()))
    return found


def _part_day(part: str | None, year: int, month: int) -> dt.date:
    part = (part or "").lower()
    if "mid" in part:
        return dt.date(year, month, 15)
    if "late" in part:
        return dt.date(year, month, 20)
    if "end" in part:
        return _clamped(year, month, 31)
    return dt.date(year, month, 1)


def _months(sentence: str, on: dt.date) -> list[tuple[dt.date, str]]:
    found = []
    taken: list[tuple[int, int]] = []
    for m in _DAY_MONTH.finditer(sentence):
        month = _MONTHS[(m["month"] or m["month2"]).lower()]
        day = int(m["day"] or m["day2"])
        if not 1 <= day <= 31:
            continue
        date = _next_on_or_after(on, month, day)
        if m["after"] or m["after2"]:
            date += dt.timedelta(days=1)
        found.append((date, m.group(0).strip()))
        taken.append(m.span())
    for m in _MONTH_PHRASE.finditer(sentence):
        if any(begin <= m.start("month") < end for begin, end in taken):
            continue
        name, part, after = m["month"], m["part"], m["after"]
        if name.lower() == "may" and not (name == "May" or part or after or m["prep"]):
            continue  # "she may want to" is not the month
        month = _MONTHS[name.lower()]
        start = _next_on_or_after(on, month, 1)
        before = sentence[: m.start()]
        in_month = (m["prep"] or "").lower().startswith("in")
        if after or (in_month and (_AFTER_EVENT.search(before) or _EVENT_ENDS.search(before))):
            # After the month, or after an event in it: the month is taken up.
            if part and "early" in part.lower():
                date = dt.date(start.year, month, 15)
            else:
                date = start + relativedelta(months=1)
        else:
            date = _part_day(part, start.year, month)
            if date < on:
                date = _part_day(part, start.year + 1, month)
        found.append((date, m.group(0).strip()))
    return found


def _seasons(sentence: str, on: dt.date) -> list[tuple[dt.date, str]]:
    found = []
    for m in _SEASON.finditer(sentence):
        month = _SEASONS[m["season"].lower()]
        if m["after"]:
            month = month % 12 + 3
        found.append((_next_on_or_after(on, month), m.group(0).strip()))
    return found


def _relative(sentence: str, on: dt.date) -> list[tuple[dt.date, str]]:
    found = []
    for m in _RELATIVE.finditer(sentence):
        if m["endthis"]:
            found.append((on + relativedelta(day=31), m.group(0).strip()))
            continue
        unit = m["unit"].lower()
        if unit == "week":
            date = on + relativedelta(weekday=MO(+1), days=1)
        elif unit == "month":
            date = on + relativedelta(months=1, day=1)
            if m["end"]:
                date += relativedelta(day=31)
        elif unit == "quarter":
            first_month = 3 * ((on.month - 1) // 3) + 1
            date = dt.date(on.year, first_month, 1) + relativedelta(months=3)
        else:
            date = dt.date(on.year + 1, 1, 1)
        found.append((date, m.group(0).strip()))
    for m in _QUARTER.finditer(sentence):
        month = 3 * (int(m["q"][1]) - 1) + 1
        date = _next_on_or_after(on, month)
        found.append((date, m.group(0)))
    return found


def _holidays(sentence: str, on: dt.date) -> list[tuple[dt.date, str]]:
    found = []
    back_after_new_year = _next_on_or_after(on + dt.timedelta(days=1), 1, 2)
    for m in _HOLIDAY.finditer(sentence):
        name = re.sub(r"\s+", " ", m["name"].lower())
        if name in ("christmas", "xmas", "festive season", "new year"):
            date = back_after_new_year
        elif name == "holidays":
            if on.month in (6, 7, 8):
                date = _next_on_or_after(on, 9)
            elif on.month in (10, 11, 12, 1):
                date = back_after_new_year
            else:
                continue  # which holidays is unclear: no date from these words
        elif name == "easter":
            date = easter(on.year)
            if date < on:
                date = easter(on.year + 1)
            if m["after"]:
                date += dt.timedelta(days=1)
        else:  # thanksgiving: the fourth Thursday of November
            date = dt.date(on.year, 11, 1) + relativedelta(weekday=TH(+4))
            if date < on:
                date = dt.date(on.year + 1, 11, 1) + relativedelta(weekday=TH(+4))
            if m["after"]:
                date += dt.timedelta(days=1)
        found.append((date, m.group(0).strip()))
    return found


_TIME_READERS: tuple[Callable[[str, dt.date], list[tuple[dt.date, str]]], ...] = (
    _durations,
    _months,
    _seasons,
    _relative,
    _holidays,
)


def _times(sentence: str, on: dt.date) -> list[tuple[dt.date, str]]:
    return [found for reader in _TIME_READERS for found in reader(sentence, on)]


def _kind(sentence: str, text: str) -> tuple[str, bool]:
    for scope in (sentence, text):
        referral = bool(_REFERRAL_WORDS.search(scope))
        testimonial = bool(_TESTIMONIAL_WORDS.search(scope))
        if referral and testimonial:
            return BOTH, True
        if referral:
            return REFERRAL, True
        if testimonial:
            return TESTIMONIAL, True
    return BOTH, False


def _defers(sentence: str, times: list, kind_words: bool) -> bool:
    if _REFUSAL.search(sentence):
        return False
    if _DEFERRAL.search(sentence):
        return True
    later = bool(times or _CONDITION.search(sentence))
    if _ASK_PRONOUN.search(sentence) and later:
        return True
    if _TALK.search(sentence) and (kind_words or not _OTHER_TOPIC.search(sentence)):
        return bool(times)
    # An offer tied to a later time or condition: "happy to do a review in 3 months".
    return kind_words and later and bool(_WILLING.search(sentence))


def propose_permission(text: str, on: dt.date) -> Proposal | None:
    """The permission a note's words propose, dated relative to ``on``; None if none."""
    if not text or not text.strip():
        return None
    for sentence in split_sentences(text):
        words = sentence.text
        times = [(date, w) for date, w in _times(words, on) if date >= on]
        kind_words = bool(_REFERRAL_WORDS.search(words) or _TESTIMONIAL_WORDS.search(words))
        if not _defers(words, times, kind_words):
            continue
        kind, stated = _kind(words, text)
        if times:
            date, when = max(times, key=lambda found: found[0])
            start = sentence.text.find(when)
            when = sentence.original[start : start + len(when)]
            return Proposal(date, kind, stated, sentence.original, when)
        return Proposal(None, kind, stated, sentence.original, "")
    return None
