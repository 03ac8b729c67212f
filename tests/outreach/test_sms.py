"""SMS: the provider at its HTTP boundary (the one mock), and STOP replies."""

import json

import pytest
from django.urls import reverse

from rapport.outreach import actions, compose, sending, sms
from rapport.outreach.models import OutboundMessage, Suppression
from rapport.outreach.tokens import hash_token
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Stop.",
        "QUIT",
        "end",
        "Revoke",
        "OPT OUT",
        "optout",
        "cancel",
        "UNSUBSCRIBE",
        "please stop texting me",
        "Can you STOP these messages?",
    ],
)
def test_opt_out_words_in_any_case_even_inside_a_sentence(text):
    assert sms.is_opt_out(text)


@pytest.mark.parametrize(
    "text",
    ["Thanks!", "See you Friday", "Stopped by yesterday", "Weekend works"],
)
def test_ordinary_replies_are_not_opt_outs(text):
    assert not sms.is_opt_out(text)


class FakeResponse:
    def __init__(self, body):
        self.body = body

    def read(self):
        return self.body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def provider(monkeypatch, settings):
    settings.SMS_PROVIDER_URL = "https://sms.example/api/messages"
    settings.SMS_PROVIDER_TOKEN = "secret-token"
    settings.SMS_FROM = "+441234"
    calls = []

    def urlopen(request, timeout):
        calls.append(request)
        return FakeResponse(json.dumps({"id": f"sm-{len(calls)}"}).encode())

    monkeypatch.setattr(sms.urllib.request, "urlopen", urlopen)
    return calls


@pytest.fixture
def bea(acme, today):
    return factories.client_with_history(
        acme, today, first_name="Bea", phone="+447700900123", sms_ok=True
    )


def test_a_text_ask_goes_to_the_provider_with_an_idempotency_key(bea, provider):
    ask = actions.start_ask(bea, kind="referral", channel="sms")
    message = compose.ask_sms(ask, body="Hi Bea, who else could we help?")
    assert sending.deliver(message.pk).status == "sent"
    request = provider[0]
    payload = json.loads(request.data)
    assert payload["to"] == "+447700900123" and payload["from"] == "+441234"
    assert "/c/" in payload["body"] and "Reply STOP to opt out" in payload["body"]
    assert request.get_header("Idempotency-key") == f"ask:{ask.pk}:sms"
    assert request.get_header("Authorization") == "Bearer secret-token"
    message.refresh_from_db()
    assert message.provider_id == "sm-1"


def test_no_provider_configured_is_retried_not_lost(bea, settings):
    settings.SMS_PROVIDER_URL = ""
    ask = actions.start_ask(bea, kind="referral", channel="sms")
    message = compose.ask_sms(ask, body="Hi")
    outcome = sending.deliver(message.pk)
    assert outcome.status == "retry" and "no SMS provider" in outcome.detail


def test_stop_ends_all_texts_with_one_confirmation_at_most(acme, bea, provider, client):
    acme.webhook_token_hash = hash_token("a-long-webhook-token-for-tests")
    acme.save()
    queued = compose.ask_sms(actions.start_ask(bea, kind="referral", channel="sms"), body="Hi")
    url = reverse("outreach:sms_inbound", args=["a-long-webhook-token-for-tests"])
    assert (
        client.post(url, {"From": "+447700900123", "Body": "please stop texting me"}).content
        == b"stopped"
    )
    client.post(url, {"From": "+447700900123", "Body": "STOP"})
    assert Suppression.objects.get().reason == "sms_stop"
    bea.refresh_from_db()
    assert not bea.sms_ok
    queued.refresh_from_db()
    assert queued.status == "suppressed"
    confirmations = OutboundMessage.objects.filter(kind="confirmation")
    assert confirmations.count() == 1
    sending.send_due()
    assert [json.loads(r.data)["body"] for r in provider] == [
        "Acme Dental: you will receive no more texts from us. Reply START to rejoin."
    ]
    # A later automated text is not made.
    later = compose.ask_sms(actions.start_ask(bea, kind="testimonial", channel="sms"), body="Hi")
    assert sending.deliver(later.pk).status == "suppressed"


def test_the_sms_webhook_needs_its_token(client):
    response = client.post(
        reverse("outreach:sms_inbound", args=["nope"]), {"From": "+1", "Body": "STOP"}
    )
    assert response.status_code == 404
    assert not Suppression.objects.exists()
