"""Permissions read from words: "ask me again in three months" → a permission with a date.

The phrasings below were written before the parser, in the voices the product reads (staff
notes, client emails, texts, call transcripts), and the parser was written from the
labelling of time words, not from these sentences. Every date is computed from the note's
date ``ON`` (a Tuesday), never from the clock.
"""

from __future__ import annotations

import datetime as dt

import pytest

from rapport.agenda.permission_text import BOTH, REFERRAL, TESTIMONIAL, propose_permission

ON = dt.date(2025, 10, 14)
D = dt.date

# (text, expected date or None for "no date in the words", expected kind)
DATED: list[tuple[str, dt.date, str]] = [
    ("Ask me again in three months.", D(2026, 1, 14), BOTH),
    (
        "Give me 90 days of results first and then I'll happily write you a review.",
        D(2026, 1, 12),
        TESTIMONIAL,
    ),
    ("Happy to give you some names after the audit in March.", D(2026, 4, 1), REFERRAL),
    ("check back after christmas", D(2026, 1, 2), BOTH),
    ("Let's talk in the new year.", D(2026, 1, 2), BOTH),
    ("She said not now, maybe next quarter.", D(2026, 1, 1), BOTH),
    ("Text me in a couple of weeks and I'll send over the names.", D(2025, 10, 28), REFERRAL),
    ("Circle back with me in 6 weeks re the case study", D(2025, 11, 25), TESTIMONIAL),
    ("get back to me in the spring about a review", D(2026, 3, 1), TESTIMONIAL),
    ("Can we revisit this in January?", D(2026, 1, 1), BOTH),
    ("try me again end of next month", D(2025, 11, 30), BOTH),
    ("ping me mid-November and I'll see who I can introduce you to", D(2025, 11, 15), REFERRAL),
    ("Client asked us to follow up after 31 March re a testimonial.", D(2026, 4, 1), TESTIMONIAL),
    ("Too early now – let's circle back in half a year.", D(2026, 4, 14), BOTH),
    ("Reach out again in 2 months, y'all", D(2025, 12, 14), BOTH),
    ("ask again after Easter", D(2026, 4, 6), BOTH),
    ("Check in with me after the summer holidays.", D(2026, 9, 1), BOTH),
    ("He'd rather we asked again next year.", D(2026, 1, 1), BOTH),
    ("Give it a month and ask me again", D(2025, 11, 14), BOTH),
    ("Let me see the results for 60-90 days first.", D(2026, 1, 12), BOTH),
    ("Talk to me again in a few weeks.", D(2025, 11, 4), BOTH),
    ("Follow up after the holidays pls", D(2026, 1, 2), BOTH),
    ("Come back to me after the 15th of December.", D(2025, 12, 16), BOTH),
    ("Speak again next week.", D(2025, 10, 20), BOTH),
    ("Ask me again in the summer, we're slammed till then", D(2026, 6, 1), BOTH),
    ("Ask me again in a year's time.", D(2026, 10, 14), BOTH),
    ("Could you remind me after Thanksgiving?", D(2025, 11, 28), BOTH),
    (
        "After our busy season (ends in Feb) I'll write something for your site.",
        D(2026, 3, 1),
        TESTIMONIAL,
    ),
    ("let's pick this up again in Q2", D(2026, 4, 1), BOTH),
    ("Ask me in a fortnight.", D(2025, 10, 28), BOTH),
    ("Happy to do a review in 3 mos once the crown's settled", D(2026, 1, 14), TESTIMONIAL),
    ("we can talk referrals at the start of next year", D(2026, 1, 1), REFERRAL),
    ("Ask again on 1 Feb.", D(2026, 2, 1), BOTH),
    ("ask again on February 3rd", D(2026, 2, 3), BOTH),
    (
        "Caller: Yeah, no, um, ring me back in like two weeks? I'll have a think about who "
        "else might want a quote.",
        D(2025, 10, 28),
        REFERRAL,
    ),
    (
        "Mrs Adeyemi said she'd be glad to leave a Google review but asked us to wait until "
        "after her final fitting in early December.",
        # After an event early in a month: the middle of that month.
        D(2025, 12, 15),
        TESTIMONIAL,
    ),
    (
        "Dear Sam, thank you for asking. I would prefer to wait until the year-end accounts "
        "are filed; please contact me again in late January regarding a reference.",
        D(2026, 1, 20),
        TESTIMONIAL,
    ),
    (
        "Told us to come back in 4-6 weeks for names, once the team's settled.",
        D(2025, 11, 25),
        REFERRAL,
    ),
]

