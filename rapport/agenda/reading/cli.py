"""``python -m rapport.agenda.text train|evaluate``: refit the learned layer, or score it.

train     fit on tests/agenda/data/moments/dev.csv, write reading/weights.npz
evaluate  per-kind P/R with 95% intervals: grouped CV on dev.csv, the older 316
          sentences, and (only when --frozen is given) the frozen test split; each
          next to the detector as it was before the learned layer (--baseline)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEV = ROOT / "tests/agenda/data/moments/dev.csv"
OLD = ROOT / "tests/agenda/data/moment_sentences.csv"
# The last commit whose detector was the rules alone: the "before" of the docs.
BEFORE = "91ee4da"


def _train(args: argparse.Namespace) -> int:
    from rapport.agenda.reading import data, model, training

    rows = data.load_labelled(args.data)
    started = time.perf_counter()
    fitted, _, _ = training.fit(rows, model.TrainingConfig())
    out = Path(args.out)
    fitted.save(out)
    print(f"trained on {len(rows)} rows in {time.perf_counter() - started:.0f} s -> {out}")
    print(f"{len(fitted.columns)} weighted columns, {out.stat().st_size / 1024:.0f} KiB")
    for kind, limits in fitted.meta["thresholds"].items():
        print(f"  {kind:20s} confident >= {limits['confident']:.2f}   ask >= {limits['ask']:.2f}")
    return 0


def _per_note_ms(reader, texts: list[str]) -> float:
    reader(texts[0])  # first use loads the weights and VADER
    timings = []
    for text in texts:
        started = time.perf_counter()
        reader(text)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _evaluate(args: argparse.Namespace) -> int:
    from rapport.agenda.reading import data, evaluation, model, training
    from rapport.agenda.reading.reader import read

    shipped = model.shipped()
    if shipped is None:
        print("no weights: run `python -m rapport.agenda.text train` first", file=sys.stderr)
        return 1
    before = evaluation.detect_at_revision(args.baseline) if args.baseline else None
    results: list[evaluation.SplitResult] = []

    dev = data.load_labelled(args.dev)
    oof, fold_models = training.out_of_fold(dev, shipped.config)
    fold_of = {i: f for f, fold in enumerate(oof.folds) for i in fold}
    models = training.cross_fitted_models(dev, oof, fold_models)
    cv_predictions = [
        evaluation.predictions_of(partial(read, model=models[fold_of[i]]), [row.text])[0]
        for i, row in enumerate(dev)
    ]
    if args.errors:
        _print_errors(dev, cv_predictions, args.errors)
    split = f"dev, {training.FOLDS}-fold CV by style"
    if before:
        cv_before = evaluation.predictions_of_detect(before, [r.text for r in dev])
        results.append(evaluation.evaluate_split(split, "before", dev, cv_before))
    results.append(evaluation.evaluate_split(split, "after", dev, cv_predictions))

    others = [("older 316 sentences", Path(args.old))]
    if args.frozen:
        others.append(("frozen test", Path(args.frozen)))
    for name, path in others:
        rows = data.load_labelled(path)
        texts = [row.text for row in rows]
        if before:
            predicted = evaluation.predictions_of_detect(before, texts)
            results.append(evaluation.evaluate_split(name, "before", rows, predicted))
        predicted = evaluation.predictions_of(read, texts)
        results.append(evaluation.evaluate_split(name, "after", rows, predicted))

    timing_texts = [row.text for row in dev]
    size = model.WEIGHTS_PATH.stat().st_size / 1024
    footer = (
        f"Shipped model: {len(shipped.columns)} weighted columns, weights file {size:.0f} KiB; "
        f"median {_per_note_ms(read, timing_texts):.2f} ms per note with the learned layer "
        f"(over the {len(timing_texts)} dev rows, one CPU core, this machine)."
    )
    text = evaluation.report(results) + "\n\n" + footer
    print(text)
    if args.write_docs:
        evaluation.write_into(args.write_docs, text)
        print(f"\nwritten into {args.write_docs}", file=sys.stderr)
    return 0


def _compare(args: argparse.Namespace) -> int:
    """Average precision per kind, out of fold, for each candidate learned layer."""
    from rapport.agenda.reading import data, training

    rows = data.load_labelled(args.data)
    table = training.compare_candidates(rows, with_embeddings=not args.no_embeddings)
    kinds = list(next(iter(table.values())))
    print("| candidate | " + " | ".join(kinds) + " | mean |")
    print("| --- |" + " ---: |" * (len(kinds) + 1))
    for name, scores in table.items():
        mean = sum(scores.values()) / len(scores)
        print(f"| {name} | " + " | ".join(f"{scores[k]:.3f}" for k in kinds) + f" | {mean:.3f} |")
    return 0


def _print_errors(rows, predictions, limit: int) -> None:
    """Cross-validated misses and false readings on dev.csv, per kind (never the frozen
    split: its sentences are not to be read while the reading is worked on)."""
    from rapport.agenda.reading.kinds import TEXT_KINDS

    for kind in TEXT_KINDS:
        missed = [
            r
            for r, p in zip(rows, predictions, strict=True)
            if kind in r.labels and kind not in p.surfaced
        ]
        false = [
            (r, p)
            for r, p in zip(rows, predictions, strict=True)
            if kind in p.acted and kind not in r.labels
        ]
        print(f"== {kind}: missed {len(missed)}, read confidently but wrong {len(false)}")
        for row in missed[:limit]:
            print(f"  missed [{row.style}] {row.text[:140]!r}")
        for row, _ in false[:limit]:
            print(f"  wrong  [{row.style}] {sorted(row.labels)} {row.text[:140]!r}")


def _legacy_table(path: str) -> int:
    """``python -m rapport.agenda.text FILE.csv``: the per-kind table on one labelled file."""
    from rapport.agenda.reading import data, evaluation
    from rapport.agenda.reading.reader import read

    rows = data.load_labelled(path)
    predicted = evaluation.predictions_of(read, [row.text for row in rows])
    result = evaluation.evaluate_split(Path(path).name, "after", rows, predicted)
    print(evaluation.kinds_table([result]))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 1 and args[0].endswith(".csv"):
        return _legacy_table(args[0])
    parser = argparse.ArgumentParser(prog="python -m rapport.agenda.text", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="fit the learned layer from labelled sentences")
    train.add_argument("--data", default=str(DEV))
    train.add_argument("--out", default=str(ROOT / "rapport/agenda/reading/weights.npz"))
    train.set_defaults(run=_train)
    compare = commands.add_parser(
        "compare", help="average precision of the candidate layers, grouped CV on dev.csv"
    )
    compare.add_argument("--data", default=str(DEV))
    compare.add_argument(
        "--no-embeddings", action="store_true", help="skip wordllama (not a dependency)"
    )
    compare.set_defaults(run=_compare)
    evaluate = commands.add_parser("evaluate", help="per-kind P/R with 95%% intervals")
    evaluate.add_argument("--dev", default=str(DEV))
    evaluate.add_argument("--old", default=str(OLD))
    evaluate.add_argument(
        "--frozen", help="the frozen test CSV: give it only for the final, reported run"
    )
    evaluate.add_argument(
        "--baseline",
        default=BEFORE,
        help="git revision whose rapport/agenda/text.py is the 'before' ('' for none)",
    )
    evaluate.add_argument("--write-docs", help="write the figures into this markdown file")
    evaluate.add_argument(
        "--errors", type=int, default=0, help="print this many CV errors per kind (dev.csv)"
    )
    evaluate.set_defaults(run=_evaluate)
    parsed = parser.parse_args(args)
    return parsed.run(parsed)
