"""Starting an ask by email, text or QR code from the team's pages."""

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from rapport.agenda import store
from rapport.agenda.models import AgendaItem
from rapport.clients.actions import open_issue
from rapport.outreach.models import Ask, OutboundMessage
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    ann = factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)
    factories.activity(ann, today, signals=["praise"])
    store.refresh(acme, today)
    return ann


def compose_url(contact, channel="email", **query):
    url = reverse("outreach:compose", args=[contact.pk, channel])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_the_email_starts_from_the_item_script_and_previews(alice_client, ann):
    item = AgendaItem.objects.get(contact=ann, action="ask_referral")
    page = alice_client.get(compose_url(ann, item=item.pk))
    assert "Who else do you know" in page.context["form"].initial["body"]
    data = {
        "item": item.pk,
        "kind": "referral",
        "subject": "Hello",
        "body": "Dear Ann,\n\nWho else?",
    }
    preview = alice_client.post(compose_url(ann), {**data, "preview": "1"})
    assert preview.context["preview"]["subject"] == "Hello"
    assert "Who else?" in preview.context["preview"]["text"]
    assert "Unsubscribe" in preview.context["preview"]["html"]
    assert not Ask.objects.exists() and not OutboundMessage.objects.exists()


def test_send_now_records_the_ask_queues_the_email_and_clears_the_item(alice_client, alice, ann):
    item = AgendaItem.objects.get(contact=ann, action="ask_referral")
    data = {"item": item.pk, "kind": "referral", "subject": "Hello", "body": "Who else?"}
    response = alice_client.post(compose_url(ann), data)
    assert response.status_code == 302
    ask = Ask.objects.get()
    assert (ask.kind, ask.channel, ask.asked_by, ask.script) == (
        "referral",
        "email",
        alice,
        "Who else?",
    )
    assert OutboundMessage.objects.get().ask == ask
    assert not AgendaItem.objects.filter(contact=ann, action="ask_referral").exists()


def test_send_later_waits_for_its_time(alice_client, ann, acme):
    when = timezone.localtime(timezone.now() + dt.timedelta(days=1), acme.tzinfo)
    data = {
        "kind": "testimonial",
        "subject": "Hi",
        "body": "A few words?",
        "send_at": when.strftime("%Y-%m-%dT%H:%M"),
    }
    alice_client.post(compose_url(ann), data)
    message = OutboundMessage.objects.get()
    assert message.next_attempt_at > timezone.now() + dt.timedelta(hours=23)
    from rapport.outreach import sending

    assert sending.send_due() == [] and mail.outbox == []


def test_no_consent_or_an_open_issue_refuses_with_a_reason(alice_client, ann, today):
    ann.email_ok = False
    ann.save()
    page = alice_client.get(compose_url(ann)).content.decode()
    assert "has not agreed to receive emails" in page
    response = alice_client.post(
        compose_url(ann), {"kind": "referral", "subject": "s", "body": "b"}
    )
    assert not OutboundMessage.objects.exists()
    ann.email_ok = True
    ann.save()
    open_issue(ann, "Crown loose", opened_on=today)
    page = alice_client.get(compose_url(ann)).content.decode()
    assert "No ask now" in page and "Crown loose" in page
    alice_client.post(compose_url(ann), {"kind": "referral", "subject": "s", "body": "b"})
    assert not OutboundMessage.objects.exists()
    assert response.status_code == 200


def test_the_qr_card_shows_a_code_for_the_client_page(alice_client, ann):
    response = alice_client.post(reverse("outreach:qr", args=[ann.pk]), {"kind": "referral"})
    ask = Ask.objects.get()
    assert ask.channel == "link" and response["Location"] == reverse("outreach:card", args=[ask.pk])
    card = alice_client.get(response["Location"]).content.decode()
    assert "<svg" in card and ask.token() in card
