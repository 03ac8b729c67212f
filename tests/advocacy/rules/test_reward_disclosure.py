"""A reward is a material connection (16 CFR 255.5): a testimonial of the
person rewarded — given before the reward or after it — is marked rewarded,
and its public display (the feed, the wall) carries the disclosure."""

import pytest
from django.urls import reverse

from rapport.advocacy import actions, models, rewards, testimonials
from rapport.advocacy.models import MaterialConnection, RewardRule
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today, first_name="Ann")


def reward_rule(workspace, recipient="referrer"):
    return rewards.save_rule(
        RewardRule(
            workspace=workspace,
            name="Thank you",
            wording="10% off your next visit",
            recipient=recipient,
            trigger="arrival",
            kind="percentage",
            percent=10,
        )
    )


def published(contact, today, text="Wonderful team"):
    t = actions.record_testimonial(contact, text, on=today, consent_publish=True)
    testimonials.approve(t, by=None)
    t.refresh_from_db()
    return t


def feed(client, workspace):
    data = client.get(reverse("advocacy:feed", args=[workspace.slug])).json()
    return {t["text"]: t["disclosure"] for t in data["testimonials"]}


def test_a_reward_to_a_testimonial_s_author_discloses_it(client, acme, ann, today):
    reward_rule(acme)
    t = published(ann, today)
    assert feed(client, acme) == {"Wonderful team": None}
    actions.receive_names(ann, [{"first_name": "Bob", "last_name": "Friend"}], on=today)
    t.refresh_from_db()
    assert t.material_connection == MaterialConnection.REWARDED
    assert feed(client, acme)["Wonderful team"].startswith("Acme Dental gave this client a reward")


def test_a_testimonial_given_after_a_reward_is_disclosed_from_the_start(acme, ann, today):
    reward_rule(acme)
    actions.receive_names(ann, [{"first_name": "Bob", "last_name": "Friend"}], on=today)
    t = actions.record_testimonial(ann, "Lovely people", on=today)
    connection = models.Testimonial.objects.get(pk=t.pk).material_connection
    assert connection == MaterialConnection.REWARDED


def test_no_reward_no_disclosure_and_the_friend_s_reward_is_theirs(acme, ann, today):
    reward_rule(acme, recipient="friend")
    t = published(ann, today)
    bob = actions.receive_names(ann, [{"first_name": "Bob", "last_name": "Friend"}], on=today)[0]
    t.refresh_from_db()
    assert t.material_connection == MaterialConnection.NONE  # Ann got nothing
    later = actions.record_testimonial(bob, "Great first visit", on=today)
    assert models.Testimonial.objects.get(pk=later.pk).material_connection == "rewarded"
