"""Twilio at its HTTP boundary: the Messages API answered with recorded
payloads (the one thing replaced: the library's HTTP client), and signed
inbound messages checked with the library's RequestValidator."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from rapport.outreach import actions, compose, sending, sms
from rapport.outreach.models import OutboundMessage, Suppression, WebhookEvent
from rapport.outreach.tokens import hash_token
from tests import factories

pytestmark = pytest.mark.django_db

SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-auth-token-for-tests"
SITE = "https://rapport.example.test"
HOOK = "twilio-hook-token-of-enough-length"


def message_json(sid, to, body, created="Mon, 23 Nov 2026 09:30:00 +0000"):
    """A Message resource as Twilio's API returns it (fields abridged)."""
    return {
        "account_sid": SID,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": created,
        "date_sent": None,
        "date_updated": created,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": "+15005550006",
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "queued",
        "to": to,
        "uri": f"/2010-04-01/Accounts/{SID}/Messages/{sid}.json",
    }


def error_json(code, message, status=400):
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class RecordedTwilio(HttpClient):
    """Answers the Messages API from a script of (status, payload) pairs and
    keeps every request it was sent."""

    def __init__(self, answers):
        import logging

        super().__init__(logging.getLogger("tests.twilio"), False)
        self.answers, self.requests = list(answers), []

    def request(self, method, url, params=None, data=None, headers=None, auth=None,
                timeout=None, allow_redirects=False):  # fmt: skip
        self.requests.append({"method": method, "url": url, "params": params, "data": data,
                              "auth": auth})  # fmt: skip
        status, payload = self.answers.pop(0)
        return Response(status, json.dumps(payload), headers={})


@pytest.fixture
def twilio(monkeypatch, settings):
    settings.SMS_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, AUTH_TOKEN
    settings.SMS_FROM = "+15005550006"
    boundary = RecordedTwilio([])
    original = sms.TwilioProvider.__init__

    def with_recorded_http(self, *args, **kwargs):
        original(self, *args, **{**kwargs, "http": boundary})

    monkeypatch.setattr(sms.TwilioProvider, "__init__", with_recorded_http)
    return boundary


@pytest.fixture
def dan(bright, today):
    return factories.client_with_history(
        bright, today, first_name="Dan", phone="(555) 222-3333", sms_ok=True
    )


def text_ask(contact):
    ask = actions.start_ask(contact, kind="referral", channel="sms")
    return compose.ask_sms(ask, body="Hi Dan, who else could we help?")


def test_a_text_goes_through_twilios_messages_api(dan, twilio):
    message = text_ask(dan)
    twilio.answers.append((201, message_json("SM1", "+15552223333", "…")))
    assert sending.deliver(message.pk).status == "sent"
    [request] = twilio.requests
    assert request["method"] == "POST"
    assert request["url"] == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"
    assert request["auth"] == (SID, AUTH_TOKEN)
    assert request["data"]["To"] == "+15552223333" and request["data"]["From"] == "+15005550006"
    assert "/c/" in request["data"]["Body"] and "Reply STOP to opt out" in request["data"]["Body"]
    message.refresh_from_db()
    assert message.provider_id == "SM1"


