"""The upfront contract (rules.upfront): a new client — customer or above,
first sale or deal won in the last 60 days — with no permission and no ask on
record is asked when they may be asked; after a moment, its script uses it."""

import datetime as dt

import pytest

from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.clients.models import Stage
from rapport.kinds import MomentKind
from rapport.outreach.models import AskKind
from tests import factories
from tests.agenda.helpers import agenda, holds

pytestmark = pytest.mark.django_db


def new_client(workspace, first_purchase: dt.date, relationship=5, **fields):
    person = factories.contact(
        workspace, first_name="Nia", relationship=relationship, relationship_on=first_purchase
    )
    return factories.purchases(person, [first_purchase], **fields)


def test_a_new_client_is_offered_the_upfront_contract(acme, today):
    nia = new_client(acme, today - dt.timedelta(days=5))
    assert nia.stage == Stage.CUSTOMER
    item = agenda(nia, today)[Action.UPFRONT_CONTRACT]
    assert (item.key, item.script_key, item.moments) == ("upfront", "upfront_contract", [])
    assert item.why == [
        f"new client since {today - dt.timedelta(days=5)}",
        "no permission to ask recorded yet",
        "agree now when you may ask for a referral or testimonial",
    ]
    assert "as we earn your trust" not in item.script  # the default words, filled in
    assert item.script.startswith("Nia, thank you for choosing Acme Dental.")


@pytest.mark.parametrize(("days", "offered"), [(60, True), (61, False)])
def test_new_means_a_first_sale_in_the_last_sixty_days(acme, today, days, offered):
    nia = new_client(acme, today - dt.timedelta(days=days))
    assert (Action.UPFRONT_CONTRACT in agenda(nia, today)) is offered


@pytest.mark.parametrize(("days", "offered"), [(60, True), (61, False)])
def test_a_deal_won_makes_a_new_client_too(acme, today, days, offered):
    with factories.batch():
        nia = factories.contact(acme, first_name="Nia", relationship=5, relationship_on=today)
        factories.deal(nia, "Audit", won_on=today - dt.timedelta(days=days), value=900)
    assert (Action.UPFRONT_CONTRACT in agenda(nia, today)) is offered


def test_a_permission_on_record_ends_the_upfront_contract(acme, today):
    nia = new_client(acme, today - dt.timedelta(days=5))
    actions.record_permission(
        nia, kind="both", ask_after=today + dt.timedelta(days=90), granted_on=today
    )
    assert Action.UPFRONT_CONTRACT not in agenda(nia, today)


@pytest.mark.parametrize(
    ("kind", "offered"),
    [
        (AskKind.PERMISSION, False),
        (AskKind.REFERRAL, False),
        (AskKind.TESTIMONIAL, False),
        (AskKind.FEEDBACK, True),  # a questionnaire asks for no favour
    ],
)
def test_an_ask_on_record_ends_the_upfront_contract(acme, today, kind, offered):
    nia = new_client(acme, today - dt.timedelta(days=10))
    factories.ask(nia, today - dt.timedelta(days=3), kind=kind)
    assert (Action.UPFRONT_CONTRACT in agenda(nia, today)) is offered


def test_after_a_moment_the_upfront_contract_uses_it(acme, today):
    # A brand-new client, not ready to be asked: the softer form, and it says
    # what just happened.
    with factories.batch():
        nia = new_client(acme, today - dt.timedelta(days=5))
        factories.activity(nia, today, signals=["praise"])
    found = agenda(nia, today)
    assert not {Action.ASK_REFERRAL, Action.ASK_TESTIMONIAL, Action.EARN_FIRST} & set(found)
    item = found[Action.UPFRONT_CONTRACT]
    assert (item.script_key, item.moments) == ("upfront_after_moment", [MomentKind.PRAISE])
    assert item.why[0] == f"praised us on {today}"
    assert "it meant a lot that you took the time to tell us how happy you are" in item.script


def test_the_upfront_contract_made_of_a_held_moment_is_not_held_by_itself(acme, today):
    # Regression: the upfront rule proposed the same contract again and the
    # contact page said "one ask a day: another ask comes first" about it.
    with factories.batch():
        nia = new_client(acme, today - dt.timedelta(days=5))
        factories.activity(nia, today, signals=["praise"])
    readiness = agenda(nia, today)[Action.UPFRONT_CONTRACT].readiness
    assert holds(nia, today) == [f"readiness {readiness} is below the threshold of 50"]


def test_a_new_client_ready_to_be_asked_is_asked_and_the_contract_waits(acme, today):
    with factories.batch():
        nia = new_client(acme, today - dt.timedelta(days=5), relationship=10)
        factories.activity(nia, today, signals=["praise"])
    found = agenda(nia, today)
    assert Action.ASK_REFERRAL in found
    assert Action.UPFRONT_CONTRACT not in found  # one ask a day
    assert "one ask a day: another ask comes first" in holds(nia, today)


def test_only_clients_are_offered_the_contract(acme, today):
    prospect = factories.contact(acme, stage=Stage.PROSPECT, relationship=7, relationship_on=today)
    # A customer by hand, with no sale or deal on record, has no "since".
    by_hand = factories.contact(acme, stage=Stage.CUSTOMER, relationship=7, relationship_on=today)
    assert Action.UPFRONT_CONTRACT not in agenda(prospect, today)
    assert Action.UPFRONT_CONTRACT not in agenda(by_hand, today)
