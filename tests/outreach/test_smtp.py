"""Asks by email over real SMTP: aiosmtpd on loopback receives what Django's
SMTP backend sends, and what it refuses is refused on the wire.

DESIGN.md, "Respect": every automated email carries RFC 8058 one-click
unsubscribe, and nothing goes to a suppressed address. "Sent once, never
lost": a stable Message-ID, a 5xx is final (and suppresses), a 4xx or an
unreachable server is retried with back-off.
"""

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.clients.actions import open_issue
from rapport.kinds import Channel
from rapport.outreach import actions, compose, sending
from rapport.outreach.models import AskKind, DeliveryPause, OutboundMessage, Suppression
from tests import factories
from tests.outreach.helpers import SMTPRecorder, closed_port, header_url, links_in

pytestmark = pytest.mark.django_db

SITE = "https://rapport.example.test"
POSTAL = "12 Harley Street\nLondon W1G 9PF"
Status = OutboundMessage.Status


@pytest.fixture
def smtp(settings):
    with SMTPRecorder() as server:
        server.use(settings)
        settings.SITE_URL = SITE
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, urlsplit(SITE).hostname]
        yield server


@pytest.fixture
def ann(acme, today):
    acme.postal_address = POSTAL
    acme.save(update_fields=["postal_address"])
    return factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)


