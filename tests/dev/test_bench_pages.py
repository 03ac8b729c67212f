"""`rapport bench pages` end to end, small: the bulk-built workspace, the
morning job, the real server signed in over HTTP, every page timed with its
query count, and a client page under an open-loop load. Figures are for
docs/benchmarks.md, never asserted here."""

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_bench_pages_runs_end_to_end_on_a_small_workspace(tmp_path):
    env = {**os.environ, "RAPPORT_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rapport.cli",
            "bench",
            "pages",
            "--contacts",
            "200",
            "--repeat",
            "2",
            "--requests",
            "40",
            "--rate",
            "20",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["contacts"] == 200
    assert {"today", "contacts", "search", "contact", "winback", "winback_export"} <= set(
        figures["pages"]
    )
    for name, page in figures["pages"].items():
        assert {"median_ms", "p95_ms", "queries", "bytes"} <= set(page), name
        assert page["queries"] > 0, name  # the server counted them
    assert {"rate", "errors", "p99_ms"} <= set(figures["public"])
    assert figures["public"]["errors"] == 0
