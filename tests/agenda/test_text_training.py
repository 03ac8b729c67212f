"""Fitting and storing the learned text layer: deterministic, no pickle, honest folds."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from rapport.agenda.reading import evaluation, features, model, training
from rapport.agenda.reading.data import LabelError, LabelledText, grouped_folds, load_labelled
from rapport.agenda.reading.evaluation import Prediction, Rate, wilson
from rapport.agenda.reading.kinds import COMPLAINT, PRAISE, REFERRAL, TEXT_KINDS

DEV = Path(__file__).parent / "data" / "moments" / "dev.csv"
SMALL = model.TrainingConfig(n_features=2**12)


def _rows(n_styles: int = 6, per_style: int = 6) -> list[LabelledText]:
    phrases = [
        ("The team were brilliant, thank you", {PRAISE}),
        ("Still waiting for the invoice to be corrected", {COMPLAINT}),
        ("My sister will call you next week", {REFERRAL}),
        ("Appointment moved to Thursday", set()),
        ("You lot were fantastic with the boiler", {PRAISE}),
        ("Nobody called me back, again", {COMPLAINT}),
    ]
    rows = []
    for s in range(n_styles):
        for i in range(per_style):
            text, labels = phrases[(s + i) % len(phrases)]
            rows.append(LabelledText(f"{text} ({s}-{i})", frozenset(labels), style=f"S{s}"))
    return rows


# --- folds and data ----------------------------------------------------------------------------


def test_grouped_folds_keep_each_style_in_one_fold_and_cover_every_row() -> None:
    rows = _rows(n_styles=9, per_style=5)
    folds = grouped_folds(rows, 5)
    assert sorted(i for fold in folds for i in fold) == list(range(len(rows)))
    for fold in folds:
        styles = {rows[i].style for i in fold}
        others = {rows[i].style for f in folds if f is not fold for i in f}
        assert not styles & others
    assert grouped_folds(rows, 5) == folds  # the same every run


def test_grouped_folds_need_enough_styles() -> None:
    with pytest.raises(ValueError, match="cannot make 5"):
        grouped_folds(_rows(n_styles=3), 5)


def test_loader_names_the_file_and_line_of_an_unknown_label(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("text,labels,style\nfine,praise,A\noops,prase,A\n", encoding="utf-8")
    with pytest.raises(LabelError, match=r"bad\.csv:3: unknown label\(s\) prase"):
        load_labelled(path)


def test_loader_rejects_a_file_without_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("sentence,kind\nfine,praise\n", encoding="utf-8")
    with pytest.raises(LabelError, match="missing column"):
        load_labelled(path)


def test_dev_set_is_large_and_varied_enough_to_train_on() -> None:
    rows = load_labelled(DEV)
    assert len(rows) >= 1400
    assert len({row.style for row in rows}) >= 25
    for kind in TEXT_KINDS:
        assert sum(kind in row.labels for row in rows) >= 50, kind


# --- features ----------------------------------------------------------------------------------


def test_hashed_features_are_stable_and_unit_length() -> None:
    columns, values = features.hashed("The crown feels PERFECT, thanks 100x!", 2**18)
    again = features.hashed("the crown feels perfect,  thanks 999x!", 2**18)
    assert np.array_equal(columns, again[0])  # case, spacing and digits do not matter
    assert np.isclose(np.linalg.norm(values), 1.0)
    # CRC-32, not Python's salted hash(): these columns are the same in every process.
    expected = sorted({zlib.crc32(g.encode()) % 2**18 for g in features.ngrams("ab")})
    assert features.hashed("ab", 2**18)[0].tolist() == expected


def test_rule_vector_carries_the_rules_findings_and_flags() -> None:
    vector = dict(
        zip(features.RULE_FEATURES, features.rule_vector("Would you recommend us?"), strict=True)
    )
    assert vector["question"] == 1.0
    vector = dict(
        zip(features.RULE_FEATURES, features.rule_vector("Nobody called me back."), strict=True)
    )
    assert vector["rule:complaint"] == 1.0


# --- training and storage ----------------------------------------------------------------------


def test_training_is_deterministic_and_the_file_is_byte_identical(tmp_path: Path) -> None:
    rows = _rows()
    texts, labels = [r.text for r in rows], [r.labels for r in rows]
    first = model.train(texts, labels, SMALL, meta={"combine": {}, "thresholds": {}})
    second = model.train(texts, labels, SMALL, meta={"combine": {}, "thresholds": {}})
    first.save(tmp_path / "a.npz")
    second.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    assert first.digest == second.digest


def test_weights_file_holds_plain_arrays_and_loads_without_pickle(tmp_path: Path) -> None:
    rows = _rows()
    trained = model.train([r.text for r in rows], [r.labels for r in rows], SMALL, meta={"x": 1})
    path = tmp_path / "w.npz"
    trained.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == [
            "columns.npy",
            "header.npy",
            "intercepts.npy",
            "weights.npy",
        ]
    loaded = model.TextModel.load(path)  # np.load(allow_pickle=False) inside
    for row in rows[:5]:
        # float16 weights on disk: within a few thousandths in log-odds.
        assert np.allclose(loaded.logits(row.text), trained.logits(row.text), atol=0.01)
    assert loaded.meta == {"x": 1}


def test_a_trained_model_separates_what_it_was_taught() -> None:
    rows = _rows()
    trained = model.train([r.text for r in rows], [r.labels for r in rows], SMALL)
    praise = trained.probabilities("You lot were brilliant")
    complaint = trained.probabilities("Nobody called me back about the invoice")
    assert praise[PRAISE] > praise[COMPLAINT]
    assert complaint[COMPLAINT] > complaint[PRAISE]


def test_a_stale_weights_file_is_refused(tmp_path: Path, monkeypatch) -> None:
    rows = _rows()
    trained = model.train([r.text for r in rows], [r.labels for r in rows], SMALL)
    trained.save(tmp_path / "w.npz")
    monkeypatch.setattr(features, "RULE_FEATURES", (*features.RULE_FEATURES, "new"))
    with pytest.raises(ValueError, match="retrain"):
        model.TextModel.load(tmp_path / "w.npz")


def test_thresholds_follow_the_out_of_fold_precision_and_costs() -> None:
    rng = np.random.default_rng(0)
    y = np.zeros((400, len(TEXT_KINDS)), dtype=bool)
    y[:100, 0] = True  # praise
    y[100:200, -1] = True  # complaint
    p = rng.uniform(0, 0.3, size=y.shape)
    p[:100, 0] = rng.uniform(0.5, 1.0, 100)
    p[100:200, -1] = rng.uniform(0.4, 1.0, 100)
    p[:100, -1] = rng.uniform(0.0, 0.5, 100)  # praise that looks a little like complaints
    thresholds = training.choose_thresholds(p, y)
    assert thresholds[PRAISE]["ask"] <= thresholds[PRAISE]["confident"] <= 0.31
    complaint = thresholds[COMPLAINT]
    assert complaint["ask"] <= complaint["confident"]
    # A confident complaint is read on at most 5% of praise-only rows, one to confirm 12%.
    assert (p[:100, -1] >= complaint["confident"]).mean() <= 0.05
    assert (p[:100, -1] >= complaint["ask"]).mean() <= 0.12
    assert (p[:100, -1] >= complaint["ask"] - 0.02).mean() > 0.12  # and no higher than needed


# --- evaluation --------------------------------------------------------------------------------


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(0, 20)[0] == 0.0
    assert wilson(20, 20)[1] == 1.0


def test_safety_counts_asks_enabled_on_neutral_and_complaining_text() -> None:
    rows = [
        LabelledText("a", frozenset()),
        LabelledText("b", frozenset({COMPLAINT})),
        LabelledText("c", frozenset({PRAISE})),
    ]
    predictions = [
        Prediction(frozenset({PRAISE}), frozenset({PRAISE})),  # an ask on neutral text
        Prediction(frozenset({PRAISE}), frozenset({PRAISE, COMPLAINT})),  # held: complaint
        Prediction(frozenset(), frozenset({PRAISE, COMPLAINT})),
    ]
    figures = evaluation.safety(rows, predictions)
    assert figures["ask enabled on neutral or complaint"] == Rate(1, 2)
    assert figures["moments recall (acted)"] == Rate(0, 1)
    assert figures["moments recall (surfaced)"] == Rate(1, 1)
    assert figures["complaint read on moment-only text (holds an ask)"] == Rate(1, 1)


def test_write_into_replaces_only_the_marked_block(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(f"intro\n{evaluation.BEGIN}\nold\n{evaluation.END}\nouttro\n", "utf-8")
    evaluation.write_into(doc, "new figures")
    text = doc.read_text("utf-8")
    assert "old" not in text and "new figures" in text
    assert text.startswith("intro\n") and text.endswith("outtro\n")


def test_train_command_writes_weights_the_reader_uses(tmp_path: Path) -> None:
    import csv

    from rapport.agenda.reading import cli
    from rapport.agenda.reading.reader import read

    path = tmp_path / "labelled.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "labels", "style"])
        for row in _rows(n_styles=6, per_style=8):
            writer.writerow([row.text, ";".join(sorted(row.labels)), row.style])
    out = tmp_path / "weights.npz"
    assert cli.main(["train", "--data", str(path), "--out", str(out)]) == 0
    trained = model.TextModel.load(out)
    assert set(trained.meta["thresholds"]) == set(TEXT_KINDS)
    assert trained.meta["trained_on"]["rows"] == 48
    found = read("Nobody called me back, again", model=trained)
    assert found.complaint is not None


def test_the_before_detector_is_loaded_from_a_git_revision() -> None:
    import shutil
    import subprocess

    root = Path(__file__).resolve().parents[2]
    if (
        not shutil.which("git")
        or subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True).returncode
    ):
        pytest.skip("not a git checkout")
    detect_then = evaluation.detect_at_revision("HEAD")
    assert COMPLAINT in detect_then("Nobody called me back.")


def test_wordllama_embeddings_load_offline_from_the_wheel() -> None:
    # The measured alternative (docs/moment-detection.md); wordllama is not a dependency.
    pytest.importorskip("wordllama")
    vectors = features.embeddings(["The team were brilliant.", "Nobody called me back.", ""])
    assert vectors.shape == (3, 256)
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-5)
    assert not vectors[2].any()  # nothing to embed
