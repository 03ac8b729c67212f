"""The win-back call's outcomes, in one click from Today or the contact page."""

import datetime as dt

import pytest
from django.urls import reverse

from rapport.agenda import engine, store
from rapport.agenda.models import Action, AgendaDecision, AgendaItem
from rapport.clients.models import Issue, Permission
from rapport.outreach.models import Ask, AskKind, Outcome
from rapport.winback import actions as winback
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def pat(acme, today):
    """A regular patient (every two months) not seen for 200 days."""
    pat = factories.contact(acme, first_name="Pat", relationship=8, relationship_on=today)
    visits = [today - dt.timedelta(days=200 + 60 * k) for k in range(5)]
    factories.purchases(pat, sorted(visits))
    store.refresh(acme, today)
    return pat


def item_of(contact, action=Action.REACTIVATE):
    return AgendaItem.objects.get(contact=contact, action=action)


def agenda(contact, on):
    items, _, _ = engine.build(contact.workspace, on, [contact.pk])
    return {item.action: item for item in items}


def post(client, item, *, htmx=False, **data):
    data.setdefault("channel", "phone")
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("winback:reactivation", args=[item.pk]), data, **headers)


def test_today_offers_the_outcomes_and_the_facilitative_questions(alice_client, pat):
    page = alice_client.get(reverse("agenda:today")).content.decode()
    item = item_of(pat)
    assert reverse("winback:reactivation", args=[item.pk]) in page
    assert "What has stopped you from coming back recently?" in page
    # The outcomes come with one click (htmx swaps them into the card).
    form = alice_client.get(
        reverse("winback:reactivation", args=[item.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Coming back (booked)" in form and "A problem came up" in form
    assert "<html" not in form
    # The same card on the contact page.
    page = alice_client.get(reverse("clients:detail", args=[pat.pk])).content.decode()
    assert reverse("winback:reactivation", args=[item.pk]) in page


def test_coming_back_records_a_yes_and_the_item_is_done(alice_client, alice, pat, today):
    item = item_of(pat)
    booked = today + dt.timedelta(days=5)
    response = post(alice_client, item, outcome="yes", booked_on=booked, note="Check-up")
    assert response.status_code == 302
    ask = Ask.objects.get(contact=pat)
    assert (ask.kind, ask.outcome, ask.channel, ask.asked_by, ask.asked_on) == (
        AskKind.REACTIVATION,
        Outcome.YES,
        "phone",
        alice,
        today,
    )
    assert ask.note == f"Booked for {booked}. Check-up"
    assert "What has stopped you from coming back recently?" in ask.script
    decision = AgendaDecision.objects.get(contact=pat, action=Action.REACTIVATE)
    assert decision.status == AgendaDecision.Status.DONE
    assert not AgendaItem.objects.filter(contact=pat, action=Action.REACTIVATE).exists()


def test_not_now_snoozes_until_the_day_and_grants_no_permission(alice_client, pat, today):
    item = item_of(pat)
    until = today + dt.timedelta(days=21)
    response = post(alice_client, item, outcome="later", until=until, words="Busy with a move")
    assert response.status_code == 302
    ask = Ask.objects.get(contact=pat)
    assert (ask.kind, ask.outcome) == (AskKind.REACTIVATION, Outcome.LATER)
    assert f"call again on {until}" in ask.note and "Busy with a move" in ask.note
    assert not Permission.objects.filter(contact=pat).exists()
    decision = AgendaDecision.objects.get(contact=pat, action=Action.REACTIVATE)
    assert (decision.status, decision.until) == (AgendaDecision.Status.SNOOZED, until)
    assert not AgendaItem.objects.filter(contact=pat, action=Action.REACTIVATE).exists()
    # Hidden until the day, back on it.
    assert Action.REACTIVATE not in agenda(pat, until - dt.timedelta(days=1))
    assert Action.REACTIVATE in agenda(pat, until)


def test_not_interested_records_why_and_holds_the_contact_back(alice_client, pat, today):
    item = item_of(pat)
    response = post(alice_client, item, outcome="declined", words="Moved to another practice")
    assert response.status_code == 302
    ask = Ask.objects.get(contact=pat)
    assert ask.outcome == Outcome.DECLINED
    assert ask.note == "Not interested: \u201cMoved to another practice\u201d"
    assert AgendaDecision.objects.get(contact=pat).status == AgendaDecision.Status.DONE
    # The decline rule: a moment to ask comes, and the contact is held back.
    factories.activity(pat, today, signals=["praise"], text="Lovely card, thank you")
    found = agenda(pat, today)
    assert Action.ASK_REFERRAL not in found and Action.REACTIVATE not in found
    holds = engine.explain(pat, today).holds
    assert any(hold.startswith(f"declined on {today}") for hold in holds)


def test_a_problem_opens_an_issue_blocks_asks_and_the_recovery_appears(
    alice_client, alice, pat, today
):
    item = item_of(pat)
    words = "The new crown never felt right and nobody called back"
    response = post(alice_client, item, outcome="problem", words=words)
    assert response.status_code == 302
    issue = Issue.objects.get(contact=pat)
    assert (issue.summary, issue.status, issue.opened_on, issue.opened_by) == (
        words,
        Issue.Status.OPEN,
        today,
        alice,
    )
    ask = Ask.objects.get(contact=pat)
    assert (ask.kind, ask.outcome) == (AskKind.REACTIVATION, Outcome.PROBLEM)
    assert words in ask.note
    # Asks are blocked, and the agenda now shows the recovery, with the apology.
    assert any("open issue since" in b for b in engine.ask_blockers(pat, today))
    recover = item_of(pat, Action.RECOVER)
    assert recover.recovery == (issue.pk, "apologise")
    assert recover.script_key == "apology"
    assert not AgendaItem.objects.filter(contact=pat, action=Action.REACTIVATE).exists()
    factories.activity(pat, today, signals=["praise"])
    assert Action.ASK_REFERRAL not in agenda(pat, today)
    page = alice_client.get(reverse("agenda:today")).content.decode()
    assert "Recover: fix the problem first" in page and "nobody called back" in page


def test_htmx_swaps_the_card_with_a_confirmation(alice_client, pat, today):
    item = item_of(pat)
    response = alice_client.post(
        reverse("winback:reactivation", args=[item.pk]),
        {"outcome": "later", "until": today + dt.timedelta(days=7), "channel": "phone"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f'id="item-{item.pk}"' in page
    assert f"back on the agenda on {today + dt.timedelta(days=7)}" in page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"outcome": "later"}, "On which day should we call again?"),
        ({"outcome": "later", "until": "today"}, "Choose a day after today."),
        ({"outcome": "problem", "words": "   "}, "What did they say?"),
        ({"outcome": "yes", "booked_on": "yesterday"}, "The booking cannot be in the past."),
        ({"outcome": "gave_names"}, "Select a valid choice."),
        ({}, "This field is required."),
    ],
)
def test_an_incomplete_outcome_records_nothing(alice_client, pat, today, data, error):
    item = item_of(pat)
    days = {"today": today, "yesterday": today - dt.timedelta(days=1)}
    data = {key: days.get(value, value) for key, value in data.items()}
    response = post(alice_client, item, htmx=True, **data)
    assert response.status_code == 422
    page = response.content.decode()
    assert error in page and "<html" not in page
    assert response["HX-Retarget"] == f"#item-{item.pk} .item-actions"
    assert not Ask.objects.exists() and not Issue.objects.exists()
    assert not AgendaDecision.objects.exists()
    # Without htmx: the form's own page, saying what was missing.
    response = post(alice_client, item, **data)
    assert response.status_code == 422 and error in response.content.decode()
    assert not Ask.objects.exists()


def test_only_win_back_items_take_these_outcomes(alice_client, acme, today):
    ann = factories.client_with_history(acme, today)
    factories.activity(ann, today, signals=["praise"])
    store.refresh(acme, today)
    response = post(alice_client, item_of(ann, Action.ASK_REFERRAL), outcome="yes")
    assert response.status_code == 404
    assert not Ask.objects.exists()


def test_another_workspace_cannot_record_an_outcome(bob_client, pat):
    item = item_of(pat)
    response = post(bob_client, item, outcome="problem", words="x")
    assert response.status_code == 404
    assert not Ask.objects.exists() and not Issue.objects.exists()


def test_the_action_refuses_what_the_form_would(alice, pat, today):
    item = item_of(pat)
    with pytest.raises(ValueError):
        winback.record_reactivation(item, Outcome.GAVE_NAMES, by=alice, channel="phone")
    with pytest.raises(ValueError):
        winback.record_reactivation(item, Outcome.LATER, by=alice, channel="phone")
    with pytest.raises(ValueError):
        winback.record_reactivation(item, Outcome.PROBLEM, by=alice, channel="phone", words=" ")
    assert not Ask.objects.exists()