def test_a_retry_finds_the_text_twilio_already_took_and_sends_no_second(dan, twilio):
    message = text_ask(dan)
    # The first attempt reached Twilio, then the worker died before recording it.
    OutboundMessage.objects.filter(pk=message.pk).update(attempts=1)
    body = compose.fill_links(message.body_text, compose.links_for(message))
    created = (message.created_at + dt.timedelta(seconds=2)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    twilio.answers.append(
        (200, {"messages": [message_json("SM9", "+15552223333", body, created)],
               "next_page_uri": None, "page": 0, "page_size": 20})
    )  # fmt: skip
    assert sending.deliver(message.pk).status == "sent"
    assert [r["method"] for r in twilio.requests] == ["GET"]  # looked, did not send
    assert twilio.requests[0]["params"]["To"] == "+15552223333"
    message.refresh_from_db()
    assert message.provider_id == "SM9"


def test_a_number_that_opted_out_with_the_carrier_is_suppressed(dan, twilio):
    message = text_ask(dan)
    twilio.answers.append((400, error_json(21610, "Attempt to send to unsubscribed recipient")))
    assert sending.deliver(message.pk).status == "failed"
    assert Suppression.objects.get().reason == Suppression.Reason.SMS_STOP
    dan.refresh_from_db()
    assert not dan.sms_ok


def test_a_bad_twilio_login_pauses_texts_and_keeps_consent(dan, twilio, bright):
    from rapport.outreach.models import DeliveryPause

    message = text_ask(dan)
    twilio.answers.append((401, error_json(20003, "Authenticate", status=401)))
    assert sending.deliver(message.pk).status == "failed"
    assert DeliveryPause.objects.active().get(workspace=bright).channel == "sms"
    dan.refresh_from_db()
    assert dan.sms_ok and not Suppression.objects.exists()


def test_twilio_busy_is_retried(dan, twilio):
    message = text_ask(dan)
    twilio.answers.append((429, error_json(20429, "Too Many Requests", status=429)))
    assert sending.deliver(message.pk).status == "retry"


# -- inbound, signed ---------------------------------------------------------


@pytest.fixture
def inbound(bright, settings, twilio):
    settings.SITE_URL = SITE
    bright.webhook_token_hash = hash_token(HOOK)
    bright.save(update_fields=["webhook_token_hash"])
    return reverse("outreach:twilio_inbound", args=[HOOK])


def twilio_form(body, sid="SM" + "1" * 32, **extra):
    """The fields Twilio posts for an incoming message (abridged)."""
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": "+15005550006",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": SID,
        "From": "+15552223333",
        "ApiVersion": "2010-04-01",
        **extra,
    }


def post_twilio(url, form, token=AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(SITE + url, form)
    return Client().post(url, form, HTTP_X_TWILIO_SIGNATURE=signature)


def test_a_signed_stop_from_twilio_stops_texts(dan, inbound):
    response = post_twilio(inbound, twilio_form("please stop texting me"))
    assert response.status_code == 200 and response["Content-Type"] == "text/xml"
    dan.refresh_from_db()
    assert not dan.sms_ok and Suppression.objects.get().reason == "sms_stop"
    # Not one of Twilio's own keywords: Rapport sends the one confirmation.
    assert OutboundMessage.objects.filter(kind="confirmation").count() == 1


def test_twilio_answered_the_keyword_itself_so_no_second_confirmation(dan, inbound):
    post_twilio(inbound, twilio_form("STOP", OptOutType="STOP"))
    dan.refresh_from_db()
    assert not dan.sms_ok
    assert not OutboundMessage.objects.filter(kind="confirmation").exists()


@pytest.mark.parametrize("forgery", ["wrong token", "no signature", "field changed"])
def test_a_forged_twilio_request_is_refused_with_nothing_stored(dan, inbound, forgery):
    form = twilio_form("STOP")
    if forgery == "wrong token":
        response = post_twilio(inbound, form, token="not-the-token")
    elif forgery == "no signature":
        response = Client().post(inbound, form)
    else:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(SITE + inbound, form)
        response = Client().post(
            inbound, {**form, "From": "+15550000000"}, HTTP_X_TWILIO_SIGNATURE=signature
        )
    assert response.status_code == 401
    dan.refresh_from_db()
    assert dan.sms_ok and not Suppression.objects.exists() and not WebhookEvent.objects.exists()


def test_a_replayed_twilio_message_is_refused(dan, inbound):
    form = twilio_form("HELP")
    assert post_twilio(inbound, form).status_code == 200
    assert post_twilio(inbound, form).status_code == 409
    assert OutboundMessage.objects.filter(kind="confirmation").count() == 1
