"""Regressions found by the judgment tests, one each: asks rank below every
recovery step; a closed permission still lifts a decline; a follow-up keeps
the kind of ask the client agreed to; a problem's words are cut at a word;
a brand-new client at the point of sale is offered the upfront contract,
not a cold ask."""

import datetime as dt

import pytest

from rapport.agenda import engine, store, wording
from rapport.agenda.actions import ask_kind_for
from rapport.agenda.models import Action, AgendaItem
from rapport.clients import actions
from rapport.outreach.models import AskKind, Outcome
from tests import factories
from tests.agenda.helpers import agenda

pytestmark = pytest.mark.django_db


def test_no_ask_ranks_level_with_a_recovery_step(acme, today):
    # The readiest, freshest ask there is: a real referral today from a 10/10 client.
    with factories.batch():
        ann = factories.client_with_history(acme, today, relationship=10)
        factories.referral(ann, today)
        factories.activity(ann, today, signals=["praise", "saved_us"], text="You saved us")
        bob = factories.client_with_history(acme, today, first_name="Bob")
        actions.open_issue(bob, "Invoice charged twice", opened_on=today)
    found, _, _ = engine.build(acme, today)
    asks = [i for i in found if i.action in engine.ASKS]
    recover = [i for i in found if i.action == Action.RECOVER]
    assert asks and recover
    assert (
        max(i.priority for i in asks) <= engine.ASK_PRIORITY_CAP < min(i.priority for i in recover)
    )


def test_a_permission_granted_after_a_decline_lifts_it_even_once_closed(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.ask(
            ann, today - dt.timedelta(days=100), kind=AskKind.REFERRAL, outcome=Outcome.DECLINED
        )
        permission = actions.record_permission(
            ann,
            kind="both",
            ask_after=today - dt.timedelta(days=30),
            granted_on=today - dt.timedelta(days=60),
        )
        actions.close_permission(ann, permission.pk, on=today - dt.timedelta(days=20))
        factories.activity(ann, today, signals=["praise"], text="Lovely")
    found = agenda(ann, today)
    assert Action.ASK_REFERRAL in found


@pytest.mark.parametrize(
    ("kind", "ask_kind"),
    [("testimonial", AskKind.TESTIMONIAL), ("referral", AskKind.REFERRAL), ("both", "referral")],
)
def test_a_follow_up_on_a_permission_keeps_its_ask_kind(acme, today, kind, ask_kind):
    ann = factories.client_with_history(acme, today)
    actions.record_permission(
        ann, kind=kind, ask_after=today, granted_on=today - dt.timedelta(days=90)
    )
    item = agenda(ann, today)[Action.FOLLOW_UP_PERMISSION]
    assert item.fields["ask_kind"] == ask_kind
    store.refresh(acme, today)
    stored = AgendaItem.objects.get(contact=ann, action=Action.FOLLOW_UP_PERMISSION)
    assert stored.ask_kind == ask_kind and ask_kind_for(stored) == ask_kind


def test_a_problem_s_words_are_cut_at_a_word(acme, today):
    summary = (
        "The implementation was never finished although we asked three times, so we paid an "
        "outside consultant eight thousand dollars to complete the integration work ourselves"
    )
    ann = factories.client_with_history(acme, today)
    actions.open_issue(ann, summary, opened_on=today)
    issue = agenda(ann, today)[Action.RECOVER].fields["issue"]
    assert len(issue) <= 120 and issue.endswith("\u2026")
    assert summary.startswith(issue.removesuffix("\u2026"))
    assert summary[len(issue) - 1] == " "  # the cut falls between words
    assert f"\u201c{issue}\u201d" in agenda(ann, today)[Action.RECOVER].script


@pytest.mark.parametrize(
    ("text", "limit", "clipped"),
    [
        ("Short and sweet.", 40, "Short and sweet"),
        ("one two three four", 12, "one two\u2026"),
        ("onetwothreefour", 8, "onetwot\u2026"),
        ("  spaced   out  words ", 40, "spaced out words"),
        ("Waited an hour, then left.", 16, "Waited an hour\u2026"),
    ],
)
def test_clip_cuts_at_a_word_boundary(text, limit, clipped):
    assert wording.clip(text, limit) == clipped
    assert len(wording.clip(text, limit)) <= limit


@pytest.mark.parametrize("sale", ["purchase", "deal"])
def test_a_brand_new_client_rated_highly_at_the_point_of_sale_gets_the_upfront_contract(
    acme, today, sale
):
    # Rated 10/10 the day they said yes: readiness is over the threshold, but
    # a first sale is a moment for the softer form, never a cold ask.
    with factories.batch():
        nia = factories.contact(acme, first_name="Nia", relationship=10, relationship_on=today)
        if sale == "purchase":
            factories.purchases(nia, [today], amount=400)
        else:
            factories.deal(nia, "Retainer", won_on=today, value=5000)
    found = agenda(nia, today)
    assert Action.ASK_REFERRAL not in found and Action.ASK_TESTIMONIAL not in found
    contract = found[Action.UPFRONT_CONTRACT]
    assert contract.moments == ["point_of_sale"]
    assert "it meant a lot that you decided to go ahead" in contract.script
