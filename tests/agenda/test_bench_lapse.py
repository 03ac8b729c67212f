"""`rapport bench lapse` times both sides in interleaved rounds and reports
the spread and CPU time of each step (figures are never asserted)."""

import json

from rapport.winback import bench

SPREAD = {"min", "median", "max"}


def test_lapse_bench_reports_each_steps_spread_in_wall_and_cpu_time(capsys):
    assert bench.main(["--customers", "2000", "--json", "--no-lifetimes", "--repeat", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["interleaved"] is True and report["repeat"] == 2
    for step in ("summary", "fit", "score"):
        timing = report["ours"]["timings"][step]
        assert set(timing) == {"wall", "cpu"}
        assert set(timing["wall"]) == SPREAD and set(timing["cpu"]) == SPREAD
        # The old key stays: the best of the rounds.
        assert report["ours"][f"{step}_seconds"] == timing["wall"]["min"]
    # Without lifetimes, the output says so and ours is still measured.
    assert "unavailable" in report["lifetimes"]
