"""The development mailbox: with no mail server set, every email is kept as
sent and readable — the sign-up link by the browser that asked for it, the
workspace's mail by its owners only."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from rapport.mailbox.models import Message
from rapport.outreach import compose, sending

pytestmark = pytest.mark.django_db

MAILBOX = "rapport.mailbox.backend.MailboxBackend"


@pytest.fixture(autouse=True)
def _mailbox(settings):
    settings.EMAIL_BACKEND = MAILBOX


def _signup(client, email="dana@example.com"):
    return client.post(
        reverse("workspaces:signup"),
        {
            "first_name": "Dana",
            "email": email,
            "workspace_name": "Dana's Dental",
            "time_zone": "Europe/Paris",
        },
    )


def test_a_first_run_sign_up_can_be_finished_from_the_mailbox():
    client = Client()
    sent = _signup(client).content.decode()
    assert "Not delivered — development mailbox" in sent
    assert reverse("mailbox:sent_here") in sent, "the page says where the mail went"

    (message,) = Message.objects.all()
    assert message.to_list() == "dana@example.com"
    assert "Subject:" in message.raw and "/signup/confirm/" in message.raw

    page = client.get(reverse("mailbox:sent_here")).content.decode()
    assert "Not delivered — development mailbox" in page
    link = re.search(r'<a href="(http://testserver/signup/confirm/[^"]+)"', page)
    assert link, "the link in the email is clickable"
    confirm = client.get(link[1].removeprefix("http://testserver"))
    assert confirm.status_code == 200 and "Choose a password" in confirm.content.decode()


def test_another_browser_sees_none_of_it():
    _signup(Client())
    page = Client().get(reverse("mailbox:sent_here")).content.decode()
    assert "/signup/confirm/" not in page and "No email yet" in page


def test_the_outbox_mail_is_the_workspaces_and_only_its_owners_read_it(
    acme, alice_client, bob_client, charlie_client
):
    message = compose.team_email(
        acme,
        to="alice@example.com",
        subject="A note for the team",
        text="See http://x.test/a",
        key="t1",
    )
    assert sending.deliver(message.pk).status == "sent"
    kept = Message.objects.get()
    assert kept.workspace_id == acme.pk, "tied to its workspace by the outbox's Message-ID"
    assert kept.message_id == message.message_id

    page = alice_client.get(reverse("mailbox:workspace"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "A note for the team" in html and '<a href="http://x.test/a"' in html
    assert "Not delivered — development mailbox" in html

    assert (
        "A note for the team" not in bob_client.get(reverse("mailbox:workspace")).content.decode()
    )
    assert charlie_client.get(reverse("mailbox:workspace")).status_code == 403


def test_mail_sent_while_working_in_a_workspace_is_the_workspaces(acme, alice_client):
    response = alice_client.post(
        reverse("workspaces:members"), {"email": "new@example.com", "role": "member"}
    )
    assert response.status_code == 200
    invitation = Message.objects.get(recipients__contains="\nnew@example.com\n")
    assert invitation.workspace_id == acme.pk
    assert "invited you" in alice_client.get(reverse("mailbox:workspace")).content.decode()


def test_account_mail_to_a_member_shows_in_their_workspace(acme, alice):
    Client().post(reverse("password_reset"), {"email": "alice@example.com"})
    kept = Message.objects.get()
    assert kept.workspace_id is None
    assert list(Message.objects.for_workspace(acme, ["alice@example.com"])) == [kept]
    assert not Message.objects.for_workspace(acme, ["someone@example.com"]).exists()


def test_every_staff_page_says_mail_is_not_delivered(alice_client):
    page = alice_client.get(reverse("agenda:today")).content.decode()
    assert "Development mailbox:" in page and reverse("mailbox:workspace") in page


def test_with_a_real_mail_server_there_is_no_banner(settings, alice_client):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    page = alice_client.get(reverse("agenda:today")).content.decode()
    assert "Development mailbox" not in page
    assert "Not delivered" not in Client().get(reverse("password_reset_done")).content.decode()


def test_a_header_that_smtp_would_refuse_is_refused_here_too(acme):
    from django.core.mail import BadHeaderError, EmailMessage, get_connection

    email = EmailMessage("Hi\r\nBcc: x@example.test", "body", "a@example.com", ["b@example.com"])
    with pytest.raises(BadHeaderError):
        get_connection().send_messages([email])
    assert not Message.objects.exists()
