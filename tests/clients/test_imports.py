"""CSV import: the seven kinds, all-or-nothing files, re-import updates."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from rapport.advocacy.models import Referral
from rapport.clients import imports
from rapport.clients.models import Activity, Contact, Deal, Issue, Permission, Purchase, StageChange
from rapport.workspaces.models import Workspace

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "csv"
ALL = sorted(EXAMPLES.glob("*.csv"))


def run(workspace, *files):
    return imports.import_files(workspace, [(name, data) for name, data in files])


def example_files():
    return [(p.name, p.read_bytes()) for p in ALL]


def counts(workspace):
    return {
        model.__name__: model.objects.filter(workspace=workspace).count()
        for model in (Contact, Purchase, Activity, Deal, Issue, Permission, Referral)
    }


def test_all_seven_kinds_import_and_build_the_record(acme):
    reports = run(acme, *example_files())
    assert [r.kind for r in reports] == [
        "contacts",
        "purchases",
        "activities",
        "deals",
        "issues",
        "permissions",
        "referrals",
    ]
    assert all(r.imported and not r.errors for r in reports)
    assert counts(acme) == {
        "Contact": 5,
        "Purchase": 6,
        "Activity": 4,
        "Deal": 2,
        "Issue": 2,
        "Permission": 2,
        "Referral": 2,
    }
    ann = Contact.objects.get(external_id="C-1001")
    assert (ann.email, ann.relationship, ann.stage, ann.email_ok) == (
        "ann.jones@example.com",
        8,
        "advocate",
        True,
    )
    assert sorted(t.name for t in ann.tags.all()) == ["family", "hygiene"]
    ben = Contact.objects.get(external_id="C-1002")
    assert ben.referred_by == ann
    dev = Contact.objects.get(external_id="C-1004")
    assert dev.organization.name == "Mendes Architects" and dev.referred_by.external_id == "C-1003"
    # The text was read: praise in a visit note, saved_us marked.
    assert "praise" in Activity.objects.get(contact=ann).detected
    assert Issue.objects.get(contact=ann).status == "open"
    assert Issue.objects.get(contact=ben).status == "resolved"
    assert Deal.objects.get(title="Smile makeover").stage == "completed"
    carla = Contact.objects.get(external_id="C-1003")
    assert carla.stage == "advocate"  # referred Dev: promoted from customer
    assert StageChange.objects.filter(contact=carla, reason="referral_given").exists()


def test_reimport_updates_instead_of_duplicating(acme):
    run(acme, *example_files())
    before = counts(acme)
    changed = (
        (EXAMPLES / "contacts.csv")
        .read_text()
        .replace("Prefers morning appointments", "Prefers afternoons")
    )
    reports = run(
        acme, ("contacts.csv", changed), *[f for f in example_files() if f[0] != "contacts.csv"]
    )
    assert counts(acme) == before
    assert Contact.objects.get(external_id="C-1001").notes == "Prefers afternoons"
    contacts = next(r for r in reports if r.kind == "contacts")
    assert (contacts.created, contacts.updated, contacts.unchanged) == (0, 1, 4)
    purchases = next(r for r in reports if r.kind == "purchases")
    assert (purchases.created, purchases.unchanged) == (0, 6)


def test_a_bad_row_at_line_500_leaves_nothing_behind_and_names_line_500(acme):
    rows = ["external_id,first_name,relationship"]
    rows += [f"P-{n},Person {n},5" for n in range(2, 500)]  # file lines 2..499
    rows.append("P-500,Broken,11")  # line 500
    rows += [f"P-{n},Person {n},5" for n in range(501, 600)]
    reports = run(acme, ("contacts.csv", "\n".join(rows) + "\n"))
    assert not reports[0].imported
    assert [str(e) for e in reports[0].errors] == [
        "contacts.csv:500: relationship: must be between 1 and 10, not 11"
    ]
    assert Contact.objects.filter(workspace=acme).count() == 0


def test_a_row_naming_an_unknown_contact_fails_its_file_only(acme):
    run(acme, ("contacts.csv", (EXAMPLES / "contacts.csv").read_bytes()))
    purchases = "contact,date\nC-1001,2025-01-01\nC-9999,2025-01-02\n"
    deals = "contact,title\nC-1001,Implant\n"
    reports = run(acme, ("purchases.csv", purchases), ("deals.csv", deals))
    bad = next(r for r in reports if r.kind == "purchases")
    assert [str(e) for e in bad.errors] == [
        "purchases.csv:3: contact: no contact with external_id 'C-9999'"
    ]
    assert Purchase.objects.count() == 0
    assert Deal.objects.count() == 1


def test_contacts_of_another_workspace_are_not_reachable_by_import(acme, bright):
    run(bright, ("contacts.csv", "external_id,first_name\nB-1,Bob's client\n"))
    reports = run(acme, ("purchases.csv", "contact,date\nB-1,2025-01-01\n"))
    assert "no contact with external_id 'B-1'" in str(reports[0].errors[0])
    assert Purchase.objects.count() == 0


def test_kind_detected_from_the_header_when_the_name_says_nothing(acme):
    reports = run(acme, ("export-2026.csv", "external_id,first_name\nX-1,Xena\n"))
    assert reports[0].kind == "contacts" and reports[0].imported


def test_command_line_import_creates_the_workspace_and_reports(tmp_path, capsys):
    call_command("import_csv", *map(str, ALL), "--workspace", "new-practice", "--create")
    out = capsys.readouterr().out
    workspace = Workspace.objects.get(slug="new-practice")
    assert counts(workspace)["Contact"] == 5
    assert "contacts.csv: contacts: 5 added, 0 updated, 0 unchanged" in out


def test_command_line_dry_run_writes_nothing(acme, capsys):
    call_command("import_csv", *map(str, ALL), "--workspace", acme.slug, "--dry-run")
    assert counts(acme)["Contact"] == 0
    assert "5 contacts rows are valid" in capsys.readouterr().out


def test_command_line_errors_name_file_and_line_and_fail(acme, tmp_path, capsys):
    bad = tmp_path / "contacts.csv"
    bad.write_text("external_id,first_name,colour\nA,Ann,red\n")
    with pytest.raises(CommandError):
        call_command("import_csv", str(bad), "--workspace", acme.slug)
    assert "contacts.csv:1: unknown column 'colour'" in capsys.readouterr().err
    with pytest.raises(CommandError, match="No workspace"):
        call_command("import_csv", str(bad), "--workspace", "nope")


def test_web_import_previews_then_imports_on_confirm(alice_client, acme):
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = [SimpleUploadedFile(p.name, p.read_bytes()) for p in ALL]
    response = alice_client.post(reverse("clients:import"), {"files": files})
    assert response.status_code == 302
    preview = alice_client.get(response["Location"])
    page = preview.content.decode()
    assert "ann.jones@example.com" in page and "Import</button>" in page
    assert counts(acme)["Contact"] == 0  # nothing before confirming
    alice_client.post(response["Location"])
    assert counts(acme)["Contact"] == 5
    assert alice_client.get(response["Location"]).status_code == 404  # the batch is gone


def test_web_import_shows_errors_and_imports_only_valid_files(alice_client, acme):
    from django.core.files.uploadedfile import SimpleUploadedFile

    good = SimpleUploadedFile("contacts.csv", b"external_id,first_name\nA-1,Ann\n")
    bad = SimpleUploadedFile("purchases.csv", b"contact,date\nA-1,2025-13-01\n")
    response = alice_client.post(reverse("clients:import"), {"files": [good, bad]})
    page = alice_client.get(response["Location"]).content.decode()
    assert "purchases.csv:2: date: &#x27;2025-13-01&#x27; is not a date" in page
    alice_client.post(response["Location"])
    assert counts(acme)["Contact"] == 1 and counts(acme)["Purchase"] == 0


def test_web_import_refuses_non_csv(alice_client, acme):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = alice_client.post(
        reverse("clients:import"), {"files": [SimpleUploadedFile("x.exe", b"MZ")]}
    )
    assert response.status_code == 200
    assert "is not a .csv file" in response.content.decode()
