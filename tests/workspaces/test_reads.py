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
AUDITED_READS = {"outreach:export", "advocacy:insights_csv", "winback:export"}
# Click counters: a click through a link is the fact itself (DESIGN: "/r/<code>
# counts the click atomically"); each GET appends a click and changes nothing else.
COUNTED_CLICKS = {
    "advocacy:review_go": "advocacy_reviewclick",
    "advocacy:landing": "advocacy_referralcode",  # ReferralCode.clicks + 1
}


def test_no_get_changes_the_database(objects, alice):
    """Every GET route of the table, three times each (one fixture for all:
    building it per route would triple the suite's time)."""
    signed_in = Client()
    signed_in.force_login(alice)
    problems = []
    for name in GETS:
        entry = ROUTES[name]
        client = Client() if entry["GET"] == PUBLIC else signed_in
        url = reverse(name, args=url_args(entry, objects))
        before, events = database_checksum(), AuditEvent.objects.count()
        statuses = {client.get(url).status_code for _ in range(3)}
        after = database_checksum()
        changed = sorted(table for table in before if before[table] != after.get(table))
        if max(statuses) >= 500:
            problems.append(f"GET {name}: {statuses}")
        if name in AUDITED_READS:
            if changed != ["workspaces_auditevent"] or AuditEvent.objects.count() != events + 3:
                problems.append(f"GET {name} changed {changed}")
        elif name in COUNTED_CLICKS:
            if changed != [COUNTED_CLICKS[name]]:
                problems.append(f"GET {name} changed {changed}")
        elif changed:
            problems.append(f"GET {name} changed {changed}")
    assert len(GETS) > 30
    assert not problems, "\n".join(problems)


def test_public_links_answer_a_get_with_their_page(objects):
    client = Client()
    for name in ("outreach:page", "outreach:unsubscribe", "outreach:calendar_feed"):
        entry = ROUTES[name]
        response = client.get(reverse(name, args=url_args(entry, objects)))
        assert response.status_code == 200, name
