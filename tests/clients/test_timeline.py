"""The contact's timeline says what happened, in plain and truthful words."""

import pytest
from django.test import Client

from rapport.clients import actions
from rapport.clients.models import Issue
from rapport.clients.timeline import timeline
from rapport.outreach import actions as outreach
from tests import factories

pytestmark = pytest.mark.django_db


def titles(contact):
    entries, _ = timeline(contact)
    return [(entry.title, entry.badges) for entry in entries]


def test_a_questionnaire_reads_as_asked_for_feedback_and_a_detractor_never_said_yes(acme):
    ann = factories.contact(acme, email="ann@example.com")
    ask = outreach.start_ask(ann, kind="feedback", channel="email")
    outreach.answer_questionnaire(
        ask, nps=2, experience="The crown cracked in a week", improve="Call back", would_refer=""
    )
    shown = titles(ann)
    asked = [tags for title, tags in shown if title.startswith("Asked for feedback")]
    assert asked == [("answered 2/10",)]
    assert not any("Said yes" in tags for _, tags in shown)


def test_the_issue_of_a_detractor_quotes_what_went_wrong(acme):
    ann = factories.contact(acme, email="ann@example.com")
    ask = outreach.start_ask(ann, kind="feedback", channel="email")
    outreach.answer_questionnaire(
        ask, nps=3, experience="Nobody called back", improve="Shorter waits", would_refer=""
    )
    summary = Issue.objects.get(contact=ann).summary
    assert summary.startswith("Rated us 3/10: Nobody called back")
    assert summary.endswith("would improve: Shorter waits")


def test_an_unticked_consent_did_not_agree_and_only_a_given_one_is_withdrawn(acme):
    ann = factories.contact(acme)
    actions.record_consent(ann, "email", False, "Left unticked on the form", "app")
    actions.record_consent(ann, "email", True, "Ticked later", "app")
    actions.record_consent(ann, "email", False, "Unsubscribed", "app")
    words = [title for title, _ in titles(ann) if title.startswith("Consent")]
    assert words == [
        "Consent: withdrew email",
        "Consent: agreed to email",
        "Consent: did not agree to email",
    ]


def test_the_page_shows_the_timeline(alice_client: Client, acme):
    ann = factories.contact(acme)
    outreach.start_ask(ann, kind="referral", channel="phone", page=False)
    page = alice_client.get(f"/contacts/{ann.pk}/").content.decode()
    assert "Asked for a referral (phone)" in page
