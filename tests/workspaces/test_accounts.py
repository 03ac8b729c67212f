import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from rapport.workspaces.models import Invitation, Membership, Role

pytestmark = pytest.mark.django_db


def test_log_in_and_out(alice, acme):
    client = Client()
    response = client.post(
        reverse("login"), {"username": "alice@example.com", "password": "password-for-tests"}
    )
    assert response.status_code == 302
    assert client.get(reverse("agenda:today")).status_code == 200
    client.post(reverse("logout"))
    response = client.get(reverse("agenda:today"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_login_next_never_redirects_off_site(alice, acme):
    client = Client()
    response = client.post(
        reverse("login") + "?next=https://evil.example/",
        {
            "username": "alice@example.com",
            "password": "password-for-tests",
            "next": "https://evil.example/",
        },
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_owner_invites_a_member_who_joins_with_the_link(alice_client, acme):
    response = alice_client.post(
        reverse("workspaces:members"), {"email": "dora@example.com", "role": "member"}
    )
    assert response.status_code == 200
    link = response.context["invite_link"]
    assert link and link in mail.outbox[0].body
    invitation = Invitation.objects.get(email="dora@example.com")
    assert invitation.token_hash not in link  # only the hash is stored

    dora = get_user_model().objects.create_user(
        "dora@example.com", "dora@example.com", "pw-for-tests-1"
    )
    client = Client()
    client.force_login(dora)
    path = link.split("testserver")[1]
    assert client.get(path).status_code == 200
    client.post(path)
    assert Membership.objects.get(user=dora, workspace=acme).role == Role.MEMBER
    # A used invitation does not work twice.
    assert client.get(path).status_code == 404


def test_a_member_cannot_invite_or_change_settings(charlie_client, acme):
    charlie_client.post(reverse("workspaces:members"), {"email": "x@example.com", "role": "owner"})
    assert not Invitation.objects.exists()
    charlie_client.post(reverse("workspaces:settings"), {"name": "Taken over"})
    acme.refresh_from_db()
    assert acme.name == "Acme Dental"
    membership = Membership.objects.get(user__username="alice@example.com")
    response = charlie_client.post(reverse("workspaces:member_remove", args=[membership.pk]))
    assert response.status_code == 403


def test_the_last_owner_cannot_be_removed(alice_client, alice, acme):
    membership = Membership.objects.get(user=alice, workspace=acme)
    alice_client.post(reverse("workspaces:member_remove", args=[membership.pk]))
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_workspace_settings_are_saved_and_validated(alice_client, acme):
    data = {
        "name": "Acme Dental Care",
        "time_zone": "Europe/Dublin",
        "postal_address": "1 High Street",
        "brand_colour": "#123456",
        "readiness_threshold": "70",
        "ask_cooldown_days": "60",
        "decline_holdback_days": "120",
        "recall_interval_days": "183",
        "agenda_refresh_hour": "7",
        "recovery_confirm_days": "14",
        "recovery_wait_days": "30",
        "daily_email_limit": "300",
        **{
            f"window_{k}": "14"
            for k in [
                "point_of_sale",
                "praise",
                "testimonial",
                "saved_us",
                "referral",
                "project_completed",
                "partner_association",
                "promoter",
                "detractor",
                "passive",
                "complaint",
            ]
        },
        **{
            f"cadence_{k}": "90"
            for k in ["prospect", "customer", "member", "advocate", "raving_fan"]
        },
    }
    response = alice_client.post(reverse("workspaces:settings"), data)
    assert response.status_code == 302
    acme.refresh_from_db()
    assert (acme.readiness_threshold, acme.time_zone, acme.window_for("point_of_sale")) == (
        70,
        "Europe/Dublin",
        14,
    )
    assert acme.cadence_for("member") == 90
    response = alice_client.post(
        reverse("workspaces:settings"), {**data, "brand_colour": "red", "time_zone": "Nowhere"}
    )
    assert response.status_code == 200
    assert {"brand_colour", "time_zone"} <= set(response.context["form"].errors)


def test_switching_workspace_needs_a_membership(alice_client, alice, acme, bright):
    from tests import factories

    other = factories.workspace(alice, "Second Practice")
    alice_client.post(reverse("workspaces:switch", args=[other.pk]))
    assert alice_client.get(reverse("clients:list")).context["workspace"] == other


def test_a_user_without_a_workspace_is_sent_to_create_one(db):
    user = get_user_model().objects.create_user(
        "solo@example.com", "solo@example.com", "pw-for-tests-1"
    )
    client = Client()
    client.force_login(user)
    response = client.get(reverse("agenda:today"))
    assert response["Location"] == reverse("workspaces:create")
    client.post(reverse("workspaces:create"), {"workspace_name": "Solo", "time_zone": "UTC"})
    assert client.get(reverse("agenda:today")).status_code == 200


REDIRECT_CORPUS = [
    "//evil.example",
    "https:evil.example",
    "http:///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "https://evil.example/",
    "///evil.example",
    "/%5Cevil.example",
    " //evil.example",
]


@pytest.mark.parametrize("target", REDIRECT_CORPUS)
def test_no_next_ever_leaves_the_site(target, alice, acme):
    from urllib.parse import urlsplit

    client = Client()
    response = client.post(
        reverse("login") + "?next=" + target,
        {"username": "alice@example.com", "password": "password-for-tests", "next": target},
    )
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert not location.scheme and not location.netloc, response["Location"]
    assert not response["Location"].startswith(("//", "/\\"))


@pytest.mark.parametrize("target", REDIRECT_CORPUS)
def test_sign_up_next_is_local_or_dropped(target):
    from urllib.parse import urlsplit

    from rapport.workspaces.views import is_local_path

    if is_local_path(target):  # only a path on this site, like /%5Cevil.example
        assert not urlsplit(target).netloc and not urlsplit(target).scheme
