"""Dates, gaps and rhythms in plain words."""

import datetime as dt

import pytest

from rapport.agenda import wording


@pytest.mark.parametrize(
    "days,words",
    [
        (1, "every day"),
        (7, "every week"),
        (10, "every 10 days"),
        (14, "every 2 weeks"),
        (30, "every month"),
        (31, "every month"),
        (61, "every 2 months"),
        (183, "every 6 months"),
        (365, "every year"),
        (730, "every 2 years"),
    ],
)
def test_rhythms_read_as_people_say_them(days, words):
    assert wording.every(days) == words


@pytest.mark.parametrize(
    "days,rhythm,words",
    [(7, 7, "1 week"), (63, 7, "9 weeks"), (1, None, "1 day"), (90, None, "3 months")],
)
def test_gaps_are_singular_when_they_are_one(days, rhythm, words):
    assert wording.since(days, rhythm) == words


def test_a_spoken_date_has_its_year_only_when_it_is_not_this_year():
    today = dt.date(2026, 12, 1)
    assert wording.spoken(dt.date(2026, 11, 21), today) == "21 November"
    assert wording.spoken(dt.date(2025, 11, 21), today) == "21 November 2025"
