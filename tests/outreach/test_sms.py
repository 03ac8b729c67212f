"""SMS: the provider at its HTTP boundary (the one mock), and STOP replies."""

import json

import pytest
from django.urls import reverse

from rapport.clients.models import ConsentRecord, Contact
from rapport.outreach import actions, compose, sending, sms
from rapport.outreach.models import OutboundMessage, Suppression
from rapport.outreach.tokens import hash_token
from tests import factories

pytestmark = pytest.mark.django_db


# The words regulators and carriers name (CTIA; FCC 24-24), alone or
# politely, and requests that cannot be read any other way.
OPT_OUTS = [
    "STOP",
    "stop",
    "Stop.",
    "STOP!!!",
    "Stop please",
    "STOPALL",
    "UNSUBSCRIBE",
    "unsubscribe me, thanks",
    "CANCEL",
    "End",
    "QUIT",
    "Revoke",
    "OPT OUT",
    "opt-out",
    "Opt-Out please",
    "optout",
    "please stop texting me",
    "Stop texting me",
    "remove me from your list",
    "Take me off your mailing list",
    "No more texts please",
    "Please don't text me again",
    "stop sending me these",
    "STOP. Who is this?",
    "How do I unsubscribe?",
]
# A keyword inside a sentence about something else is not a request.
NOT_OPT_OUTS = [
    "See you at the end of the week",
    "Thanks, keep up the good work and don't stop",
    "Can I cancel my 3pm appointment?",
    "Cancel. Can we do Friday instead?",
    "I'll stop by tomorrow",
    "Stopped by yesterday",
    "Stop sending me the bill by post, email is fine",
    "Don't stop texting me, I love the reminders",
    "The end of the month suits me",
    "Thanks!",
    "Weekend works",
]


@pytest.mark.parametrize("text", OPT_OUTS)
def test_opt_out_words_and_requests_are_recognised(text):
    assert sms.read_reply(text) == sms.Reply.OPT_OUT


@pytest.mark.parametrize("text", NOT_OPT_OUTS)
def test_a_keyword_inside_an_unrelated_sentence_is_not_an_opt_out(text):
    assert sms.read_reply(text) != sms.Reply.OPT_OUT


@pytest.mark.parametrize(
    "text, meaning",
    [
        ("START", "opt_in"),
        ("unstop", "opt_in"),
        ("Yes", "opt_in"),
        ("HELP", "help"),
        ("info", "help"),
        ("I need help with my booking", "other"),
        ("Yes, Tuesday is fine", "other"),
    ],
)
def test_start_unstop_yes_rejoin_and_help_asks_only_as_the_whole_reply(text, meaning):
    assert sms.read_reply(text) == meaning


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


# -- numbers in E.164, replies, consent -------------------------------------

HOOK = "a-long-webhook-token-for-tests"


@pytest.fixture
def hook(bright):
    bright.webhook_token_hash = hash_token(HOOK)
    bright.save(update_fields=["webhook_token_hash"])
    return reverse("outreach:sms_inbound", args=[HOOK])


