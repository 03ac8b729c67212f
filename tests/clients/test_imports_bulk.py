"""The bulk import: streamed files, all-or-nothing at size, re-import changes
nothing, derived facts as the row-by-row code computed them, fresh planner
statistics, progress in phases, large web imports in the background."""

import datetime as dt
import hashlib
import io
import random
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from rapport.clients import imports, ladder, rhythm
from rapport.clients.models import (
    ConsentRecord,
    Contact,
    Organization,
    Purchase,
    StageChange,
    Tag,
)
from rapport.lib.progress import Progress
from tests import factories

pytestmark = pytest.mark.django_db

START = dt.date(2024, 1, 1)


def contacts_csv(n: int, bad_line: int | None = None) -> str:
    rows = ["external_id,first_name,last_name,email,organization,relationship,tags,email_ok"]
    for i in range(n):
        line = i + 2
        relationship = "11" if line == bad_line else str(i % 10 + 1)
        rows.append(
            f"C-{i},First {i},Last {i},p{i}@example.com,Org {i % 7},{relationship},"
            f"{'a;b' if i % 2 else 'c'},{'true' if i % 3 else 'false'}"
        )
    return "\n".join(rows) + "\n"


def purchases_csv(contacts: int, n: int, bad_line: int | None = None, seed: int = 1) -> str:
    rng = random.Random(seed)
    rows = ["contact,date,amount,description"]
    for i in range(n):
        line = i + 2
        day = START + dt.timedelta(days=rng.randint(0, 700))
        date = "2024-13-01" if line == bad_line else day.isoformat()
        amount = f"{rng.randint(10, 300)}.{rng.choice(['00', '50'])}" if i % 5 else ""
        rows.append(f"C-{i % contacts},{date},{amount},Visit {i % 3}")
    return "\n".join(rows) + "\n"


