"""The time-zone picker: a <select> grouped by region, sorted by place,
that works without JavaScript; the filter box is hidden until rapport.js
shows it (tested in Chromium in test_staff_pages_browser.py)."""

import re

import pytest
from django.urls import reverse

from rapport.workspaces.forms import TIME_ZONE_CHOICES, TIME_ZONES

pytestmark = pytest.mark.django_db


def test_every_zone_is_offered_once_grouped_by_region():
    groups = dict(TIME_ZONE_CHOICES)
    assert list(groups)[:3] == ["Universal", "Africa", "America"] and list(groups)[-1] == "Other"
    offered = [zone for choices in groups.values() for zone, _ in choices]
    assert sorted(offered) == sorted(TIME_ZONES)
    europe = groups["Europe"]
    assert ("Europe/London", "London") in europe
    assert [label for _, label in europe] == sorted(label for _, label in europe)
    assert ("America/Argentina/Buenos_Aires", "Argentina / Buenos Aires") in groups["America"]
    assert all(
        "/" not in zone or zone.startswith("Etc/") or zone.split("/")[0] not in groups
        for zone, _ in groups["Other"]
    )


def test_the_settings_page_renders_optgroups_and_saves_without_javascript(alice_client, acme):
    page = alice_client.get(reverse("workspaces:settings")).content.decode()
    assert '<optgroup label="Europe">' in page
    assert re.search(r'<option value="Europe/London"[^>]*selected>London</option>', page)
    assert re.search(
        r'<input type="search" class="tz-filter" hidden data-filter-select="id_time_zone"', page
    )
    sign_up = alice_client.get(reverse("workspaces:signup")).content.decode()
    assert '<optgroup label="Asia">' in sign_up