def ask_by_email(contact, kind=AskKind.REFERRAL, body="Who else could we help, Ann?"):
    ask = actions.start_ask(contact, kind=kind, channel=Channel.EMAIL, script=body)
    return compose.ask_email(ask, subject="A small favour, Ann?", body=body)


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_ask_composed_on_the_contact_page_arrives_over_smtp(alice_client, ann, smtp):
    response = alice_client.post(
        reverse("outreach:compose", args=[ann.pk, "email"]),
        {
            "kind": "referral",
            "subject": "A small favour, Ann?",
            "body": "Thank you for coming in, Ann.\n\nWho else could we look after?",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    message = OutboundMessage.objects.get(contact=ann)
    # The outbox holds no live link: the links are rebuilt when it is sent.
    assert compose.PAGE_LINK in message.body_text and compose.UNSUBSCRIBE_LINK in message.body_html
    assert SITE not in message.body_text + message.body_html

    assert sending.deliver(message.pk).status == Status.SENT
    [received] = smtp.wait_for(1)
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 1 and message.sent_at

    email = received.message
    assert received.rcpt_tos == ["ann@example.com"]
    assert received.message_id == message.message_id == email["Message-ID"]
    assert email["Subject"] == "A small favour, Ann?"
    assert "Acme Dental" in email["From"]
    assert email.get_content_type() == "multipart/alternative"
    text, html = received.part("text/plain"), received.part("text/html")
    assert "Who else could we look after?" in text and "Who else could we look after?" in html
    # Who writes and from where, in both parts (the law asks for it).
    assert "12 Harley Street" in text and "London W1G 9PF" in text
    assert "12 Harley Street<br>London W1G 9PF" in html

    # RFC 8058 one-click unsubscribe.
    unsubscribe = header_url(email["List-Unsubscribe"])
    assert unsubscribe.startswith(SITE + "/u/")
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text and unsubscribe in html

    # The button opens the client's page: the same link in both parts.
    page_links = [url for url in links_in(text) if "/c/" in url]
    assert len(page_links) == 1 and page_links[0] in html
    page = Client().get(page_links[0])
    assert page.status_code == 200
    assert "Ann, who else could we help?" in page.content.decode()
    assert page["Referrer-Policy"] in ("same-origin", "no-referrer")  # the token stays here
    # Opening it (as a link scanner would) answers nothing.
    assert message.ask.__class__.objects.get(pk=message.ask_id).answered_at is None


def test_one_click_unsubscribe_suppresses_and_later_sends_are_not_made(ann, smtp):
    first = ask_by_email(ann)
    waiting = ask_by_email(ann, kind=AskKind.TESTIMONIAL)
    assert sending.deliver(first.pk).status == Status.SENT
    [received] = smtp.wait_for(1)
    url = header_url(received.message["List-Unsubscribe"])

    # What a mail client does: a POST with this exact body, no cookie, no
    # CSRF token (and CSRF checks on, as in production).
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert not response.cookies.get("sessionid")
    suppression = Suppression.objects.get(workspace=ann.workspace, channel="email")
    assert suppression.reason == Suppression.Reason.UNSUBSCRIBED
    assert Suppression.objects.covers(ann.workspace, "email", "ANN@example.com ")
    ann.refresh_from_db()
    assert not ann.email_ok
    # A message already waiting in the outbox will not go out either.
    waiting.refresh_from_db()
    assert waiting.status == Status.SUPPRESSED
    assert sending.deliver(waiting.pk).status == "not-due"

    # A later automated send is not made.
    later = ask_by_email(ann, kind=AskKind.FEEDBACK)
    assert sending.deliver(later.pk).status == Status.SUPPRESSED
    later.refresh_from_db()
    assert later.status == Status.SUPPRESSED and later.sent_at is None

    # Even when consent is ticked again by hand, the suppression list wins.
    type(ann).objects.filter(pk=ann.pk).update(email_ok=True)
    again = ask_by_email(ann, kind=AskKind.REACTIVATION)
    assert sending.deliver(again.pk).status == Status.SUPPRESSED
    again.refresh_from_db()
    assert "suppression list" in again.last_error
    assert sending.send_due() == []
    assert len(smtp.wait_for(2, timeout=0.5)) == 1


def test_unsubscribe_link_opened_in_a_browser_asks_before_acting(ann, smtp):
    message = ask_by_email(ann)
    sending.deliver(message.pk)
    [received] = smtp.wait_for(1)
    url = header_url(received.message["List-Unsubscribe"])
    page = Client().get(url)
    assert page.status_code == 200 and "Stop emails from Acme Dental?" in page.content.decode()
    assert not Suppression.objects.exists()  # a GET (a link scanner) changes nothing


# What the server says, and whose fault it is (RFC 3463): only the recipient's
# own permanent failure costs the address; the sender's pauses sending.
REFUSALS = {
    "535 bad login": ("login", "535 5.7.8 Authentication credentials invalid"),
    "550 5.1.1 no such user": ("rcpt", "550 5.1.1 <gone@example.com>: no such user"),
    "554 5.7.1 relay refused": ("data", "554 5.7.1 Relaying denied"),
    "451 try later": ("rcpt", "451 4.3.0 Mailbox busy, try again later"),
}


@pytest.fixture
def refusing(request, settings):
    """A loopback server answering one of REFUSALS for gone@example.com (or,
    for the login case, refusing the password)."""
    stage, reply = REFUSALS[request.param]
    with SMTPRecorder(password="the-right-one" if stage == "login" else None) as server:
        server.use(settings)
        settings.SITE_URL = SITE
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, urlsplit(SITE).hostname]
        if stage == "login":
            settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "rapport", "a-wrong-one"
        else:
            (server.refuse_rcpt if stage == "rcpt" else server.refuse_data)["gone@example.com"] = (
                reply
            )
        yield request.param, server


@pytest.mark.parametrize("refusing", sorted(REFUSALS), indirect=True)
def test_only_the_recipients_own_permanent_failure_suppresses(acme, today, alice_client, refusing):
    case, smtp = refusing
    gone = factories.client_with_history(acme, today, email="gone@example.com", email_ok=True)
    other = factories.client_with_history(
        acme, today, first_name="Otto", email="otto@example.com", email_ok=True
    )
    message = ask_by_email(gone)
    waiting = ask_by_email(other)

    outcome = sending.deliver(message.pk)

    message.refresh_from_db()
    gone.refresh_from_db()
    suppressed = Suppression.objects.filter(workspace=acme).exists()
    paused = DeliveryPause.objects.active().filter(workspace=acme, channel="email").exists()
    withdrawals = gone.consents.filter(channel="email", granted=False).count()
    if case == "451 try later":
        assert outcome.status == "retry" and message.status == Status.QUEUED
        assert (suppressed, paused, gone.email_ok, withdrawals) == (False, False, True, 0)
        return
    assert outcome.status == Status.FAILED and message.status == Status.FAILED
    assert REFUSALS[case][1].split()[0] in message.last_error
    # Failed for good: never picked up again by itself.
    assert message.pk not in [o.message_id for o in sending.send_due()]
    if case == "550 5.1.1 no such user":
        assert message.failure == OutboundMessage.Failure.RECIPIENT
        assert (suppressed, paused, gone.email_ok, withdrawals) == (True, False, False, 1)
        assert Suppression.objects.get().reason == Suppression.Reason.HARD_BOUNCE
        return
    # The sender's fault: the client keeps their consent and is not suppressed...
    assert message.failure == OutboundMessage.Failure.SENDER
    assert (suppressed, gone.email_ok, withdrawals) == (False, True, 0)
    # ...sending pauses for the workspace: the next client's email waits, unsent...
    assert paused
    sending.send_due()
    waiting.refresh_from_db()
    assert waiting.status == Status.QUEUED
    assert "otto@example.com" not in [r for m in smtp.received for r in m.rcpt_tos]
    # ...and the owner is told: in the app, on every page, and by email.
    page = alice_client.get(reverse("agenda:today")).content.decode()
    assert "Emails to clients are paused" in page and "Resume sending" not in page
    assert "Fix it and resume sending" in page
    alert = OutboundMessage.objects.get(
        kind=OutboundMessage.Kind.NOTICE, to_address=acme_owner(acme)
    )
    assert "paused" in alert.subject and REFUSALS[case][1].split()[0] in alert.body_text
    sending.deliver(alert.pk)
    alert.refresh_from_db()
    if case == "554 5.7.1 relay refused":
        # The server still takes mail for the owner: the alert arrives.
        assert alert.status == Status.SENT
        assert [m.rcpt_tos for m in smtp.wait_for(1)] == [[acme_owner(acme)]]
    else:
        # It cannot log in for anyone: the alert in the app is what remains.
        assert alert.status == Status.FAILED
    # One pause and one alert, however many messages fail the same way.
    third = ask_by_email(gone, kind=AskKind.TESTIMONIAL)
    OutboundMessage.objects.filter(pk=third.pk).update(to_client=False)
    sending.deliver(third.pk)
    assert DeliveryPause.objects.filter(workspace=acme).count() == 1
    assert OutboundMessage.objects.filter(kind=OutboundMessage.Kind.NOTICE).count() == 1


def acme_owner(workspace) -> str:
    return workspace.memberships.get(role="owner").user.email


def test_resume_sending_sends_what_waited_and_what_failed_meanwhile(
    acme, today, alice_client, charlie_client, settings
):
    with SMTPRecorder(password="the-right-one") as smtp:
        smtp.use(settings)
        settings.SITE_URL = SITE
        settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "rapport", "expired"
        ann = factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)
        bea = factories.client_with_history(
            acme, today, first_name="Bea", email="bea@example.com", email_ok=True
        )
        failed, waiting = ask_by_email(ann), ask_by_email(bea)
        assert sending.deliver(failed.pk).status == Status.FAILED
        assert sending.deliver(waiting.pk).status == "not-due"  # paused: not even claimed

        # A member sees the pause but cannot lift it.
        charlie_client.post(reverse("outreach:delivery"), {"resume": "email"})
        assert DeliveryPause.objects.active().exists()

        settings.EMAIL_HOST_PASSWORD = "the-right-one"  # the owner fixes the password
        response = alice_client.post(reverse("outreach:delivery"), {"resume": "email"})
        assert response.status_code == 302
        pause = DeliveryPause.objects.get()
        assert pause.lifted_at and pause.lifted_by.email == "alice@example.com"
        assert {o.status for o in sending.send_due()} == {Status.SENT}
        assert sorted(r for m in smtp.wait_for(2) for r in m.rcpt_tos) == [
            "ann@example.com",
            "bea@example.com",
        ]
        failed.refresh_from_db()
        assert failed.status == Status.SENT and failed.failure == ""


