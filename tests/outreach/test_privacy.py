"""A contact's data on request: exported whole, or erased leaving a hash."""

import json

import pytest
from django.urls import reverse

from rapport.clients.models import Contact
from rapport.outreach import actions, compose, sending
from rapport.outreach.models import OutboundMessage, Suppression, address_hash
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    ann = factories.client_with_history(
        acme, today, email="ann@example.com", phone="+4477", email_ok=True
    )
    factories.activity(ann, today, text="Lovely visit", signals=["praise"])
    compose.ask_email(
        actions.start_ask(ann, kind="referral", channel="email"), subject="s", body="b"
    )
    return ann


def test_export_holds_everything_about_the_contact_and_no_secret(alice_client, ann):
    response = alice_client.get(reverse("outreach:export", args=[ann.pk]))
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["contact"]["email"] == "ann@example.com"
    assert len(data["purchases"]) == 5 and data["activities"][0]["text"] == "Lovely visit"
    assert data["asks"] and data["messages"]
    text = response.content.decode()
    assert "token_hash" not in text and "unsubscribe_salt" not in text


def test_erasure_keeps_only_a_hashed_suppression(alice_client, ann, acme):
    response = alice_client.post(reverse("outreach:erase", args=[ann.pk]), {"confirm": "Ann Jones"})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=ann.pk).exists()
    assert not OutboundMessage.objects.exists()
    entries = Suppression.objects.filter(workspace=acme)
    assert {(s.channel, s.address, s.address_hash) for s in entries} == {
        ("email", "", address_hash("email", "ann@example.com")),
        ("sms", "", address_hash("sms", "+4477")),
    }
    # The same address brought back by an import is never messaged automatically.
    again = factories.client_with_history(
        acme, acme.today(), email="ANN@example.com", email_ok=True
    )
    message = compose.ask_email(
        actions.start_ask(again, kind="referral", channel="email"), subject="s", body="b"
    )
    assert sending.deliver(message.pk).status == "suppressed"


def test_erasure_needs_the_name_typed_and_an_owner(alice_client, charlie_client, ann):
    alice_client.post(reverse("outreach:erase", args=[ann.pk]), {"confirm": "Ann"})
    assert Contact.objects.filter(pk=ann.pk).exists()
    assert (
        charlie_client.post(
            reverse("outreach:erase", args=[ann.pk]), {"confirm": "Ann Jones"}
        ).status_code
        == 403
    )
    assert Contact.objects.filter(pk=ann.pk).exists()