def checksum(workspace) -> dict[str, str]:
    """Every row of the record's tables an import writes, hashed per table."""
    sums = {}
    for model in (Contact, Purchase, StageChange, ConsentRecord, Organization, Tag):
        rows = list(model.objects.filter(workspace=workspace).order_by("pk").values_list())
        sums[model.__name__] = hashlib.sha256(repr(rows).encode()).hexdigest()
    through = Contact.tags.through.objects.filter(contact__workspace=workspace)
    rows = list(through.order_by("pk").values_list())
    sums["tags"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return sums


def test_a_bad_row_near_the_end_of_a_large_file_leaves_nothing(acme):
    reports = imports.import_files(
        acme,
        [
            ("contacts.csv", contacts_csv(300)),
            ("purchases.csv", purchases_csv(300, 3000, bad_line=2999)),
        ],
    )
    contacts, purchases = reports
    assert contacts.imported and contacts.created == 300
    assert not purchases.imported
    assert [str(e) for e in purchases.errors] == [
        "purchases.csv:2999: date: '2024-13-01' is not a date in the form YYYY-MM-DD"
    ]
    assert not Purchase.objects.filter(workspace=acme).exists()


def test_a_bad_contact_near_the_end_leaves_no_contact_and_no_purchase(acme, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(contacts_csv(3000, bad_line=2990))
    reports = imports.import_files(
        acme, [("contacts.csv", path), ("purchases.csv", purchases_csv(3000, 50))]
    )
    assert [str(e) for e in reports[0].errors] == [
        "contacts.csv:2990: relationship: must be between 1 and 10, not 11"
    ]
    # The purchases name contacts of the failed file: refused too.
    assert not reports[1].imported
    assert not Contact.objects.filter(workspace=acme).exists()
    assert not StageChange.objects.filter(workspace=acme).exists()


def test_reimporting_the_same_large_files_changes_nothing(acme, tmp_path):
    (tmp_path / "contacts.csv").write_text(contacts_csv(600))
    (tmp_path / "purchases.csv").write_text(purchases_csv(600, 3000))
    files = [(name, tmp_path / name) for name in ("contacts.csv", "purchases.csv")]
    first = imports.import_files(acme, files)
    assert all(r.imported for r in first)
    created = Purchase.objects.filter(workspace=acme).count()
    assert first[1].created == created and created > 2900  # a few repeats in the file
    before = checksum(acme)
    again = imports.import_files(acme, files)
    assert checksum(acme) == before
    assert (again[0].created, again[0].updated, again[0].unchanged) == (0, 0, 600)
    assert (again[1].created, again[1].unchanged) == (0, 3000)


def test_a_changed_contacts_file_updates_only_what_it_changes(acme):
    imports.import_files(acme, [("contacts.csv", contacts_csv(20))])
    ann = Contact.objects.get(workspace=acme, external_id="C-4")
    changed = (
        contacts_csv(20)
        .replace("C-4,First 4,", "C-4,Anne,")
        .replace("p4@example.com,Org 4,5,c,true", "p4@example.com,Org 4,9,c,false")
    )
    [report] = imports.import_files(acme, [("contacts.csv", changed)])
    assert (report.created, report.updated, report.unchanged) == (0, 1, 19)
    ann.refresh_from_db()
    assert (ann.first_name, ann.relationship, ann.email_ok) == ("Anne", 9, False)
    assert ann.relationship_on == acme.today()
    assert not ConsentRecord.objects.latest_for(ann, "email").granted


def test_the_rhythm_in_sql_is_the_rhythm_numpy_computes(acme):
    rng = random.Random(3)
    contacts = [factories.contact(acme, first_name=f"P{i}") for i in range(40)]
    rows = []
    for contact in contacts:
        for _ in range(rng.randint(0, 12)):
            day = START + dt.timedelta(days=rng.randint(0, 400))
            amount = Decimal(rng.randint(1, 5000)) / 4 if rng.random() < 0.8 else None
            rows.append(Purchase(workspace=acme, contact=contact, date=day, amount=amount))
    Purchase.objects.bulk_create(rows)
    rhythm.update(acme)

    ids = np.array([p.contact_id for p in rows], dtype=np.int64)
    days = np.array([p.date for p in rows], dtype="datetime64[D]").astype(np.int64)
    amounts = np.array([float(p.amount) if p.amount is not None else np.nan for p in rows])
    owners, medians = rhythm.medians(ids, days)
    expected_rhythm = dict(zip(owners.tolist(), np.rint(medians).astype(int).tolist(), strict=True))
    typical = rhythm.typical_amounts(ids, amounts)
    first = rhythm.first_amounts(ids, days, amounts)
    # To the cent: on an exact half-cent tie the database rounds away from
    # zero where NumPy rounds to even (a quarter-unit mean like 686.625).
    for contact in Contact.objects.filter(workspace=acme):
        assert contact.rhythm_days == expected_rhythm.get(contact.pk)
        assert contact.typical_amount == pytest.approx(typical.get(contact.pk), abs=0.0101)
        assert contact.first_amount == pytest.approx(first.get(contact.pk), abs=0.0101)


def test_promotions_in_sql_are_the_ladders(acme):
    """Imported purchases promote as best_promotion says, with its reason."""
    csv = "external_id,first_name,stage\nA,Ann,prospect\nB,Ben,suspect\nC,Cy,advocate\nD,Di,\n"
    purchases = (
        "contact,date\nA,2025-01-01\nA,2025-02-01\nB,2025-01-01\nB,2025-01-01\nC,2025-01-01\n"
    )
    imports.import_files(acme, [("contacts.csv", csv), ("purchases.csv", purchases)])
    stages = dict(Contact.objects.filter(workspace=acme).values_list("external_id", "stage"))
    assert stages == {"A": "member", "B": "customer", "C": "advocate", "D": "prospect"}
    expected = ladder.best_promotion(ladder.LadderFacts(purchases=2))
    assert StageChange.objects.filter(contact__external_id="A", reason=expected[0]).exists()
    # Ben bought twice on one day: one purchase day, a first purchase.
    assert StageChange.objects.get(contact__external_id="B", from_stage="suspect").reason == (
        "first_purchase"
    )


def test_the_import_refreshes_the_planner_statistics(acme):
    imports.import_files(
        acme, [("contacts.csv", contacts_csv(50)), ("purchases.csv", purchases_csv(50, 500))]
    )
    table = Purchase._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            assert cursor.fetchone()[0] == Purchase.objects.count()
        else:
            cursor.execute("SELECT stat FROM main.sqlite_stat1 WHERE tbl = %s", [table])
            stats = [row[0] for row in cursor.fetchall()]
            assert stats and all(stat.split()[0].isdigit() for stat in stats)


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's statistics")
def test_on_postgresql_the_purchase_table_is_analysed(acme):
    imports.import_files(
        acme, [("contacts.csv", contacts_csv(50)), ("purchases.csv", purchases_csv(50, 800))]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples, relpages FROM pg_class WHERE relname = %s",
            [Purchase._meta.db_table],
        )
        reltuples, _ = cursor.fetchone()
    # Never analysed, reltuples is -1 (PostgreSQL 14+) and the planner guesses.
    assert reltuples == Purchase.objects.count() > 700


class Recorder(Progress):
    def __init__(self):
        super().__init__()
        self.seen = []

    def phase(self, name, total=None):
        super().phase(name, total)
        self.seen.append((name, total))


def test_progress_covers_every_phase(acme):
    recorder = Recorder()
    imports.import_files(
        acme,
        [("contacts.csv", contacts_csv(30)), ("purchases.csv", purchases_csv(30, 120))],
        progress=recorder,
    )
    assert [name for name, _ in recorder.seen] == [
        "parse+validate contacts.csv",
        "parse+validate purchases.csv",
        "write contacts.csv",
        "write purchases.csv",
        "analyze",
        "derive: ladder promotions",
        "derive: rhythms and usual spend",
        "refresh agenda",
        "done",
    ]
    assert dict(recorder.seen)["parse+validate purchases.csv"] == 120


def test_the_command_line_prints_plain_progress_lines_off_a_terminal(acme, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text(contacts_csv(10))
    out = io.StringIO()
    call_command("import_csv", str(path), "--workspace", acme.slug, stdout=out)
    lines = out.getvalue().splitlines()
    assert "import: write contacts.csv 0/10" in lines
    assert "import: refresh agenda" in lines
    assert "contacts.csv: contacts: 10 added, 0 updated, 0 unchanged" in lines


@pytest.fixture
def run_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _upload(client, name: str, text: str) -> str:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("clients:import"), {"files": [SimpleUploadedFile(name, text.encode())]}
    )
    assert response.status_code == 302
    return response.url.rstrip("/").split("/")[-1]


def test_a_large_web_import_runs_in_the_background_and_shows_its_end(
    alice_client, acme, monkeypatch, run_tasks
):
    from rapport.clients import imports_views

    monkeypatch.setattr(imports_views, "BACKGROUND_ROWS", 100)
    batch = _upload(alice_client, "contacts.csv", contacts_csv(150))
    response = alice_client.post(reverse("clients:import_preview", args=[batch]))
    status_url = reverse("clients:import_status", args=[batch])
    assert response.status_code == 302 and response.url == status_url
    page = alice_client.get(status_url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "The import is done." in text and "150 added, 0 updated, 0 unchanged" in text
    assert 'http-equiv="refresh"' not in text  # the end state stays put
    assert Contact.objects.filter(workspace=acme).count() == 150
    # The uploaded file is gone; only the status stays.
    assert not list((Path(imports_views._batch_dir(acme, batch))).glob("*.csv"))


def test_a_queued_web_import_page_follows_it_without_javascript(alice_client, acme, monkeypatch):
    from rapport.clients import imports_views

    monkeypatch.setattr(imports_views, "BACKGROUND_ROWS", 100)
    batch = _upload(alice_client, "contacts.csv", contacts_csv(150))
    alice_client.post(reverse("clients:import_preview", args=[batch]))  # the dummy backend waits
    page = alice_client.get(reverse("clients:import_status", args=[batch]))
    text = page.content.decode()
    assert 'http-equiv="refresh"' in text and "Waiting for the worker" in text
    assert not Contact.objects.filter(workspace=acme).exists()
    # The preview of a started import goes to its status.
    assert alice_client.get(reverse("clients:import_preview", args=[batch])).status_code == 302


def test_a_small_web_import_stays_synchronous(alice_client, acme):
    batch = _upload(alice_client, "contacts.csv", contacts_csv(5))
    response = alice_client.post(reverse("clients:import_preview", args=[batch]))
    assert response.url == reverse("clients:list")
    assert Contact.objects.filter(workspace=acme).count() == 5


def test_another_workspace_cannot_see_an_import_status(alice_client, acme, bright, monkeypatch):
    from rapport.clients import imports_views, tasks

    folder = imports_views._batch_dir(bright, "abc123")
    folder.mkdir(parents=True)
    tasks.write_status(folder, {"state": "queued", "phases": []})
    assert alice_client.get(reverse("clients:import_status", args=["abc123"])).status_code == 404


def test_two_files_of_one_kind_in_one_import_each_go_in(acme):
    second = "external_id,first_name\nX-1,Xena\nX-2,Yann\n"
    reports = imports.import_files(
        acme,
        [
            ("contacts-a.csv", contacts_csv(3)),
            ("contacts-b.csv", second),
            ("purchases.csv", "contact,date\nX-2,2025-01-01\nC-1,2025-01-02\n"),
        ],
    )
    assert [r.created for r in reports] == [3, 2, 2]
    assert Contact.objects.filter(workspace=acme).count() == 5
    assert Contact.objects.get(external_id="X-2").stage == "customer"


def test_a_large_batch_previews_its_first_rows_without_reading_it_all(
    alice_client, acme, monkeypatch
):
    from rapport.clients import imports_views

    monkeypatch.setattr(imports_views, "BACKGROUND_ROWS", 100)
    batch = _upload(alice_client, "contacts.csv", contacts_csv(150, bad_line=140))
    page = alice_client.get(reverse("clients:import_preview", args=[batch]))
    text = page.content.decode()
    assert "These files are large" in text and "First 0" in text
    assert "must be between 1 and 10" not in text  # found by the import, not the preview
