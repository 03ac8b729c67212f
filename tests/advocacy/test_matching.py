import pytest
from django.urls import reverse

from rapport.advocacy import actions, matching
from rapport.advocacy.models import MergeSuggestion, Referral
from rapport.clients.models import Contact
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(
        acme, today, first_name="Ann", email="ann@example.com", phone="+44 7700 900100"
    )


def names(ann, today, **person):
    person.setdefault("first_name", "Bob")
    return actions.receive_names(ann, [person], on=today)


def test_phones_are_compared_normalised():
    assert matching.normal_phone("(020) 7946 0018", "GB") == "+442079460018"
    assert matching.normal_phone("+44 20 7946 0018", "GB") == "+442079460018"
    assert matching.normal_email("  Bob@Example.COM ") == "bob@example.com"


@pytest.mark.parametrize(
    "given",
    [
        {"email": "BOB.STONE@example.com"},
        {"phone": "07700 900222"},
        {"last_name": "Stone"},  # the same full name, nothing contradicting it
    ],
)
def test_a_name_matching_an_existing_contact_makes_no_duplicate(ann, acme, today, given, settings):
    settings.PHONE_REGION = "GB"  # the default region would read the number as American
    bob = factories.contact(
        acme,
        first_name="Bob",
        last_name="Stone",
        email="bob.stone@example.com",
        phone="+44 7700 900222",
    )
    before = Contact.objects.filter(workspace=acme).count()
    received = actions.receive_names(ann, [{"first_name": "Bob", **given}], on=today)
    assert received == [bob]
    assert Contact.objects.filter(workspace=acme).count() == before
    assert Referral.objects.get(referrer=ann).referred == bob


def test_the_same_name_with_other_details_is_a_likely_match_offered_for_merge(ann, acme, today):
    bob = factories.contact(acme, first_name="Bob", last_name="Stone", email="bob@work.example")
    (new,) = names(ann, today, last_name="Stone", email="bobby@home.example")
    assert new != bob and new.email == "bobby@home.example"
    suggestion = MergeSuggestion.objects.get(workspace=acme)
    assert {suggestion.contact, suggestion.candidate} == {bob, new}
    assert "a different email" in suggestion.reasons


def test_a_first_name_alone_matches_nobody(ann, acme, today):
    factories.contact(acme, first_name="Bob", last_name="")
    (new,) = names(ann, today)
    assert Contact.objects.filter(workspace=acme, first_name="Bob").count() == 2
    assert not MergeSuggestion.objects.exists() and new.referred_by == ann


def test_another_workspace_is_never_matched(ann, bright, today):
    other = factories.contact(bright, first_name="Bob", last_name="Stone", email="bob@example.com")
    (new,) = names(ann, today, last_name="Stone", email="bob@example.com")
    assert new != other and new.workspace == ann.workspace


def test_self_referral_is_refused_everywhere(alice_client, ann, acme, today):
    # The give-names path skips it; the staff form says why; the action refuses.
    assert names(ann, today, email="ANN@example.com") == []
    assert names(ann, today, phone="+447700900100") == []
    response = alice_client.post(
        reverse("advocacy:add_referral", args=[ann.pk]),
        {
            "referral-first_name": "Me",
            "referral-email": "ann@example.com",
            "referral-date": today.isoformat(),
            "referral-how": "names_given",
        },
    )
    assert response.status_code == 422
    assert "own email or phone" in response.content.decode()
    twin = factories.contact(acme, first_name="Annie", email="ann@example.com")
    with pytest.raises(actions.SelfReferral):
        actions.record_referral(ann, twin, on=today)
    with pytest.raises(actions.SelfReferral):
        actions.record_referral(ann, ann, on=today)
    assert not Referral.objects.exists()


def test_the_contact_page_form_records_a_referral_with_its_source(alice_client, ann, today):
    response = alice_client.post(
        reverse("advocacy:add_referral", args=[ann.pk]),
        {
            "referral-first_name": "Carla",
            "referral-last_name": "Diaz",
            "referral-email": "carla@example.com",
            "referral-date": today.isoformat(),
            "referral-how": "names_given",
            "referral-unsolicited": "on",
        },
    )
    assert response.status_code == 302
    carla = Contact.objects.get(first_name="Carla")
    referral = Referral.objects.get(referred=carla)
    assert (referral.referrer, referral.unsolicited, carla.source) == (
        ann,
        True,
        "referred by Ann Jones",
    )
    page = alice_client.get(reverse("clients:detail", args=[ann.pk])).content.decode()
    assert "Carla Diaz" in page and "Referrals from Ann: 1" in page


def test_the_contact_page_says_when_the_name_was_someone_known(alice_client, ann, acme, today):
    factories.contact(acme, first_name="Kim", last_name="Lee", email="kim@example.com")
    response = alice_client.post(
        reverse("advocacy:add_referral", args=[ann.pk]),
        {
            "referral-first_name": "Kim",
            "referral-email": "KIM@example.com",
            "referral-date": today.isoformat(),
            "referral-how": "names_given",
        },
        follow=True,
    )
    assert "Kim Lee is already in your contacts" in response.content.decode()
