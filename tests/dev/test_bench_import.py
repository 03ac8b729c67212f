"""`rapport bench import` end to end, small: the CSVs generated, the floor and
ours run on a fresh database of the bench's own, the JSON it promises. Its
figures at 50,000 contacts and 1,000,000 purchases are for docs/benchmarks.md,
never asserted here."""

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_import_runs_end_to_end_and_prints_its_json(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rapport.cli",
            "bench",
            "import",
            "--contacts",
            "200",
            "--purchases",
            "2000",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"seconds", "floor_seconds", "ratio", "peak_rss_mb", "phases"} <= set(figures)
    assert figures["rows_written"]["contacts"] == 200
    # The generator repeats a few (contact, day, amount) rows: the import keeps one of each.
    assert 1900 < figures["rows_written"]["purchases"] <= 2000
    assert "write purchases.csv" in figures["phases"]
    assert "refresh agenda" in figures["phases"]
