"""A read writes nothing: building an agenda for any day, explaining a
contact, `rapport agenda --date … --json`, the win-back page and its CSV, the
contact page and Today (its stored agenda current) leave every table as it
was — checked row by row, on SQLite and on PostgreSQL alike."""

import datetime as dt
import hashlib

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from rapport.agenda import engine, store
from rapport.agenda.models import AgendaItem
from rapport.clients import actions
from rapport.clients.models import Organization, Stage
from rapport.winback import actions as winback
from rapport.workspaces.models import Workspace
from tests import factories

pytestmark = pytest.mark.django_db


def checksum() -> dict[str, tuple[int, str]]:
    """Every table: its row count and a hash of all its rows (in any order)."""
    found = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = sorted(repr(row) for row in cursor.fetchall())
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            found[table] = (len(rows), digest)
    return found


def changed(before: dict, after: dict) -> list[str]:
    return [
        table for table in before.keys() | after.keys() if before.get(table) != after.get(table)
    ]


@pytest.fixture
def practice(acme, today):
    """A workspace with a bit of everything the rules read, its morning job run."""
    d = lambda n: today + dt.timedelta(days=n)  # noqa: E731
    with factories.batch():
        ann = factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)
        factories.activity(ann, d(-1), signals=["praise"], text="Lovely visit")
        factories.referral(ann, d(-3))
        org = Organization.objects.create(workspace=acme, name="Globex")
        bob = factories.client_with_history(acme, today, first_name="Bob", organization=org)
        actions.open_issue(bob, "Invoice charged twice", opened_on=d(-2))
        words = "Nobody called back about the leak."
        factories.read_note(bob, d(-1), words, {"complaint": words})
        cy = factories.client_with_history(acme, today, first_name="Cy")
        actions.record_permission(cy, kind="both", ask_after=d(-1), granted_on=d(-90))
        for n in range(4):
            lapsed = factories.contact(acme, first_name=f"Lapsed{n}", relationship=7)
            factories.purchases(lapsed, [d(-200 - 45 * k) for k in range(4)])
        nia = factories.contact(acme, first_name="Nia", relationship=5)
        factories.purchases(nia, [d(-2)])
        factories.deal(nia, "Whitening", won_on=d(-2), value=400)
        factories.contact(acme, first_name="Pro", stage=Stage.PROSPECT)
        factories.answer(cy, d(-4), 8)
    # The morning job: the lapse model refitted, the day's agenda stored.
    winback.refit_lapse_model(acme, today)
    store.refresh(acme, today)
    acme.refresh_from_db()
    assert acme.agenda_date == today and AgendaItem.objects.exists()
    return acme, ann


def test_no_read_writes_a_row(practice, alice_client, today, capsys):
    workspace, ann = practice
    before = checksum()

    for on in (today - dt.timedelta(days=40), today, today + dt.timedelta(days=40)):
        items, _, _ = engine.build(workspace, on)
        assert items
        engine.explain(ann, on)
        engine.ask_blockers(ann, on)
    past = (today - dt.timedelta(days=40)).isoformat()
    call_command("agenda", "--workspace", workspace.slug, "--date", past, "--json")
    assert capsys.readouterr().out.startswith("{")
    pages = [
        reverse("winback:winback"),
        reverse("winback:winback") + "?show=lapsed&sort=name",
        reverse("winback:export"),
        reverse("clients:detail", args=[ann.pk]),
        reverse("agenda:today"),
        reverse("agenda:today") + "?scope=all&page=2",
    ]
    for url in pages:
        assert alice_client.get(url).status_code == 200, url

    # The win-back CSV is an export of personal data: its one write is the
    # security log's row (as tests/workspaces/test_reads.py allows it).
    assert changed(before, checksum()) == ["workspaces_auditevent"]


def test_an_agenda_built_for_a_past_day_leaves_the_lapse_model_alone(practice, today):
    workspace, _ = practice
    stored = Workspace.objects.get(pk=workspace.pk).lapse_model
    assert stored.get("fitted_on") == today.isoformat()
    for days in (400, 30, 1):
        engine.build(workspace, today - dt.timedelta(days=days))
    assert Workspace.objects.get(pk=workspace.pk).lapse_model == stored


def test_today_fills_the_day_s_agenda_when_the_morning_job_did_not_run(
    practice, alice_client, today
):
    # The stored agenda is a derived cache: Today fills it for the day. The
    # lapse model is the morning job's alone, and is not refitted here.
    workspace, ann = practice
    yesterday = today - dt.timedelta(days=1)
    Workspace.objects.filter(pk=workspace.pk).update(agenda_date=yesterday)
    AgendaItem.objects.all().delete()
    stored = Workspace.objects.get(pk=workspace.pk).lapse_model
    assert alice_client.get(reverse("agenda:today")).status_code == 200
    refreshed = Workspace.objects.get(pk=workspace.pk)
    assert refreshed.agenda_date == today
    assert AgendaItem.objects.filter(contact=ann).exists()
    assert refreshed.lapse_model == stored
