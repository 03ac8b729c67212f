"""A workspace's own layer: its people's confirmations shift its readings, and only its own."""

from __future__ import annotations

import json

import pytest

from rapport.agenda.text import COMPLAINT, PRAISE, read, train_workspace_model

PRAISE_NOTE = "Mrs Patel said our receptionist is an absolute gem."
# A trade's own way of praising that shipped data rarely has: "sound" and "proper job".
LOCAL_PRAISE = [
    "Customer reckoned the lads did a proper job on the guttering.",
    "Said the lads did a proper job on the loft hatch.",
    "Proper job on the fence, he said.",
    "Mr Evans said it was a proper job, start to finish.",
    "A proper job on the patio, she told Dave.",
    "Reckoned it was a proper job on the boiler.",
]
LOCAL_NEUTRAL = [
    "Quoted for the guttering.",
    "Loft hatch measured.",
    "Fence panels ordered.",
    "Patio slabs delivered Tuesday.",
]


def _confidence(text: str, kind: str, workspace_model=None) -> float:
    finding = read(text, workspace_model).get(kind)
    return finding.confidence if finding else 0.0


def test_the_model_is_json_and_says_what_it_adjusts() -> None:
    trained = train_workspace_model([(PRAISE_NOTE, PRAISE, False)])
    assert json.loads(json.dumps(trained)) == trained
    assert trained["labels"] == 1
    assert set(trained["kinds"]) == {PRAISE}
    assert trained["model"]  # the shipped model it was fitted against


def test_a_dismissed_reading_of_a_sentence_stays_dismissed_in_that_workspace() -> None:
    assert PRAISE in read(PRAISE_NOTE).confident
    workspace_a = train_workspace_model([(PRAISE_NOTE, PRAISE, False)])
    assert read(PRAISE_NOTE, workspace_a).get(PRAISE) is None
    # Another workspace, or none, reads it as the shipped model does.
    workspace_b = train_workspace_model([("The invoice was wrong.", COMPLAINT, True)])
    assert PRAISE in read(PRAISE_NOTE, workspace_b).confident
    assert PRAISE in read(PRAISE_NOTE).confident


def test_an_answer_counts_inside_a_longer_note() -> None:
    workspace = train_workspace_model([(PRAISE_NOTE, PRAISE, False)])
    note = f"Checkup done, no cavities. {PRAISE_NOTE}"
    assert read(note, workspace).get(PRAISE) is None


def test_a_confirmed_reading_becomes_confident() -> None:
    unsure = "Dave reckons the new extractor is proper job."
    workspace = train_workspace_model([(unsure, PRAISE, True)])
    finding = read(unsure, workspace).get(PRAISE)
    assert finding is not None and finding.confident
    assert finding.source == "workspace"


def test_answers_generalise_to_similar_sentences_of_that_workspace() -> None:
    labels = [(t, PRAISE, True) for t in LOCAL_PRAISE] + [(t, PRAISE, False) for t in LOCAL_NEUTRAL]
    workspace = train_workspace_model(labels)
    unseen = "Said the lads did a proper job on the porch roof."
    assert _confidence(unseen, PRAISE, workspace) > _confidence(unseen, PRAISE) + 0.1
    # Sentences unlike the answers are barely moved.
    other = "The invoice was wrong and nobody called back."
    assert abs(_confidence(other, COMPLAINT, workspace) - _confidence(other, COMPLAINT)) < 0.05


def test_the_latest_answer_about_a_sentence_wins() -> None:
    workspace = train_workspace_model([(PRAISE_NOTE, PRAISE, False), (PRAISE_NOTE, PRAISE, True)])
    assert workspace["labels"] == 1
    assert PRAISE in read(PRAISE_NOTE, workspace).confident


def test_bad_labels_are_refused_and_blank_texts_skipped() -> None:
    with pytest.raises(ValueError, match="unknown kind 'praize'"):
        train_workspace_model([(PRAISE_NOTE, "praize", True)])
    assert train_workspace_model([("   ", PRAISE, True)])["labels"] == 0


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        read(PRAISE_NOTE, {"format": 99})


def test_empty_labels_change_nothing() -> None:
    workspace = train_workspace_model([])
    assert read(PRAISE_NOTE, workspace) == read(PRAISE_NOTE)