def test_a_name_with_a_line_break_adds_no_header_and_the_notice_arrives(acme, today, smtp):
    gail = factories.client_with_history(
        acme, today, first_name="Gail\r\nBcc: x@example.test", email="gail@example.com"
    )
    ask = actions.start_ask(gail, kind=AskKind.FEEDBACK, channel=Channel.LINK)
    actions.answer_questionnaire(
        ask, nps=2, experience="", improve="The crown came loose", would_refer=""
    )
    notice = OutboundMessage.objects.get(kind=OutboundMessage.Kind.NOTICE)
    assert "\n" not in notice.subject and "\r" not in notice.subject

    assert sending.deliver(notice.pk).status == Status.SENT
    [received] = smtp.wait_for(1)
    assert received.rcpt_tos == [acme_owner(acme)]
    email = received.message
    assert email["Bcc"] is None and "x@example.test" not in received.rcpt_tos
    assert email["Subject"] == "Gail Bcc: x@example.test Jones rated you 2/10"
    assert "The crown came loose" in received.part("text/plain")


def test_a_stored_header_that_cannot_be_sent_fails_once_and_is_not_retried(acme, today, smtp):
    ann = factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)
    message = ask_by_email(ann)
    # Written past the composer (an old row, a bug): a line break in the address.
    OutboundMessage.objects.filter(pk=message.pk).update(
        to_address="ann@example.com\nBcc: x@example.test"
    )
    assert sending.deliver(message.pk).status == Status.FAILED
    message.refresh_from_db()
    assert message.failure == OutboundMessage.Failure.MESSAGE and "header" in message.last_error
    assert sending.send_due() == []
    assert not Suppression.objects.exists() and not DeliveryPause.objects.exists()
    assert smtp.received == []