@pytest.fixture
def dan(bob_client, bright, today):
    """A client of Bright Law (New York: US numbers), typed the local way on
    the contact form, with texts agreed."""
    response = bob_client.post(
        reverse("clients:create"),
        {"first_name": "Dan", "last_name": "Brown", "phone": "(555) 222-3333", "sms_ok": "on",
         "stage": "customer"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:1000]
    contact = Contact.objects.get(workspace=bright, first_name="Dan")
    factories.purchases(contact, [today])
    return contact


def text_ask(contact, kind="referral"):
    return compose.ask_sms(actions.start_ask(contact, kind=kind, channel="sms"), body="Hi Dan")


def test_a_number_typed_the_local_way_is_stored_as_e164_and_shown_back_locally(bob_client, dan):
    assert dan.phone == "+15552223333"
    page = bob_client.get(reverse("clients:detail", args=[dan.pk])).content.decode()
    assert "(555) 222-3333" in page and 'href="tel:+15552223333"' in page
    form = bob_client.get(reverse("clients:edit", args=[dan.pk])).content.decode()
    assert 'value="(555) 222-3333"' in form
    # Found however it is searched for.
    for query in ("222-3333", "(555) 222-3333", "+1 555 222 3333"):
        found = bob_client.get(reverse("clients:list"), {"q": query}).content.decode()
        assert "Dan Brown" in found, query


def test_a_number_that_is_not_one_is_refused_on_the_form(bob_client, bright):
    response = bob_client.post(
        reverse("clients:create"), {"first_name": "Eve", "phone": "12", "stage": "prospect"}
    )
    assert response.status_code == 200 and "not a phone number" in response.content.decode()
    assert not Contact.objects.filter(first_name="Eve").exists()


def test_a_stop_in_e164_stops_a_number_stored_in_national_format(
    bob_client, dan, hook, provider, client
):
    waiting = text_ask(dan)
    response = client.post(hook, {"From": "+15552223333", "Body": "STOP"})
    assert response.content == b"stopped"
    dan.refresh_from_db()
    assert not dan.sms_ok
    latest = ConsentRecord.objects.latest_for(dan, "sms")
    assert (latest.granted, latest.source) == (False, "sms_stop")
    waiting.refresh_from_db()
    assert waiting.status == "suppressed"
    # Neither the composer nor the worker sends another text.
    compose_page = bob_client.get(reverse("outreach:compose", args=[dan.pk, "sms"]))
    assert "not agreed to receive texts" in compose_page.context["problem"]
    type(dan).objects.filter(pk=dan.pk).update(sms_ok=True)  # even ticked again by hand
    assert sending.deliver(text_ask(dan, "testimonial").pk).status == "suppressed"
    # One confirmation, nothing else in it.
    sending.send_due()
    assert [json.loads(r.data)["body"] for r in provider] == [
        "Bright Law: you will receive no more texts from us. Reply START to rejoin."
    ]


@pytest.mark.parametrize("text", NOT_OPT_OUTS[:3])
def test_the_unrelated_sentences_do_not_opt_out(dan, hook, client, text):
    assert client.post(hook, {"From": "+15552223333", "Body": text}).content == b"ok"
    dan.refresh_from_db()
    assert dan.sms_ok and not Suppression.objects.exists()
    assert not OutboundMessage.objects.filter(kind="confirmation").exists()


def test_start_rejoins_with_a_consent_record_and_one_confirmation(dan, hook, provider, client):
    client.post(hook, {"From": "+15552223333", "Body": "stop"})
    assert client.post(hook, {"From": "+1 555 222 3333", "Body": "START"}).content == b"rejoined"
    dan.refresh_from_db()
    assert dan.sms_ok and not Suppression.objects.exists()
    latest = ConsentRecord.objects.latest_for(dan, "sms")
    assert latest.granted and latest.source == "sms reply" and "START" in latest.text
    assert sending.deliver(text_ask(dan).pk).status == "sent"
    sending.send_due()
    bodies = [json.loads(r.data)["body"] for r in provider]
    assert bodies[-1].startswith("Bright Law: you will receive our texts again.")
    assert len([b for b in bodies if "again" in b]) == 1


def test_yes_from_a_number_that_never_opted_out_changes_nothing(dan, hook, client):
    before = ConsentRecord.objects.filter(contact=dan).count()
    assert client.post(hook, {"From": "+15552223333", "Body": "Yes"}).content == b"ok"
    assert ConsentRecord.objects.filter(contact=dan).count() == before
    assert not OutboundMessage.objects.filter(kind="confirmation").exists()


def test_help_answers_with_the_business_and_how_to_stop_once_a_day(dan, hook, provider, client):
    for _ in range(3):
        assert client.post(hook, {"From": "+15552223333", "Body": "HELP"}).content == b"answered"
    sending.send_due()
    [body] = [json.loads(r.data)["body"] for r in provider]
    assert body.startswith("Bright Law:") and "Reply STOP to opt out" in body
    assert "bob@example.com" in body
    dan.refresh_from_db()
    assert dan.sms_ok  # HELP is a question, not an opt-out


def test_no_text_without_a_consent_record(bright, today, provider, bob_client):
    # Ticked in the database behind the consent log's back.
    eve = factories.contact(bright, first_name="Eve", phone="+12015550123")
    Contact.objects.filter(pk=eve.pk).update(sms_ok=True)
    eve.refresh_from_db()
    message = text_ask(eve)
    outcome = sending.deliver(message.pk)
    assert outcome.status == "suppressed" and "on record" in outcome.detail
    assert provider == []
    page = bob_client.get(reverse("outreach:compose", args=[eve.pk, "sms"])).content.decode()
    assert "not in the consent log" in page


def test_every_consent_change_on_the_contact_form_is_logged(bob_client, dan):
    data = {"first_name": "Dan", "last_name": "Brown", "phone": "(555) 222-3333"}
    assert bob_client.post(reverse("clients:edit", args=[dan.pk]), data).status_code == 302
    records = list(ConsentRecord.objects.filter(contact=dan, channel="sms").order_by("pk"))
    assert [r.granted for r in records] == [True, False]
    assert "bob@example.com" in records[0].text and "unticked" in records[1].text


def test_the_contacts_csv_takes_sms_ok_and_logs_it(bright):
    from rapport.clients.imports import import_files

    csv = (
        "external_id,first_name,phone,sms_ok\n"
        "C-1,Fay,(201) 555-0123,true\n"
        "C-2,Gus,2015550124,false\n"
    )
    [report] = import_files(bright, [("contacts.csv", csv)])
    assert report.imported, report.errors
    fay, gus = (Contact.objects.get(external_id=x, workspace=bright) for x in ("C-1", "C-2"))
    assert (fay.phone, fay.sms_ok, gus.phone, gus.sms_ok) == (
        "+12015550123",
        True,
        "+12015550124",
        False,
    )
    record = ConsentRecord.objects.latest_for(fay, "sms")
    assert record.granted and record.source == "import" and "sms_ok=true" in record.text
    # Opting out by file is logged too.
    import_files(bright, [("contacts.csv", "external_id,first_name,sms_ok\nC-1,Fay,false\n")])
    assert not ConsentRecord.objects.latest_for(fay, "sms").granted


def test_a_phone_in_the_csv_that_is_not_a_number_is_named_with_its_line(bright):
    from rapport.clients.imports import import_files

    [report] = import_files(bright, [("contacts.csv", "external_id,first_name,phone\nC-1,A,12\n")])
    assert not report.imported and not Contact.objects.filter(workspace=bright).exists()
    assert "contacts.csv:2: phone:" in str(report.errors[0])
