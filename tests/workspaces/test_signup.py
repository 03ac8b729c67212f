"""Sign-up in two steps (the form, then the emailed link), answering the same
whether or not an address already has an account."""

import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from rapport.workspaces.models import AuditEvent, Membership, Role, Workspace
from rapport.workspaces.views import SIGNUP_LINK_DAYS, SIGNUP_SALT

pytestmark = pytest.mark.django_db

User = get_user_model()


def _form(email, **extra):
    return {
        "first_name": "Dana",
        "email": email,
        "workspace_name": "Dana's Dental",
        "time_zone": "Europe/Paris",
        **extra,
    }


def _link(message) -> str:
    return re.search(r"http://testserver(/signup/confirm/\S+/)", message.body)[1]


def test_sign_up_sends_a_link_and_creates_the_account_from_it():
    client = Client()
    response = client.post(reverse("workspaces:signup"), _form("Dana@Example.com"))
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert not User.objects.exists(), "no account before the inbox is proven"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["dana@example.com"]
    path = _link(mail.outbox[0])

    page = client.get(path)
    assert page.status_code == 200 and "Choose a password" in page.content.decode()
    assert not User.objects.exists(), "a GET of the link changes nothing"

    response = client.post(path, {"password": "a-long-enough-passphrase"})
    assert response.status_code == 302 and response["Location"] == reverse("agenda:today")
    user = User.objects.get(username="dana@example.com")
    workspace = Workspace.objects.get(name="Dana's Dental")
    assert workspace.time_zone == "Europe/Paris"
    assert Membership.objects.get(user=user, workspace=workspace).role == Role.OWNER
    assert client.get(reverse("agenda:today")).status_code == 200
    assert AuditEvent.objects.filter(kind="signup", actor_id=user.pk).exists()


def test_a_known_address_gets_the_same_page_and_one_email_without_a_link(alice):
    unknown = Client().post(reverse("workspaces:signup"), _form("nobody@example.com"))
    known = Client().post(reverse("workspaces:signup"), _form("Alice@Example.com"))
    assert known.status_code == unknown.status_code == 200
    assert known.templates[0].name == unknown.templates[0].name

    def page(response, email):
        text = response.content.decode().replace(email, "EMAIL")
        # CSRF tokens differ per request by design; nothing else may.
        return re.sub(r"[A-Za-z0-9]{64}", "CSRF", text)

    assert page(known, "alice@example.com") == page(unknown, "nobody@example.com")
    assert [m.to for m in mail.outbox] == [["nobody@example.com"], ["alice@example.com"]]
    reminder = mail.outbox[1].body
    assert "/signup/confirm/" not in reminder and "/password/reset/" in reminder
    assert User.objects.filter(username="alice@example.com").count() == 1


def test_sign_up_errors_never_mention_an_existing_account(alice):
    response = Client().post(
        reverse("workspaces:signup"),
        {"first_name": "", "email": "alice@example.com", "workspace_name": "", "time_zone": "Mars"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"first_name", "workspace_name", "time_zone"} <= set(errors)
    assert "email" not in errors
    assert not mail.outbox and not Workspace.objects.exists()


def test_the_password_step_rerenders_with_the_validators_messages():
    client = Client()
    client.post(reverse("workspaces:signup"), _form("dana@example.com"))
    path = _link(mail.outbox[0])
    response = client.post(path, {"password": "123"})
    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert not User.objects.exists()


def test_a_link_works_once():
    client = Client()
    client.post(reverse("workspaces:signup"), _form("dana@example.com"))
    path = _link(mail.outbox[0])
    client.post(path, {"password": "a-long-enough-passphrase"})
    again = Client().post(path, {"password": "another-long-passphrase"})
    assert again.status_code == 404
    assert User.objects.get().check_password("a-long-enough-passphrase")


def test_a_tampered_or_expired_link_is_refused(monkeypatch):
    client = Client()
    client.post(reverse("workspaces:signup"), _form("dana@example.com"))
    path = _link(mail.outbox[0])
    tampered = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    assert client.get(tampered).status_code == 404

    # A link signed longer ago than it lives: the signer's clock set back.
    past = time.time() - SIGNUP_LINK_DAYS * 86400 - 60
    monkeypatch.setattr(signing.time, "time", lambda: past)
    old = signing.dumps(
        {"email": "o@example.com", "first_name": "O", "workspace_name": "Old", "time_zone": "UTC"},
        salt=SIGNUP_SALT,
        compress=True,
    )
    monkeypatch.undo()
    response = client.post(
        reverse("workspaces:signup_confirm", args=[old]), {"password": "a-long-enough-passphrase"}
    )
    assert response.status_code == 404
    assert not User.objects.exists()


def test_an_invitee_signing_up_comes_back_to_the_invitation(alice, acme):
    from rapport.workspaces.models import Invitation

    _, token = Invitation.issue(acme, "dora@example.com", "member", alice)
    invitation = reverse("workspaces:invitation", args=[token])
    client = Client()
    client.post(reverse("workspaces:signup") + f"?next={invitation}", _form("dora@example.com"))
    response = client.post(_link(mail.outbox[0]), {"password": "a-long-enough-passphrase"})
    assert response["Location"] == invitation


def test_sign_up_can_be_closed(settings):
    settings.SIGNUP_OPEN = False
    assert Client().get(reverse("workspaces:signup")).status_code == 404
