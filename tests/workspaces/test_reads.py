"""A read never writes: a GET of every route in the table, signed in or
following a client's secret link, leaves the database exactly as it was —
link scanners open every emailed link, and a page shown must not count as an
answer."""

import pytest
from django.test import Client
from django.urls import reverse

from rapport.workspaces.models import AuditEvent
from tests.workspaces.routes import PUBLIC, ROUTES, database_checksum, url_args

pytestmark = pytest.mark.django_db

GETS = sorted(name for name, entry in ROUTES.items() if entry["GET"])
# A read that discloses personal data is itself a security event: its only
# write is one row appended to the security log per request.
AUDITED_READS = {"outreach:export"}


@pytest.mark.parametrize("name", GETS)
def test_a_get_changes_nothing(name, objects, alice):
    entry = ROUTES[name]
    client = Client()
    if entry["GET"] != PUBLIC:
        client.force_login(alice)
    url = reverse(name, args=url_args(entry, objects))
    before, events = database_checksum(), AuditEvent.objects.count()
    for _ in range(3):  # and not the second or third time either
        response = client.get(url)
        assert response.status_code < 500, (name, response.status_code)
    after = database_checksum()
    changed = sorted(table for table in before if before[table] != after.get(table))
    if name in AUDITED_READS:
        assert changed == ["workspaces_auditevent"], f"GET {name} changed {changed}"
        assert AuditEvent.objects.count() == events + 3
    else:
        assert not changed, f"GET {name} changed {changed}"


def test_public_links_answer_a_get_with_their_page(objects):
    client = Client()
    for name in ("outreach:page", "outreach:unsubscribe", "outreach:calendar_feed"):
        entry = ROUTES[name]
        response = client.get(reverse(name, args=url_args(entry, objects)))
        assert response.status_code == 200, name
