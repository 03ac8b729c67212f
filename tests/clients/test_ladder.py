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