def test_email_to_clients_waits_for_a_postal_address(acme, today, alice_client, smtp):
    acme.postal_address = ""
    acme.save(update_fields=["postal_address"])
    ann = factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)
    url = reverse("outreach:compose", args=[ann.pk, "email"])
    page = alice_client.get(url).content.decode()
    assert "postal address" in page
    response = alice_client.post(url, {"kind": "referral", "subject": "Hi", "body": "Who else?"})
    assert response.status_code == 200 and not OutboundMessage.objects.exists()

    # A message queued by any other path is refused when it would go out.
    message = ask_by_email(ann)
    assert sending.deliver(message.pk).status == Status.FAILED
    message.refresh_from_db()
    assert "postal address" in message.last_error and smtp.received == []


def test_from_is_the_sending_domain_under_the_workspace_name_and_replies_reach_a_person(
    acme, today, smtp, settings, charlie
):
    settings.EMAIL_FROM = "hello@mail.acme-dental.test"
    ann = factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)
    bea = factories.client_with_history(
        acme, today, first_name="Bea", email="bea@example.com", email_ok=True, owner=charlie
    )
    for person in (ann, bea):
        sending.deliver(ask_by_email(person).pk)
    by_rcpt = {m.rcpt_tos[0]: m.message for m in smtp.wait_for(2)}
    assert by_rcpt["ann@example.com"]["From"] == "Acme Dental <hello@mail.acme-dental.test>"
    # Ann has nobody of her own: replies go to the owner. Bea's go to Charlie.
    assert "alice@example.com" in by_rcpt["ann@example.com"]["Reply-To"]
    assert "charlie@example.com" in by_rcpt["bea@example.com"]["Reply-To"]


def test_a_hard_bounce_over_smtp_has_the_same_effect_as_one_from_the_webhook(acme, today, smtp):
    # DESIGN.md: every entry point changes state through the same functions,
    # so a rule holds however a fact arrives. A bounce reported by the
    # provider's webhook goes through actions.suppress: consent withdrawn
    # (with its record), queued messages to the address suppressed at once.
    gone = factories.client_with_history(acme, today, email="gone@example.com", email_ok=True)
    smtp.refuse_rcpt["gone@example.com"] = "550 5.1.1 <gone@example.com>: no such user"
    first = ask_by_email(gone)
    waiting = ask_by_email(gone, kind=AskKind.TESTIMONIAL, body="A few words?")

    assert sending.deliver(first.pk).status == Status.FAILED

    waiting.refresh_from_db()
    gone.refresh_from_db()
    state = (gone.email_ok, waiting.status)
    sending.send_due()
    assert smtp.received == []  # the waiting message is stopped at send time in any case
    assert state == (False, Status.SUPPRESSED)


def test_a_4xx_refusal_is_retried_with_growing_back_off(ann, smtp):
    smtp.refuse_rcpt["ann@example.com"] = "451 4.3.0 Mailbox busy, try again later"
    message = ask_by_email(ann)

    before = timezone.now()
    assert sending.deliver(message.pk).status == "retry"
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.attempts == 1
    assert "451" in message.last_error and message.claimed_until is None
    first_wait = message.next_attempt_at - before
    assert dt.timedelta(seconds=30) <= first_wait <= dt.timedelta(minutes=10)
    # Not due yet: neither a direct delivery nor the sweep sends it.
    assert sending.deliver(message.pk).status == "not-due"
    assert sending.send_due() == []

    # Its time comes, the server is still busy: it waits longer.
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    before = timezone.now()
    assert [o.status for o in sending.send_due()] == ["retry"]
    message.refresh_from_db()
    assert message.attempts == 2 and message.status == Status.QUEUED
    assert message.next_attempt_at - before > first_wait
    assert not Suppression.objects.exists()
    assert smtp.received == []

    # The server recovers: the next attempt goes through, once.
    del smtp.refuse_rcpt["ann@example.com"]
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert [o.status for o in sending.send_due()] == [Status.SENT]
    message.refresh_from_db()
    assert message.status == Status.SENT and message.attempts == 3 and message.last_error == ""
    [received] = smtp.wait_for(1)
    assert received.message_id == message.message_id


