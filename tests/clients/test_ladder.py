"""Automatic promotions on the loyalty ladder."""

import datetime as dt

import pytest

from rapport.advocacy.actions import record_testimonial
from rapport.clients import actions
from rapport.clients.models import Deal, Stage, StageChange
from tests import factories

pytestmark = pytest.mark.django_db


def reasons(contact):
    return list(
        StageChange.objects.filter(contact=contact)
        .order_by("changed_at", "pk")
        .values_list("reason", "to_stage")
    )


def test_first_purchase_makes_a_customer_and_a_repeat_a_member(acme, today):
    ann = factories.contact(acme)
    factories.purchases(ann, [today - dt.timedelta(days=30)])
    assert ann.stage == Stage.CUSTOMER
    factories.purchases(ann, [today])
    assert ann.stage == Stage.MEMBER
    assert reasons(ann)[1:] == [("first_purchase", "customer"), ("repeat_purchase", "member")]


def test_a_second_won_deal_makes_a_member(acme, today):
    ann = factories.contact(acme)
    actions.save_deal(Deal(workspace=acme, contact=ann, title="Audit", stage="won"))
    ann.refresh_from_db()
    assert ann.stage == Stage.CUSTOMER
    actions.save_deal(Deal(workspace=acme, contact=ann, title="Tax plan", stage="lead"))
    ann.refresh_from_db()
    assert ann.stage == Stage.CUSTOMER  # a lead is not a sale
    actions.save_deal(
        Deal(workspace=acme, contact=ann, title="Payroll", stage="completed", completed_on=today)
    )
    ann.refresh_from_db()
    assert ann.stage == Stage.MEMBER


def test_a_testimonial_or_a_referral_makes_an_advocate_and_a_second_referral_a_raving_fan(
    acme, today
):
    ann = factories.client_with_history(acme, today)
    record_testimonial(ann, "Great", on=today)
    ann.refresh_from_db()
    assert ann.stage == Stage.ADVOCATE
    factories.referral(ann, today)
    ann.refresh_from_db()
    assert ann.stage == Stage.ADVOCATE
    factories.referral(ann, today, referred=factories.contact(acme, first_name="Second"))
    ann.refresh_from_db()
    assert ann.stage == Stage.RAVING_FAN
    assert reasons(ann)[-1] == ("second_referral", "raving_fan")


def test_an_unsolicited_referral_makes_a_raving_fan_at_once(acme, today):
    ann = factories.client_with_history(acme, today)
    factories.referral(ann, today, unsolicited=True)
    ann.refresh_from_db()
    assert ann.stage == Stage.RAVING_FAN
    assert reasons(ann)[-1] == ("unsolicited_referral", "raving_fan")


def test_promotions_never_lower_a_rung_set_by_hand(acme, alice, today):
    ann = factories.contact(acme)
    actions.change_stage(ann, Stage.ADVOCATE, by=alice)
    factories.purchases(ann, [today])
    assert ann.stage == Stage.ADVOCATE
    assert reasons(ann)[-1] == ("manual", "advocate")


def test_a_first_meeting_or_a_deal_makes_a_suspect_a_prospect(acme, today):
    met = factories.contact(acme, first_name="Met", stage=Stage.SUSPECT)
    factories.activity(met, today, kind="meeting", direction="out")
    met.refresh_from_db()
    assert met.stage == Stage.PROSPECT
    assert reasons(met)[-1] == ("first_meeting", "prospect")
    dealt = factories.contact(acme, first_name="Dealt", stage=Stage.SUSPECT)
    actions.save_deal(Deal(workspace=acme, contact=dealt, title="Quote", stage="lead"))
    dealt.refresh_from_db()
    assert dealt.stage == Stage.PROSPECT
    assert reasons(dealt)[-1] == ("deal_opened", "prospect")
    called = factories.contact(acme, first_name="Called", stage=Stage.SUSPECT)
    factories.activity(called, today, kind="call")
    called.refresh_from_db()
    assert called.stage == Stage.SUSPECT  # a call is not a meeting


def test_the_stage_on_a_past_day_is_the_stage_it_had_then(acme, today):
    from rapport.agenda.facts import Snapshot

    # A customer since a purchase ten days ago, raised to raving fan by hand today.
    ann = factories.contact(acme, first_name="Ann")
    factories.purchases(ann, [today - dt.timedelta(days=10)])
    actions.change_stage(ann, Stage.RAVING_FAN)
    stage_on = {
        day: Snapshot(acme, day, [ann.pk]).stages[0]
        for day in (today, today - dt.timedelta(days=5), today - dt.timedelta(days=20))
    }
    assert stage_on[today] == Stage.RAVING_FAN
    assert stage_on[today - dt.timedelta(days=5)] == Stage.CUSTOMER  # the purchase said so
    assert stage_on[today - dt.timedelta(days=20)] == Stage.PROSPECT  # before any purchase
