"""The public reading of text: ``detect`` (confident findings) and ``read`` (with confidence).

Quality on text nobody tuned to is measured by tests/agenda/test_text_frozen.py and the
grouped cross-validation in docs/moment-detection.md; these tests pin the contract.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rapport.agenda import text as public
from rapport.agenda.reading import model as text_model
from rapport.agenda.reading import reader as reading
from rapport.agenda.reading.data import load_labelled
from rapport.agenda.text import (
    COMPLAINT,
    EVIDENCE_MAX_CHARS,
    MOMENT_KINDS,
    PARTNER_ASSOCIATION,
    PRAISE,
    REFERRAL,
    SAVED_US,
    TESTIMONIAL,
    TEXT_KINDS,
    Reading,
    detect,
    read,
)

OLD = Path(__file__).parent / "data" / "moment_sentences.csv"


def test_public_names_stay_importable() -> None:
    assert set(MOMENT_KINDS) == {PRAISE, TESTIMONIAL, REFERRAL, SAVED_US, PARTNER_ASSOCIATION}
    assert (*MOMENT_KINDS, COMPLAINT) == TEXT_KINDS
    assert callable(public.detect) and callable(public.read)
    assert callable(public.train_workspace_model)


def test_the_shipped_weights_load_and_carry_their_calibration() -> None:
    shipped = text_model.shipped()
    assert shipped is not None
    assert set(shipped.meta["thresholds"]) == set(TEXT_KINDS)
    for limits in shipped.meta["thresholds"].values():
        assert 0 < limits["ask"] <= limits["confident"] < 1
    assert shipped.meta["trained_on"]["rows"] >= 1400


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("You guys were fantastic.", PRAISE),
        ("Best dentist I've ever had, she said.", PRAISE),
        ("She left us a five-star review on Google.", TESTIMONIAL),
        ("My sister will call you.", REFERRAL),
        ("I gave your number to my neighbour.", REFERRAL),
        ("You saved our launch.", SAVED_US),
        ("We'd have gone under without you.", SAVED_US),
        ("I just joined the regional chamber of commerce.", PARTNER_ASSOCIATION),
        ("The invoice was wrong again.", COMPLAINT),
        ("Nobody called me back.", COMPLAINT),
        ("I've had to chase your office three times this week.", COMPLAINT),
    ],
)
def test_plain_examples_are_read_confidently(sentence: str, kind: str) -> None:
    assert kind in detect(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Called to remind about appointment.",
        "Sent invoice.",
        "Left voicemail, will call back Thursday.",
        "Please refer to clause 4 of the agreement.",
        "Saved the file to the shared drive.",
        "The board meeting moved to Friday.",
    ],
)
def test_admin_and_other_word_senses_are_not_moments(sentence: str) -> None:
    assert not set(detect(sentence)) & set(MOMENT_KINDS)


def test_detect_returns_what_read_finds_confidently() -> None:
    text = "Lovely team. The invoice was wrong again, though, and nobody called me back."
    assert detect(text) == read(text).confident


def test_a_reading_has_evidence_confidence_and_whether_to_ask() -> None:
    found = read("Checkup done. Mrs Patel said our receptionist is an absolute gem.")
    praise = found.get(PRAISE)
    assert praise is not None
    assert praise.evidence == "Mrs Patel said our receptionist is an absolute gem."
    assert 0.0 <= praise.confidence <= 1.0
    assert praise.confident == (praise.confidence >= _limits(PRAISE)["confident"])
    assert json.loads(json.dumps(found.as_dict()))["findings"][0]["kind"] == PRAISE


def _limits(kind: str) -> dict[str, float]:
    return text_model.shipped().meta["thresholds"][kind]


def test_a_complaint_wins_over_praise_in_the_same_sentence() -> None:
    found = read("The team were brilliant but the invoice was wrong and nobody called me back.")
    assert found.complaint is not None
    assert found.blocks_asks
    praise = found.get(PRAISE)
    assert praise is None or not praise.confident


def test_praise_and_a_complaint_in_separate_sentences_are_both_read() -> None:
    found = read("The team were brilliant. The invoice was wrong, though.")
    assert {PRAISE, COMPLAINT} <= {f.kind for f in found.findings}
    assert found.blocks_asks  # the agenda holds every ask while a complaint is read


def test_an_unsure_complaint_keeps_praise_in_its_sentence_from_being_acted_on() -> None:
    shipped = text_model.shipped()
    sentence = "The hygienist was lovely."
    limits = shipped.meta["thresholds"][COMPLAINT]
    unsure = (limits["ask"] + limits["confident"]) / 2
    forced = _with_complaint_confidence(shipped, unsure)
    found = read(sentence, model=forced)
    assert found.complaint is not None and not found.complaint.confident
    praise = found.get(PRAISE)
    assert praise is not None and not praise.confident


def _with_complaint_confidence(shipped, confidence: float):
    """The shipped model with complaint's calibration replaced so that every sentence reads
    as a complaint at ``confidence`` (the other kinds untouched)."""
    target = math.log(confidence / (1 - confidence))
    combine = {**shipped.meta["combine"], COMPLAINT: {"model": 0.0, "rule": 0.0, "bias": target}}
    meta = {**shipped.meta, "combine": combine}
    return text_model.TextModel(
        shipped.kinds, shipped.config, shipped.columns, shipped.weights, shipped.intercepts, meta
    )


def test_below_the_ask_threshold_nothing_is_reported() -> None:
    found = read("Mtg moved to 3pm Thursday, room 2.")
    assert found.findings == ()
    assert read("") == Reading() and read("   \n") == Reading()


def test_evidence_is_always_a_short_substring_of_the_input() -> None:
    long_note = (
        "We went through the quarterly numbers, the hiring plan, the new office lease and a "
        "long tail of smaller items, and right at the end he said you saved our launch, which "
        "was lovely to hear after two hours of spreadsheets and lease clauses and parking."
    )
    texts = [row.text for row in load_labelled(OLD)] + [long_note, "Hi,\r\nLove it.\r\nTom"]
    for text in texts:
        for finding in read(text).findings:
            assert finding.evidence and finding.evidence in text, (finding, text)
            assert len(finding.evidence) <= EVIDENCE_MAX_CHARS


@pytest.mark.parametrize(
    "text",
    [
        ".",
        "?!?!",
        "😀😀😀 👍",
        "El tratamiento fue excelente, gracias.",
        "\x00\x01 control \x1f characters",
        "word " * 50_000,
        ("Mr. " * 2000) + "Smith.",
        "a" * 200_000,
    ],
)
def test_odd_input_reads_without_error(text: str) -> None:
    found = read(text)
    assert {f.kind for f in found.findings} <= set(TEXT_KINDS)


def test_reading_is_deterministic() -> None:
    texts = [row.text for row in load_labelled(OLD)][:80]
    first = [read(t).as_dict() for t in texts]
    reading.rules.compound.cache_clear()
    assert [read(t).as_dict() for t in texts] == first


def test_without_weights_the_rules_read_alone(monkeypatch) -> None:
    monkeypatch.setattr(reading, "shipped", lambda: None)
    assert set(read("Nobody called me back.").confident) == {COMPLAINT}
