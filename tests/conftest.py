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


# -- one of everything, for the tests that walk every route ------------------


@pytest.fixture
def ours(acme, alice, today):
    """One of every kind of object, in Alice's workspace (Acme)."""
    from rapport.advocacy import models as advocacy
    from rapport.agenda import store
    from rapport.agenda.models import AgendaItem
    from rapport.clients import actions
    from rapport.clients.models import Deal
    from rapport.outreach.actions import start_ask
    from rapport.outreach.models import OutboundMessage
    from rapport.workspaces.models import Invitation, Membership

    ann = factories.client_with_history(acme, today)
    factories.activity(ann, today, signals=["praise"])
    lapsed = factories.contact(acme, first_name="Lapsed")
    factories.purchases(lapsed, [today - dt.timedelta(days=200 + 60 * k) for k in range(4)])
    store.refresh(acme, today)
    from rapport.advocacy import references
    from rapport.clients.actions import record_consent

    record_consent(ann, "reference", True, "may give my name", "test")
    from tests.workspaces.test_isolation import _advocacy_objects

    with actions.changing():  # one agenda refresh for all of them
        referral_objects = _advocacy_objects(acme, ann, today)
    return {
        **referral_objects,
        "contact": ann,
        "issue": actions.open_issue(ann, "x", opened_on=today),
        "deal": actions.save_deal(Deal(workspace=acme, contact=ann, title="d", stage="won")),
        "item": AgendaItem.objects.filter(workspace=acme).first(),
        "membership": Membership.objects.get(workspace=acme, user=alice),
        "invitation": Invitation.issue(acme, "n@example.com", "member", alice)[0],
        "batch": "0" * 32,
        "workspace": acme,
        "ask": start_ask(ann, kind="referral", channel="link", by=alice),
        "recover_item": AgendaItem.objects.get(workspace=acme, action="recover"),
        "testimonial": advocacy.Testimonial.objects.create(
            workspace=acme, contact=ann, text="x", received_on=today, consent_publish=True
        ),
        "reactivate_item": AgendaItem.objects.get(workspace=acme, action="reactivate"),
        "message": OutboundMessage.objects.create(
            workspace=acme,
            kind="ask",
            contact=ann,
            to_address="a@example.com",
            body_text="x",
            idempotency_key="csrf-test",
            status="failed",
        ),
        "review_site": advocacy.ReviewSite.objects.create(
            workspace=acme, platform="google", url="https://g.page/r/acme/review"
        ),
        "reference": references.create_reference(ann),
        "share": references.new_share(acme, "Prospect")[0],
    }


@pytest.fixture
def people(acme, alice, charlie):
    """One user per role in Acme, and one whose membership was removed."""
    from rapport.workspaces.actions import remove_member
    from rapport.workspaces.models import Role

    admin = factories.user("adam@example.com", "Adam")
    factories.member(admin, acme, Role.ADMIN)
    viewer = factories.user("vera@example.com", "Vera")
    factories.member(viewer, acme, Role.VIEWER)
    removed = factories.user("rem@example.com", "Rem")
    remove_member(factories.member(removed, acme))
    return {"owner": alice, "admin": admin, "member": charlie, "viewer": viewer, "removed": removed}


@pytest.fixture
def objects(ours, people, acme, alice):
    """`ours` plus a live secret for every tokenized route."""
    from django.contrib.auth.tokens import default_token_generator
    from django.core import signing
    from django.core.files.base import ContentFile
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from rapport.outreach import calendar, tokens
    from rapport.outreach.compose import queue
    from rapport.workspaces.models import Invitation, Membership, Workspace, hash_token
    from rapport.workspaces.views import SIGNUP_SALT

    contact = ours["contact"]
    message, _ = queue(
        acme,
        to="ann@example.com",
        subject="s",
        text="b",
        kind="ask",
        contact=contact,
        idempotency_key="routes-fixture",
    )
    hook_token = "hook-" + "h" * 30
    Workspace.objects.filter(pk=acme.pk).update(webhook_token_hash=hash_token(hook_token))
    photo = ours["testimonial"]
    photo.photo.save("p.jpg", ContentFile(b"\xff\xd8\xff"), save=True)
    from rapport.advocacy import references, testimonials
    from rapport.advocacy.models import Testimonial

    Testimonial.objects.filter(pk=photo.pk).update(status="approved", consent_photo=True)
    _, share_token = references.new_share(acme, "Routes")
    request = references.request_reference(
        ours["reference"], share=None, name="Pat Prospect", email="pat@example.com"
    )
    return {
        **ours,
        "photo_testimonial": photo,
        "viewer_membership": Membership.objects.get(workspace=acme, user=people["viewer"]),
        "reset": (
            urlsafe_base64_encode(force_bytes(alice.pk)),
            default_token_generator.make_token(alice),
        ),
        "signup": signing.dumps(
            {
                "email": "newcomer@example.com",
                "first_name": "N",
                "workspace_name": "New",
                "time_zone": "UTC",
                "next": "/today/",
            },
            salt=SIGNUP_SALT,
            compress=True,
        ),
        "invitation_token": Invitation.issue(acme, "guest@example.com", "member", alice)[1],
        "ask_token": ours["ask"].token(),
        "unsubscribe_token": tokens.derive("unsubscribe", message.pk, message.unsubscribe_salt),
        "hook_token": hook_token,
        "feed_token": calendar.issue_token(Membership.objects.get(workspace=acme, user=alice)),
        "slug": acme.slug,
        "slug_photo": (acme.slug, photo.pk),
        "slug_review": (acme.slug, ours["review_site"].pk),
        "testimonial_token": testimonials.new_link(photo).token(),
        "share_token": share_token,
        "request_token": request.token(),
        "referral_code": ours["code"].code,
        "introduction_token": _introduction_token(ours["referral"]),
    }


def _introduction_token(referral):
    """A live link to the referred friend's page (double opt-in)."""
    from rapport.advocacy import actions

    return actions.introduction_token(referral.introduction)
