"""`rapport bench agenda` runs end to end on a small workspace (its figures
are for docs/benchmarks.md, not for the test suite: none is asserted here)."""

import json

import pytest

from rapport.agenda import bench
from rapport.clients import rhythm
from rapport.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

SPREAD = {"min", "median", "max"}


def test_bench_agenda_builds_refreshes_measures_and_cleans_up(capsys):
    assert bench.main(["--contacts", "300", "--repeat", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["contacts"] == 300
    assert result["purchases"] >= 300 * 15 and result["activities"] >= 300 * 20
    assert result["agenda_items"] > 0
    assert result["refresh_seconds"] > 0 and result["floor_seconds"] > 0
    assert not Workspace.objects.filter(slug__startswith="bench-agenda").exists()


def test_bench_agenda_json_keeps_its_keys_and_adds_the_new_ones(capsys):
    assert bench.main(["--contacts", "200", "--repeat", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # The keys it always had.
    for key in (
        "database",
        "contacts",
        "purchases",
        "activities",
        "build_seconds",
        "agenda_items",
        "first_refresh_seconds",
        "refresh_seconds",
        "floor_seconds",
        "ratio",
    ):
        assert key in result, key
    # Both floor forms, measured as often as the refresh, and the faster one is the floor.
    assert set(result["floors"]) == {"join", "subquery"}
    assert result["floor_form"] in result["floors"]
    assert result["repeat"] == 2 and result["interleaved"] is True
    fastest = result["floors"][result["floor_form"]]["wall"]["median"]
    assert all(fastest <= floor["wall"]["median"] for floor in result["floors"].values())
    for summary in (result["refresh"], result["morning"], *result["floors"].values()):
        assert set(summary["wall"]) == SPREAD and set(summary["cpu"]) == SPREAD
        assert summary["wall"]["min"] <= summary["wall"]["median"] <= summary["wall"]["max"]
    assert set(result["ratio_against"]) == {"join", "subquery"}
    assert result["refresh_cpu_seconds"] > 0 and result["floor_cpu_seconds"] > 0
    assert "cpu_ratio" in result and result["cpu_time"]
    # The morning job (the lapse model refitted) as its own figure.
    assert result["morning_seconds"] > 0 and result["morning_cpu_seconds"] > 0
    assert set(result["morning"]["hook_wall"]) == SPREAD
    assert result["lapse_model"]
    assert result["peak_rss_mb"] > 0 and result["build_peak_rss_mb"] > 0
    assert set(result["load_average"]) == {"before", "after"}


def test_bench_agenda_prints_a_readable_report(capsys):
    assert bench.main(["--contacts", "100", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "floor, join form" in out and "floor, subquery form" in out
    assert "morning job" in out and "peak memory" in out


def test_the_bench_workspace_carries_what_the_nightly_rhythm_job_keeps():
    """The build writes rhythms itself (not rhythm.update, far too slow at a
    million contacts): they must be what rhythm.update would store."""
    workspace = bench.build(150, log=lambda message: None)
    try:
        assert rhythm.update(workspace) == 0
    finally:
        bench.drop_workspace(workspace.slug)
