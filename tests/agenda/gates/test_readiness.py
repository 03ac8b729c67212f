"""The readiness gate (EARN): below the workspace's threshold (50 by
default) an ask becomes "earn it first" — for a brand-new client, the upfront
contract using the moment. Not applied to the upfront contract itself, nor to
a follow-up the client agreed to."""

import datetime as dt

import pytest

from rapport.agenda import engine
from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.kinds import MomentKind
from tests import factories
from tests.agenda.helpers import ASKS, agenda, current

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today, relationship=6)
        factories.activity(ann, today, signals=["praise"])
    return ann


@pytest.mark.parametrize(("above", "asked"), [(0, True), (1, False)])
def test_the_threshold_is_met_at_the_threshold_and_not_a_point_below(
    acme, ann, today, above, asked
):
    readiness = engine.explain(current(ann), today).readiness
    acme.readiness_threshold = readiness + above
    acme.save()
    found = agenda(ann, today)
    assert (Action.ASK_REFERRAL in found) is asked
    if not asked:
        earn = found[Action.EARN_FIRST]
        assert earn.why == [
            f"praised us on {today}",
            f"readiness {readiness} is below the threshold of {readiness + 1}",
            "earn it first: a touch, a thank-you, a referral given to them",
        ]
        assert earn.moments == [MomentKind.PRAISE]


def test_a_client_nobody_rated_earns_the_right_first_whatever_the_moment(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today, relationship=None)
        for kind in ["praise", "saved_us", "testimonial"]:
            factories.activity(ann, today, signals=[kind])
    view = engine.explain(ann, today)
    assert view.readiness < 50
    assert "relationship not rated yet — how strong is it, 1 to 10? (+0)" in view.reasons
    found = {item.action for item in view.items}
    assert Action.EARN_FIRST in found and not ASKS & found


def test_a_follow_up_the_client_agreed_to_is_not_held_by_readiness(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today, relationship=2)
        actions.record_permission(
            ann, kind="both", ask_after=today, granted_on=today - dt.timedelta(days=90)
        )
    assert engine.explain(ann, today).readiness < 50
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, today)


def test_the_upfront_contract_is_not_held_by_readiness(acme, today):
    nia = factories.contact(acme, first_name="Nia")  # not rated: readiness far below
    factories.purchases(nia, [today - dt.timedelta(days=5)])
    assert Action.UPFRONT_CONTRACT in agenda(nia, today)


def test_a_contact_judged_alone_has_the_readiness_of_the_morning(acme, today):
    # Regression: "worth more than the workspace's usual" was judged among the
    # contacts being scored, so the contact's page and the refresh after a
    # change gave a large project's client 4 points less than the morning.
    with factories.batch():
        for n, value in enumerate([1000, 2000, 3000]):
            other = factories.contact(acme, first_name=f"O{n}")
            factories.deal(other, "Audit", won_on=today - dt.timedelta(days=300), value=value)
        big = factories.contact(acme, first_name="Big", relationship=7, relationship_on=today)
        factories.deal(big, "Rebuild", won_on=today - dt.timedelta(days=60), value=20000)
    _, whole, _ = engine.build(acme, today)
    view = engine.explain(current(big), today)
    assert view.readiness == whole.readiness[whole.index[big.pk]]
    assert "delivered: 1 deal won (+8)" in view.reasons  # the deal, and its size


def test_a_brand_new_client_held_by_readiness_gets_the_upfront_contract_using_the_moment(
    acme, today
):
    with factories.batch():
        nia = factories.contact(acme, first_name="Nia", relationship=6, relationship_on=today)
        factories.purchases(nia, [today - dt.timedelta(days=10)])
        factories.activity(nia, today, signals=["saved_us"])
    found = agenda(nia, today)
    assert Action.EARN_FIRST not in found and Action.ASK_REFERRAL not in found
    contract = found[Action.UPFRONT_CONTRACT]
    assert contract.moments == [MomentKind.SAVED_US]
    assert "it meant a lot that you felt we made a real difference" in contract.script
