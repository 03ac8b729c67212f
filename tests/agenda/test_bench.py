"""`rapport bench agenda` runs end to end on a small workspace (its figures
are for docs/benchmarks.md, not for the test suite)."""

import json

import pytest

from rapport.agenda import bench
from rapport.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_bench_agenda_builds_refreshes_measures_and_cleans_up(capsys):
    assert bench.main(["--contacts", "300", "--repeat", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["contacts"] == 300
    assert result["purchases"] >= 300 * 15 and result["activities"] >= 300 * 20
    assert result["agenda_items"] > 0
    assert result["refresh_seconds"] > 0 and result["floor_seconds"] > 0
    assert not Workspace.objects.filter(slug__startswith="bench-agenda").exists()
