import datetime as dt
import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.advocacy import actions
from rapport.advocacy.models import Introduction, Referral
from rapport.clients.models import ConsentRecord, Contact
from rapport.outreach.models import OutboundMessage, Suppression
from tests import factories

pytestmark = pytest.mark.django_db

SECRET_EMAIL = "dana.private@example.com"
SECRET_PHONE = "+44 7700 900987"


@pytest.fixture
def ann(acme, today):
    person = factories.client_with_history(acme, today, first_name="Ann", email="ann@example.com")
    from rapport.clients.actions import record_consent

    record_consent(person, "email", True, "test", "test")
    return person


@pytest.fixture
def intro(ann, today):
    (dana,) = actions.receive_names(
        ann,
        [
            {
                "first_name": "Dana",
                "last_name": "Ray",
                "email": SECRET_EMAIL,
                "phone": SECRET_PHONE,
                "wants_intro": True,
                "note": "my neighbour",
            }
        ],
        on=today,
    )
    return Introduction.objects.get(referral__referred=dana)


def link(intro):
    return f"/i/{actions.introduction_token(intro)}/"


def test_a_double_opt_in_introduction_gives_the_business_no_contact_detail(
    alice_client, intro, ann, acme
):
    dana = intro.referral.referred
    assert (dana.email, dana.phone, dana.notes) == ("", "", "")
    assert SECRET_EMAIL not in intro.sealed and "900987" not in intro.sealed  # encrypted
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    staff = Client()
    staff.force_login(admin)
    pages = [
        alice_client.get(reverse("clients:detail", args=[dana.pk])),
        alice_client.get(reverse("clients:detail", args=[ann.pk])),
        alice_client.get(reverse("clients:list"), {"q": "Dana"}),
        alice_client.get(reverse("advocacy:board")),
        alice_client.get(reverse("advocacy:referral", args=[intro.referral_id])),
        alice_client.get(reverse("advocacy:merges")),
        alice_client.get(reverse("outreach:export", args=[dana.pk])),
        alice_client.get(reverse("outreach:export", args=[ann.pk])),
        alice_client.get(reverse("outreach:outbox")),
        staff.get(f"/admin/advocacy/introduction/{intro.pk}/change/"),
        staff.get(f"/admin/clients/contact/{dana.pk}/change/"),
    ]
    for response in pages:
        assert response.status_code == 200, response.request["PATH_INFO"]
        body = response.content.decode()
        for secret in (SECRET_EMAIL, "dana.private", "900987", "7700 900987"):
            assert secret not in body, (response.request["PATH_INFO"], secret)
    # Nor did Rapport write to the friend: they have not agreed to anything.
    assert not OutboundMessage.objects.filter(to_address__icontains="dana").exists()
    # The staff search does not even find her by the address.
    assert (
        alice_client.get(reverse("clients:list"), {"q": "dana.private"})
        .context["page"]
        .paginator.count
        == 0
    )


def test_accepting_hands_over_the_details_with_consent(intro, today):
    client = Client()
    page = client.get(link(intro)).content.decode()
    assert "Ann thought you would like" in page and "d•••@e•••.com" in page
    assert SECRET_EMAIL not in page  # masked even for whoever holds the link
    intro.refresh_from_db()
    assert intro.state == "drafted" and intro.answered_at is None  # a GET changes nothing
    response = client.post(link(intro), {"answer": "yes", "use_sealed": "on"})
    assert response.status_code == 200
    dana = Contact.objects.get(pk=intro.referral.referred_id)
    assert (dana.email, dana.phone, dana.email_ok, dana.sms_ok) == (
        SECRET_EMAIL,
        SECRET_PHONE,
        True,
        True,
    )
    consent = ConsentRecord.objects.get(contact=dana, channel="email")
    assert "may contact me by email about what Ann suggested" in consent.text
    intro.refresh_from_db()
    assert (intro.state, intro.sealed) == ("accepted", "")
    # Single use.
    assert client.post(link(intro), {"answer": "yes", "use_sealed": "on"}).status_code == 409


def test_the_friend_may_give_other_details_than_the_referrer_did(intro):
    Client().post(link(intro), {"answer": "yes", "email": "dana@work.example"})
    dana = Contact.objects.get(pk=intro.referral.referred_id)
    assert (dana.email, dana.phone) == ("dana@work.example", "")


def test_declining_wipes_the_details_and_loses_the_referral(intro, acme):
    response = Client().post(link(intro), {"answer": "no"})
    assert response.status_code == 200 and "We will not contact you" in response.content.decode()
    intro.refresh_from_db()
    referral = Referral.objects.get(pk=intro.referral_id)
    assert (intro.state, intro.sealed) == ("declined", "")
    assert (referral.status, referral.lost_reason) == ("lost", "declined_intro")
    assert Suppression.objects.covers(acme, "email", SECRET_EMAIL)
    assert Contact.objects.get(pk=referral.referred_id).email == ""


def test_an_expired_or_unknown_link_opens_nothing(intro):
    Introduction.objects.filter(pk=intro.pk).update(
        token_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert Client().get(link(intro)).status_code == 410
    assert Client().post(link(intro), {"answer": "yes", "use_sealed": "on"}).status_code == 410
    assert Client().get("/i/not-a-token/").status_code == 404
    intro.refresh_from_db()
    assert intro.state == "drafted"


def test_introduction_posts_are_rate_limited(intro):
    client = Client()
    codes = [client.post(link(intro), {"answer": "yes"}).status_code for _ in range(7)]
    assert codes[:5] == [422] * 5 and codes[5:] == [429, 429]


def test_the_note_is_drafted_for_the_referrer_and_can_be_emailed_to_them(alice_client, intro, ann):
    page = alice_client.get(reverse("advocacy:referral", args=[intro.referral_id])).content.decode()
    assert "Hi Dana, I&#x27;ve been going to Acme Dental" in page and "mailto:?subject=" in page
    response = alice_client.post(reverse("advocacy:intro_email", args=[intro.referral_id]))
    assert response.status_code == 302
    message = OutboundMessage.objects.get(contact=ann)
    assert message.to_address == "ann@example.com" and link(intro) in message.body_text
    assert SECRET_EMAIL not in message.body_text
    intro.refresh_from_db()
    assert intro.state == "sent"
    board = alice_client.get(reverse("advocacy:board")).content.decode()
    assert "intro sent" in board


def test_the_token_is_stored_hashed(intro):
    token = actions.introduction_token(intro)
    assert len(token) >= 32 and token not in intro.token_hash
    assert actions.introduction_by_token(token) == intro


def test_exported_json_of_the_friend_holds_no_detail(alice_client, intro):
    data = json.loads(
        alice_client.get(reverse("outreach:export", args=[intro.referral.referred_id])).content
    )
    assert data["contact"]["email"] == "" and data["contact"]["phone"] == ""


def test_rewards_on_arrival_wait_until_the_friend_accepts(ann, acme, today):
    from rapport.advocacy import rewards
    from rapport.advocacy.models import Reward, RewardRule

    rewards.save_rule(
        RewardRule(
            workspace=acme,
            name="w",
            wording="A welcome coffee",
            recipient="both",
            trigger="arrival",
            kind="gift",
        )
    )
    (eve,) = actions.receive_names(
        ann, [{"first_name": "Eve", "email": "eve@example.com", "wants_intro": True}], on=today
    )
    assert not Reward.objects.exists()
    intro = Introduction.objects.get(referral__referred=eve)
    Client().post(link(intro), {"answer": "yes", "use_sealed": "on"})
    assert set(Reward.objects.values_list("role", flat=True)) == {"referrer", "friend"}
