"""The journey of issue 7, as a new user would try it: names given on a
client page, a double-opt-in introduction, won, the referrer told and
thanked with a card, a reward redeemed at the desk; and a lead through a
referral link attributed to its owner."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from rapport.advocacy import actions, rewards
from rapport.advocacy.models import Introduction, Referral, Reward, RewardRule, ThankYou
from rapport.clients.actions import record_consent
from rapport.outreach.actions import start_ask
from rapport.outreach.models import OutboundMessage
from tests import factories

pytestmark = pytest.mark.django_db


def test_from_names_to_won_with_thanks_and_a_reward_redeemed(alice_client, acme, today):
    ann = factories.client_with_history(
        acme, today, first_name="Ann", email="ann@example.com", address="2 Mill Lane, Bath"
    )
    record_consent(ann, "email", True, "test", "test")
    rewards.save_rule(
        RewardRule(
            workspace=acme,
            name="Thanks",
            wording="20% off your next visit",
            recipient="referrer",
            trigger="won",
            kind="percentage",
            percent=20,
            valid_days=60,
        )
    )
    # 1. Ann gives a name on her page and will introduce her.
    ask = start_ask(ann, kind="referral", channel="email")
    page = reverse("outreach:page", args=[ask.token()])
    response = Client().post(
        page, {"name_1": "Dana Ray", "reach_1": "dana@example.com", "intro_1": "on"}
    )
    assert response.status_code == 200
    referral = Referral.objects.get(referrer=ann)
    dana = referral.referred
    assert dana.email == "" and referral.introduction.state == "drafted"

    # 2. The note goes to Ann to forward; 3. Dana says yes.
    alice_client.post(reverse("advocacy:intro_email", args=[referral.pk]))
    intro = Introduction.objects.get(pk=referral.introduction.pk)
    assert intro.state == "sent"
    Client().post(f"/i/{actions.introduction_token(intro)}/", {"answer": "yes", "use_sealed": "on"})
    dana.refresh_from_db()
    assert dana.email == "dana@example.com" and dana.email_ok

    # 4. Her first visit, recorded on her page, wins the referral for Ann.
    alice_client.post(
        reverse("clients:add_purchase", args=[dana.pk]),
        {"purchase-date": today.isoformat(), "purchase-amount": "320"},
    )
    referral.refresh_from_db()
    assert (referral.status, referral.value) == ("won", Decimal("320.00"))
    board = alice_client.get(reverse("advocacy:board")).content.decode()
    assert "credited 320.00" in board

    # 5. Ann is told, in one click; 6. thanked with a card, marked sent.
    alice_client.post(reverse("advocacy:tell_referrer", args=[referral.pk]), {"channel": "email"})
    assert OutboundMessage.objects.filter(idempotency_key=f"referrer-update:{referral.pk}").exists()
    card = ThankYou.objects.get(contact=ann)
    assert "2 Mill Lane, Bath" in alice_client.get(reverse("advocacy:cards")).content.decode()
    alice_client.post(reverse("advocacy:card_sent", args=[card.pk]))
    assert ann.activities.filter(kind="card", direction="out").exists()

    # 7. Ann's reward, shown at the desk from its code, is redeemed in one click.
    reward = Reward.objects.get(contact=ann)
    desk = alice_client.get(reverse("advocacy:desk"), {"code": reward.display}).content.decode()
    assert "20% off your next visit" in desk
    alice_client.post(reverse("advocacy:redeem", args=[reward.pk]))
    reward.refresh_from_db()
    assert reward.redeemed_at is not None


def test_a_lead_through_a_referral_link_is_attributed_to_its_owner(alice_client, acme, today):
    ann = factories.client_with_history(acme, today, first_name="Ann")
    alice_client.post(reverse("advocacy:issue_code", args=[ann.pk]))
    code = ann.referral_codes.get()
    assert (
        code.display in alice_client.get(reverse("clients:detail", args=[ann.pk])).content.decode()
    )
    Client().get(f"/r/{code.code}")
    Client().post(f"/r/{code.code}", {"first_name": "Lee", "email": "lee@example.com"})
    referral = Referral.objects.get(referred__first_name="Lee")
    assert (referral.referrer, referral.how, referral.code) == (ann, "link", code)
    code.refresh_from_db()
    assert code.clicks == 1
    page = alice_client.get(reverse("advocacy:codes")).content.decode()
    assert code.display in page
