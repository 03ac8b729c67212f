"""Password reset by email, with Django's views and tokens."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from rapport.workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db


def _link(message) -> str:
    return re.search(r"http://testserver(/password/reset/\S+/\S+/)", message.body)[1]


def test_a_reset_link_sets_a_new_password_once(alice, acme):
    client = Client()
    response = client.post(reverse("password_reset"), {"email": "Alice@Example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    link = _link(mail.outbox[0])

    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    alice.refresh_from_db()
    assert alice.check_password("password-for-tests"), "a GET changes nothing"

    set_url = form_page.redirect_chain[-1][0]
    new = "a-brand-new-passphrase"
    response = client.post(set_url, {"new_password1": new, "new_password2": new})
    assert response["Location"] == reverse("password_reset_complete")
    alice.refresh_from_db()
    assert alice.check_password(new)
    assert {"password_reset_requested", "password_reset_done"} <= set(
        AuditEvent.objects.values_list("kind", flat=True)
    )
    # The token is spent: the password changed, so it no longer verifies.
    again = Client().get(link, follow=True)
    assert "This link is not valid" in again.content.decode()


def test_a_tampered_reset_link_is_refused(alice, acme):
    Client().post(reverse("password_reset"), {"email": "alice@example.com"})
    link = _link(mail.outbox[0])
    tampered = link[:-2] + ("x" if link[-2] != "x" else "y") + "/"
    page = Client().get(tampered, follow=True)
    assert "This link is not valid" in page.content.decode()


def test_an_unknown_address_gets_the_same_page_and_no_email(db):
    response = Client().post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert not mail.outbox
    assert AuditEvent.objects.get(kind="password_reset_requested").detail["known"] is False
