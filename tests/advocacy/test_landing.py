import pytest
from django.test import Client
from django.urls import reverse

from rapport.advocacy import actions, rewards, testimonials
from rapport.advocacy.models import Referral, ReferralCode, Reward, RewardRule
from rapport.advocacy.views import safe_next
from rapport.clients import actions as clients
from rapport.clients.models import Contact
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(
        acme, today, first_name="Ann", email="ann@example.com", phone="+1 212 555 0100"
    )


@pytest.fixture
def code(ann):
    return actions.issue_code(ann)


def test_codes_are_short_unambiguous_and_unguessable(acme, today):
    people = [factories.client_with_history(acme, today, first_name=f"P{n}") for n in range(30)]
    codes = [actions.issue_code(p).code for p in people]
    assert len(set(codes)) == 30
    for value in codes:
        assert len(value) == 8 and not set(value) & set("01OILU")
    assert actions.issue_code(people[0]).code == codes[0]  # one live code each


def test_only_a_client_without_an_open_issue_may_have_a_code(acme, today):
    prospect = factories.contact(acme, first_name="Pat")
    with pytest.raises(actions.Refused, match="not a client"):
        actions.issue_code(prospect)
    client = factories.client_with_history(acme, today, first_name="Cli")
    clients.open_issue(client, "Broken crown", opened_on=today)
    with pytest.raises(actions.Refused, match="issue is open"):
        actions.issue_code(client)
    ok = factories.client_with_history(acme, today, first_name="Okay")
    assert actions.issue_codes(acme) == 1  # Okay only
    assert ReferralCode.objects.get().contact == ok


def test_the_landing_page_shows_the_pitch_and_counts_the_click(ann, code, acme, today):
    from rapport.advocacy.models import ReferralProgram

    ReferralProgram.objects.create(
        workspace=acme, headline="Hello, neighbour", pitch="Gentle care."
    )
    words = actions.record_testimonial(
        ann, "Best dentist", on=today, consent_publish=True, display_name="Ann J."
    )
    testimonials.approve(words)
    response = Client().get(f"/r/{code.code}")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Hello, neighbour" in page and "Gentle care." in page and "Best dentist" in page
    assert "Ann thought you would like Acme Dental" in page
    assert "What some of our clients say" in page  # never "all reviews" (16 CFR 465.7)
    assert response["Referrer-Policy"] == "no-referrer"
    Client().get(f"/r/{code.code.lower()}")
    Client().head(f"/r/{code.code}")  # a link preview is not a visit
    code.refresh_from_db()
    assert code.clicks == 2


def test_a_testimonial_whose_giver_was_rewarded_shows_a_disclosure(ann, code, acme, today):
    rewards.save_rule(
        RewardRule(
            workspace=acme,
            name="t",
            wording="A coffee",
            recipient="referrer",
            trigger="arrival",
            kind="gift",
        )
    )
    words = actions.record_testimonial(ann, "Lovely", on=today, consent_publish=True)
    testimonials.approve(words)
    actions.receive_names(ann, [{"first_name": "Bob"}], on=today)
    page = Client().get(f"/r/{code.code}").content.decode()
    assert "received a reward for referring us" in page


def test_unknown_and_revoked_codes_get_the_same_plain_404(ann, code):
    other = Client().get("/r/ZZZZZZZZ")
    actions.revoke_code(code)
    revoked = Client().get(f"/r/{code.code}")
    malformed = Client().get("/r/not-a-code!")
    assert other.status_code == revoked.status_code == malformed.status_code == 404
    assert other.content == revoked.content == malformed.content
    assert b"Acme" not in revoked.content and b"Ann" not in revoked.content
    code.refresh_from_db()
    assert code.clicks == 0


def test_code_enumeration_is_rate_limited_per_address(ann, code):
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [client.get(f"/r/GUESS{n:03d}".replace("0", "A")).status_code for n in range(12)]
    assert statuses[:10] == [404] * 10 and statuses[10:] == [429, 429]
    # Another address is not held back, and a real code still opens for everyone.
    assert Client(REMOTE_ADDR="203.0.113.10").get("/r/ZZZZZZZZ").status_code == 404
    assert client.get(f"/r/{code.code}").status_code == 200


def test_a_lead_from_the_form_is_a_prospect_referred_by_the_codes_owner(ann, code, acme):
    rewards.save_rule(
        RewardRule(
            workspace=acme,
            name="w",
            wording="15% off your first visit",
            recipient="friend",
            trigger="arrival",
            kind="percentage",
            percent=15,
            valid_days=60,
        )
    )
    response = Client().post(
        f"/r/{code.code}",
        {
            "first_name": "Lee",
            "last_name": "Park",
            "email": "lee@example.com",
            "email_ok": "on",
            "note": "Ann said you are gentle",
        },
    )
    assert response.status_code == 200
    lee = Contact.objects.get(first_name="Lee")
    referral = Referral.objects.get(referred=lee)
    assert (referral.referrer, referral.how, referral.code) == (ann, "link", code)
    assert (lee.stage, lee.source, lee.email_ok) == ("prospect", "referral link of Ann Jones", True)
    reward = Reward.objects.get(contact=lee)
    page = response.content.decode()
    assert reward.display in page and "15% off your first visit" in page  # shown at once


def test_the_form_refuses_bad_input_and_self_referral(ann, code, acme):
    acme.phone_region = "US"  # a US practice: its clients write US numbers without +1
    acme.save(update_fields=["phone_region"])
    assert Client().post(f"/r/{code.code}", {"first_name": "Lee"}).status_code == 422
    response = Client().post(f"/r/{code.code}", {"first_name": "Me", "phone": "(212) 555-0100"})
    assert response.status_code == 422 and "own code" in response.content.decode()
    assert Referral.objects.count() == 0


def test_a_code_typed_at_the_desk_gives_the_same_attribution(alice_client, ann, code):
    page = alice_client.get(reverse("advocacy:desk"), {"code": code.display.lower()})
    assert "Referral code of Ann Jones" in page.content.decode()
    response = alice_client.post(
        reverse("advocacy:desk_lead", args=[code.pk]),
        {"first_name": "Mo", "last_name": "Chan", "phone": "+1 646 555 0199"},
    )
    assert response.status_code == 302
    referral = Referral.objects.get(referred__first_name="Mo")
    assert (referral.referrer, referral.code, referral.how) == (ann, code, "code")


def test_next_only_returns_to_allowlisted_local_pages(rf):
    for target, expected in [
        ("/referrals/", "/referrals/"),
        ("/contacts/3/", "/contacts/3/"),
        ("https://evil.example/", "/d/"),
        ("//evil.example/", "/d/"),
        ("/\\evil.example", "/d/"),
        ("/admin/", "/d/"),
        ("/r/ABCDEFGH", "/d/"),
        ("javascript:alert(1)", "/d/"),
    ]:
        request = rf.post("/x/", {"next": target})
        assert safe_next(request, "/d/") == expected, target


def test_a_lead_post_is_rate_limited(ann, code):
    client = Client(REMOTE_ADDR="198.51.100.7")
    statuses = [client.post(f"/r/{code.code}", {"first_name": "x"}).status_code for _ in range(11)]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
