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
    # The feed's few-second server copy would outlive a test's changes; the
    # cache has its own tests (tests/advocacy/test_public.py).
    settings.RAPPORT_FEED_CACHE_SECONDS = 0


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
    # A postal address, as the law asks of any business emailing its clients.
    workspace = factories.workspace(
        alice, "Acme Dental", "Europe/London", postal_address="1 High Street, Bath BA1 1AA"
    )
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
    """Today in Acme's time zone (London)."""
    return acme.today()


@pytest.fixture
def bright_today(bright):
    """Today in Bright's time zone (New York): not Acme's date between
    midnight in London and midnight in New York, so facts of Bright's are
    dated by it."""
    return bright.today()


@pytest.fixture
def days_ago(today):
    return lambda n: today - dt.timedelta(days=n)
