"""The example CSVs read as of today when loaded, and the import preview shows
values as they will be stored, for files as spreadsheets save them."""

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from rapport.clients import examples
from rapport.clients.models import Contact, Permission, Purchase
from rapport.workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_shift_dates_moves_every_date_and_nothing_else():
    data = b"contact,date,amount,text\nC-1,2025-11-18,85.00,call 2025-13-40 or 12025-01-011\n"
    moved = examples.shift_dates(data, 14)
    assert (
        moved == b"contact,date,amount,text\nC-1,2025-12-02,85.00,call 2025-13-40 or 12025-01-011\n"
    )


def test_the_files_are_written_as_of_the_anchor():
    # ANCHOR says which day the files were written for: their last event is
    # within a week before it, and only ask-after dates lie after it.
    past, future = [], []
    for _, data in examples.files(examples.ANCHOR):
        for row in csv.DictReader(io.StringIO(data.decode())):
            for column, value in row.items():
                if value and examples._DATE.fullmatch(value.encode()):
                    (future if column == "ask_after" else past).append(dt.date.fromisoformat(value))
    assert examples.ANCHOR - dt.timedelta(days=7) <= max(past) < examples.ANCHOR
    assert min(future) > examples.ANCHOR


def test_load_examples_reads_as_of_today(db):
    call_command(
        "load_examples", "--workspace", "try-it", "--create", "--time-zone", "Europe/London"
    )
    workspace = Workspace.objects.get(slug="try-it")
    today = workspace.today()
    assert Contact.objects.filter(workspace=workspace).count() == 5
    last_visit = Purchase.objects.filter(workspace=workspace).latest("date").date
    assert today - dt.timedelta(days=7) <= last_visit < today, "a recent visit, not 15 months ago"
    assert Permission.objects.filter(workspace=workspace, ask_after__gt=today).exists()


def test_the_import_page_offers_the_examples_dated_from_today(alice_client, acme):
    response = alice_client.post(reverse("clients:import"), {"examples": "1"})
    assert response.status_code == 302
    page = alice_client.get(response["Location"]).content.decode()
    # Ann's last check-up, 2025-11-18 in the file: two days before today.
    assert (acme.today() - dt.timedelta(days=2)).isoformat() in page
    assert not Contact.objects.filter(workspace=acme).exists(), "nothing before Import"
    alice_client.post(response["Location"])
    assert Contact.objects.filter(workspace=acme).count() == 5


def test_the_preview_shows_stored_values_of_an_excel_semicolon_file(alice_client, acme):
    data = (
        "external_id;first_name;last_name;tags;email_ok\r\nC-1;Zoë;Müller;family;hygiene;true\r\n"
    ).encode("cp1252")
    # A semicolon file with a semicolon list must quote it, as Excel does.
    data = data.replace(b"family;hygiene", b'"family;hygiene"')
    upload = SimpleUploadedFile("contacts.csv", data)
    response = alice_client.post(reverse("clients:import"), {"files": [upload]})
    page = alice_client.get(response["Location"]).content.decode()
    assert "read as semicolon-separated, Windows-1252" in page
    assert "<td>family, hygiene</td>" in page and "<td>yes</td>" in page and "Zoë" in page
    assert "[&#x27;" not in page and "['" not in page and "<td>True</td>" not in page
    assert "error" not in page.split("<h2>")[1].split("</h2>")[0]