def test_a_closed_port_is_retried_later(ann, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    message = ask_by_email(ann)

    assert sending.deliver(message.pk).status == "retry"
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.attempts == 1
    assert message.next_attempt_at > timezone.now() + dt.timedelta(seconds=30)
    assert "refused" in message.last_error.lower()
    assert not Suppression.objects.exists()


def test_the_last_attempt_gives_up(ann, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    settings.OUTBOX_MAX_ATTEMPTS = 2
    message = ask_by_email(ann)
    assert sending.deliver(message.pk).status == "retry"
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert sending.deliver(message.pk).status == Status.FAILED
    message.refresh_from_db()
    assert message.status == Status.FAILED and "gave up after 2 attempts" in message.last_error
    # Giving up on an unreachable server is no bounce: the address stays usable.
    assert not Suppression.objects.exists()


def test_the_message_id_is_stable_across_a_retry(ann, smtp):
    smtp.refuse_rcpt["ann@example.com"] = "421 4.7.0 Too many connections"
    message = ask_by_email(ann)
    stable = message.message_id
    assert sending.deliver(message.pk).status == "retry"
    smtp.refuse_rcpt.clear()
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    assert sending.deliver(message.pk).status == Status.SENT
    [received] = smtp.wait_for(1)
    assert received.message_id == stable
    # Queued twice under the same key, it is the same message.
    again = compose.ask_email(message.ask, subject="x", body="y")
    assert again.pk == message.pk and OutboundMessage.objects.count() == 1


def test_a_name_with_markup_is_escaped_in_the_html_part(acme, today, smtp):
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    mallory = factories.client_with_history(
        acme, today, first_name=payload, email="mallory@example.com", email_ok=True
    )
    message = ask_by_email(mallory, body=f"Dear {payload},\n\nWho else could we help?")
    assert sending.deliver(message.pk).status == Status.SENT
    [received] = smtp.wait_for(1)
    html = received.part("text/html")
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert payload in received.part("text/plain")


# DESIGN.md: "No ask while an issue is open for the contact". An ask by
# email is an ask, whether it is sent now or was scheduled before the issue.


def test_an_email_ask_to_a_contact_with_an_open_issue_never_reaches_the_server(
    alice_client, ann, smtp, today
):
    open_issue(ann, "The crown came loose", opened_on=today)
    alice_client.post(
        reverse("outreach:compose", args=[ann.pk, "email"]),
        {"kind": "referral", "subject": "A small favour, Ann?", "body": "Who else?"},
    )
    sending.send_due()
    assert smtp.received == []
    assert not OutboundMessage.objects.filter(contact=ann, status=Status.SENT).exists()


def test_a_scheduled_ask_does_not_go_out_once_an_issue_is_open(ann, smtp, today):
    ask = actions.start_ask(ann, kind=AskKind.REFERRAL, channel=Channel.EMAIL)
    message = compose.ask_email(
        ask,
        subject="A small favour?",
        body="Who else?",
        send_at=timezone.now() + dt.timedelta(hours=2),
    )
    # Before it goes out, Ann rates us 2/10 on a questionnaire: an issue opens.
    feedback = actions.start_ask(ann, kind=AskKind.FEEDBACK, channel=Channel.LINK)
    actions.answer_questionnaire(
        feedback, nps=2, experience="", improve="The crown came loose", would_refer=""
    )
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    sending.send_due()
    # (The owners are told of the low score; Ann is not asked.)
    assert "ann@example.com" not in [rcpt for r in smtp.received for rcpt in r.rcpt_tos]
    message.refresh_from_db()
    assert message.status != Status.SENT


def test_the_unsubscribe_link_still_works_ninety_days_later(ann, smtp):
    message = ask_by_email(ann)
    sending.deliver(message.pk)
    [received] = smtp.wait_for(1)
    url = header_url(received.message["List-Unsubscribe"])
    long_ago = timezone.now() - dt.timedelta(days=90)
    OutboundMessage.objects.filter(pk=message.pk).update(created_at=long_ago, sent_at=long_ago)
    response = Client(enforce_csrf_checks=True).post(
        url, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert Suppression.objects.covers(ann.workspace, "email", "ann@example.com")


def test_no_email_without_a_consent_record(acme, today, smtp):
    # Consent ticked in the database behind the consent log's back.
    eve = factories.contact(acme, first_name="Eve", email="eve@example.com")
    type(eve).objects.filter(pk=eve.pk).update(email_ok=True)
    eve.refresh_from_db()
    outcome = sending.deliver(ask_by_email(eve).pk)
    assert outcome.status == Status.SUPPRESSED and "on record" in outcome.detail
    assert smtp.received == []