UNDATED: list[tuple[str, str]] = [
    ("Once the extension is finished, ask me for a testimonial.", TESTIMONIAL),
    ("Mr Patel is happy to refer friends but ask him again after his implant is done.", REFERRAL),
    ("ask me after I've moved house", BOTH),
    ("Not yet — ask again when the new website goes live.", BOTH),
    ("She'll think about names later, ask her again down the line.", REFERRAL),
]

NOT_PERMISSIONS: list[str] = [
    "Her next cleaning is due in six months.",
    "The audit is in March.",
    "Invoice payable within 30 days.",
    "Don't ask me again.",
    "Please never ask me for a review again.",
    "We'll deliver the pallets in two weeks.",
    "Meeting moved to next Tuesday.",
    "Great job, thanks so much!",
    "Ask the front desk for a receipt.",
    "No need to check back, all sorted.",
    "Let's talk next week about the invoice.",
    "Recall booked in 6 months.",
    "He asked about the new year opening hours.",
    "",
]


@pytest.mark.parametrize(("text", "expected", "kind"), DATED)
def test_dated_phrasings_propose_a_permission_with_the_computed_date(
    text: str, expected: dt.date, kind: str
) -> None:
    proposal = propose_permission(text, ON)
    assert proposal is not None, text
    assert proposal.on == expected, (text, proposal)
    assert proposal.kind == kind, (text, proposal)
    assert proposal.evidence and proposal.evidence in text
    assert proposal.when_words in text


@pytest.mark.parametrize(("text", "kind"), UNDATED)
def test_a_condition_without_a_date_proposes_a_permission_the_user_dates(
    text: str, kind: str
) -> None:
    proposal = propose_permission(text, ON)
    assert proposal is not None, text
    assert proposal.on is None, proposal
    assert proposal.kind == kind, (text, proposal)
    assert proposal.evidence in text


@pytest.mark.parametrize("text", NOT_PERMISSIONS)
def test_time_words_without_a_deferral_propose_nothing(text: str) -> None:
    assert propose_permission(text, ON) is None


def test_kind_stated_only_when_the_words_name_it() -> None:
    assert propose_permission("Ask me again in three months.", ON).kind_stated is False
    stated = propose_permission("Ask me for a review again in three months.", ON)
    assert (stated.kind, stated.kind_stated) == (TESTIMONIAL, True)


def test_the_kind_can_come_from_another_sentence_of_the_note() -> None:
    text = "Asked Mrs Lowe whether she'd refer her sister. She said ask again in two months."
    proposal = propose_permission(text, ON)
    assert (proposal.on, proposal.kind) == (D(2025, 12, 14), REFERRAL)
    assert proposal.evidence == "She said ask again in two months."


def test_dates_are_relative_to_the_note_not_the_clock() -> None:
    assert propose_permission("ask me again in March", D(2025, 2, 10)).on == D(2025, 3, 1)
    assert propose_permission("ask me again in March", D(2025, 3, 20)).on == D(2026, 3, 1)
    assert propose_permission("check back after christmas", D(2025, 1, 3)).on == D(2026, 1, 2)


def test_month_ends_are_clamped() -> None:
    assert propose_permission("ask me again in a month", D(2026, 1, 31)).on == D(2026, 2, 28)


def test_a_range_takes_its_later_end_so_the_client_is_not_asked_early() -> None:
    assert propose_permission("give me 2-3 months first", ON).on == D(2026, 1, 14)


def test_the_latest_of_several_times_wins() -> None:
    text = "Give me a couple of weeks, actually make it after the audit in March."
    assert propose_permission(text, ON).on == D(2026, 4, 1)
