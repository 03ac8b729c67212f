"""`rapport bench feed` end to end: a fresh database, the real server, a
small bounded load from another process, and the JSON it prints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_bench_feed_runs_end_to_end_and_reports(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["RAPPORT_VAR_DIR"] = str(tmp_path)
    rapport = Path(sys.executable).with_name("rapport")
    run = subprocess.run(
        [str(rapport), "bench", "feed", "--requests", "60", "--rate", "30", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["requests"] == 60 and result["errors"] == 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["feed_bytes"] > 1000
    assert 0 < result["widget_gzip_bytes"] < result["widget_bytes"] < 6 * 1024


def test_bench_feed_refuses_an_unbounded_load():
    from rapport.dev.bench_feed import main

    with pytest.raises(SystemExit):
        main(["--requests", "1000000"])
