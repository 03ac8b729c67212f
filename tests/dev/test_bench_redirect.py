"""`rapport bench redirect` end to end, small: the real server (as `rapport
up` starts it) on a loopback port, a second process sending the requests, and
the click counter read back from the database. Its figures at 200 requests
per second are for docs/benchmarks.md, not for the suite."""

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_every_request_from_a_second_process_is_one_click():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rapport.cli",
            "bench",
            "redirect",
            "--requests",
            "40",
            "--rate",
            "10",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) == {
        "requests",
        "errors",
        "clicks_recorded",
        "p50_ms",
        "p99_ms",
        "requests_per_second",
    }
    assert (figures["requests"], figures["errors"], figures["clicks_recorded"]) == (40, 0, 40)
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
