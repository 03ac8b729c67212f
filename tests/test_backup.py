"""Backups that restore: `rapport backup` run (in its own process) while
the app writes continuously (a thread committing a contact and its activity
in each transaction), then `rapport restore` into a fresh database.

The restored database passes its integrity check; every table the writer
did not touch is identical, row for row, to the source; the writer's two
tables hold exactly a prefix of what it wrote, and never a contact without
its activity (each transaction whole or absent). Runs on whichever database
the suite runs on: SQLite, or PostgreSQL where pg_dump is installed.
"""

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import close_old_connections, connection, transaction

from rapport.clients.models import Activity, Contact
from tests import factories

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WRITTEN = ("clients_contact", "clients_activity")
# SQLite's full-text index of the contacts (clients.0006) and its shadow
# tables: written by triggers with every contact, so checked as an index —
# whole, and holding exactly the restored contacts — not row for row.
SEARCH = "clients_contact_search"
SEED = 3000


def rapport_command() -> list[str]:
    script = Path(sys.executable).parent / "rapport"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rapport.cli"]


def _url(name: str) -> str:
    if connection.vendor == "sqlite":
        return f"sqlite:///{name}"
    settings = connection.settings_dict
    user = settings["USER"] or "postgres"
    return f"postgres://{user}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{name}"


def _rapport(args, database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "RAPPORT_VAR_DIR": str(tmp_path / "var")}
    return subprocess.run(
        [*rapport_command(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )


class Writer(threading.Thread):
    """The app writing, as fast as it can, until told to stop."""

    def __init__(self, workspace):
        super().__init__(daemon=True)
        self.workspace, self.count, self.stop = workspace, 0, threading.Event()
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                with transaction.atomic():
                    contact = Contact.objects.create(
                        workspace=self.workspace, external_id=f"W-{self.count}", first_name="W"
                    )
                    Activity.objects.create(
                        workspace=self.workspace,
                        contact=contact,
                        kind="note",
                        direction="in",
                        occurred_on=self.workspace.today(),
                        text=f"write {self.count}",
                    )
                self.count += 1
        except Exception as error:  # reported by the test
            self.error = error
        finally:
            close_old_connections()
            connection.close()


def _rows(cursor, table):
    cursor.execute(f'SELECT * FROM "{table}"')
    columns = [c[0] for c in cursor.description]
    return columns, cursor.fetchall()


def _tables(cursor, vendor):
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    else:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
    return sorted(row[0] for row in cursor.fetchall())


def snapshot(cursor, vendor) -> dict:
    """Per table: (row count, checksum of the sorted rows, rows by id)."""
    found = {}
    for table in _tables(cursor, vendor):
        columns, rows = _rows(cursor, table)
        digest = hashlib.sha256()
        for row in sorted(repr(tuple(r)) for r in rows):
            digest.update(row.encode())
        by_id = {r[columns.index("id")]: tuple(r) for r in rows} if "id" in columns else {}
        found[table] = (len(rows), digest.hexdigest(), by_id)
    return found


def _open(vendor, name):
    if vendor == "sqlite":
        return sqlite3.connect(name)
    import psycopg

    return psycopg.connect(_url(name))


@pytest.fixture
def fresh_database(tmp_path):
    if connection.vendor == "sqlite":
        yield str(tmp_path / "restored.sqlite3")
        return
    import psycopg

    name = f"{connection.settings_dict['NAME']}_restored"
    admin = psycopg.connect(_url("postgres"), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_a_backup_taken_while_the_app_writes_restores_whole(tmp_path, fresh_database):
    vendor = connection.vendor
    if vendor == "postgresql" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed (apt-get install postgresql-client)")
    owner = factories.user("owner@example.com")
    workspace = factories.workspace(owner, "Backup Dental")
    Contact.objects.bulk_create(
        Contact(workspace=workspace, external_id=f"S-{n}", first_name="Seed", last_name=str(n))
        for n in range(SEED)
    )
    source = connection.settings_dict["NAME"]
    writer = Writer(workspace)
    writer.start()
    while writer.count < 20:  # writing is under way before the backup starts
        time.sleep(0.01)
    before = writer.count
    target = tmp_path / "backup.dump"
    _rapport(["backup", str(target)], _url(source), tmp_path)
    during = writer.count - before
    writer.stop.set()
    writer.join(timeout=30)
    assert writer.error is None, writer.error
    assert during > 0, "the app wrote nothing while the backup ran"

    result = _rapport(["restore", str(target)], _url(fresh_database), tmp_path)
    assert "Restored" in result.stdout

    restored_db = _open(vendor, fresh_database)
    source_db = _open(vendor, source)
    try:
        if vendor == "sqlite":
            assert restored_db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            # FTS5's own check raises if the index and its content disagree.
            restored_db.execute(f"INSERT INTO {SEARCH} ({SEARCH}) VALUES ('integrity-check')")
            indexed = {r[0] for r in restored_db.execute(f"SELECT rowid FROM {SEARCH}")}
            assert indexed == {r[0] for r in restored_db.execute("SELECT id FROM clients_contact")}
        restored = snapshot(restored_db.cursor(), vendor)
        original = snapshot(source_db.cursor(), vendor)
    finally:
        restored_db.close()
        source_db.close()

    assert set(restored) == set(original)
    for table in {t for t in original if not t.startswith(SEARCH)} - set(WRITTEN):
        assert restored[table][:2] == original[table][:2], f"{table} differs"
    # The writer's tables: a prefix of the source's rows, row for row.
    for table in WRITTEN:
        count, _, rows = restored[table]
        source_rows = original[table][2]
        assert all(source_rows[pk] == row for pk, row in rows.items()), table
        newest = max(rows)
        assert {pk for pk in source_rows if pk <= newest} == set(rows), f"{table}: a gap"
    contacts = restored["clients_contact"][0] - SEED
    assert contacts == restored["clients_activity"][0], "a transaction restored in half"
    assert before <= contacts <= writer.count


def test_restore_refuses_a_database_that_holds_data_without_force(tmp_path):
    # In this process: what is tested here is the command's judgement, not
    # concurrency (that is the test above).
    if connection.vendor == "postgresql" and not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    owner = factories.user("owner@example.com")
    factories.workspace(owner, "Backup Dental")
    target = tmp_path / "backup.dump"
    call_command("backup", str(target))
    with pytest.raises(CommandError, match="--force"):
        call_command("restore", str(target))
    call_command("restore", str(target), force=True)
    from rapport.workspaces.models import Workspace

    assert Workspace.objects.get().name == "Backup Dental"


def test_restore_names_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("restore", str(tmp_path / "nope.dump"))
    junk = tmp_path / "junk.dump"
    junk.write_bytes(b"hello, not a backup")
    with pytest.raises(CommandError):
        call_command("restore", str(junk), force=True)
