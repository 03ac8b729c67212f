import datetime as dt

import pytest
from django.test import Client

from tests import factories


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    # The fast hasher: logging in a hundred times should not take seconds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def alice(db):
    """Owner of Acme Dental (Europe/London)."""
    return factories.user("alice@example.com", "Alice")


@pytest.fixture
def bob(db):
    """Owner of Bright Law, a different workspace (America/New_York)."""
    return factories.user("bob@example.com", "Bob")


@pytest.fixture
def charlie(db):
    """A member (not owner) of Acme Dental."""
    return factories.user("charlie@example.com", "Charlie")


@pytest.fixture
def acme(alice, charlie):
    workspace = factories.workspace(alice, "Acme Dental", "Europe/London")
    factories.member(charlie, workspace)
    return workspace


@pytest.fixture
def bright(bob):
    return factories.workspace(bob, "Bright Law", "America/New_York")


@pytest.fixture
def alice_client(alice, acme):
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(bob, bright):
    client = Client()
    client.force_login(bob)
    return client


@pytest.fixture
def charlie_client(charlie, acme):
    client = Client()
    client.force_login(charlie)
    return client


@pytest.fixture
def today(acme):
    return acme.today()


@pytest.fixture
def days_ago(today):
    return lambda n: today - dt.timedelta(days=n)


@pytest.fixture(autouse=True, scope="session")
def _flushable_security_log():
    """Tests that commit (live servers, transaction=True) are cleaned up by
    Django's flush, which on SQLite is a DELETE — refused by the security
    log's append-only triggers. The test runner's flush alone steps around
    them: it drops the triggers, deletes, and puts back the very same ones
    it read from the schema. The application never gets this door."""
    from django.db import connection

    if connection.vendor != "sqlite":  # PostgreSQL's flush is TRUNCATE: no row trigger fires
        yield
        return
    from django.db.backends.sqlite3.base import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        if "workspaces_auditevent" not in tables:
            return statements
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master"
                " WHERE type = 'trigger' AND tbl_name = 'workspaces_auditevent'"
            )
            triggers = cursor.fetchall()
        drops = [f"DROP TRIGGER IF EXISTS {name}" for name, _ in triggers]
        return drops + list(statements) + [sql for _, sql in triggers]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield
