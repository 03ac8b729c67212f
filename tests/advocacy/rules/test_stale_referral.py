"""A referral left waiting (advocacy.rules.stale_referral): a referred person
still new a week or more after the referral, whom nobody has been in touch
with, is due a first call naming who referred them."""

import datetime as dt

import pytest

from rapport.advocacy.models import Referral
from rapport.agenda import engine
from rapport.agenda.models import Action
from tests import factories
from tests.agenda.helpers import agenda, items

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today)


def first_call(contact, on):
    touch = agenda(contact, on).get(Action.TOUCH)
    return touch if touch is not None and touch.key.endswith(":first_contact") else None


@pytest.mark.parametrize(("days", "due"), [(6, False), (7, True), (60, True), (61, False)])
def test_a_referred_person_nobody_called_is_due_a_first_call(ann, today, days, due):
    referral = factories.referral(ann, today - dt.timedelta(days=days))
    item = first_call(referral.referred, today)
    assert (item is not None) is due
    if due:
        assert item.key == f"referral:{referral.pk}:first_contact"
        assert item.why == [
            f"referred by Ann Jones on {today - dt.timedelta(days=days)}",
            f"nobody has been in touch for {days} days",
            "a referral goes cold fast: call them today",
        ]
        assert item.script_key == "first_contact"
        assert item.fields["referred_by"] == "Ann Jones"
        assert "Ann Jones suggested we speak" in item.script


@pytest.mark.parametrize("days_after", [0, 3])
def test_a_touch_since_the_referral_is_a_first_contact(ann, today, days_after):
    referral = factories.referral(ann, today - dt.timedelta(days=10))
    factories.activity(
        referral.referred, referral.date + dt.timedelta(days=days_after), kind="call", text="Intro"
    )
    assert first_call(referral.referred, today) is None


@pytest.mark.parametrize("status", [Referral.Status.CONTACTED, Referral.Status.WON])
def test_a_referral_moving_through_the_pipeline_needs_no_first_call(ann, today, status):
    referral = factories.referral(ann, today - dt.timedelta(days=10), status=status)
    assert first_call(referral.referred, today) is None


def follow_up(contact, on):
    return next(
        (i for i in items(contact, on) if i.key.startswith("referral:") and ":follow_up:" in i.key),
        None,
    )


def test_a_contacted_referral_nobody_touched_for_a_week_is_followed_up(ann, today):
    referral = factories.referral(ann, today - dt.timedelta(days=20))
    factories.activity(referral.referred, today - dt.timedelta(days=9), text="First call")
    Referral.objects.filter(pk=referral.pk).update(status=Referral.Status.CONTACTED)
    item = follow_up(referral.referred, today)
    assert item is not None and item.action == Action.TOUCH
    assert item.key == f"referral:{referral.pk}:follow_up:{today - dt.timedelta(days=9)}"
    assert item.why == [
        f"referred by Ann Jones on {today - dt.timedelta(days=20)} (contacted)",
        "nobody has been in touch for 9 days",
        "keep it moving: follow up today",
    ]
    # A touch this week: it is moving, nothing to chase.
    factories.activity(referral.referred, today - dt.timedelta(days=2), text="Meeting booked")
    assert follow_up(referral.referred, today) is None


def test_a_won_or_lost_referral_is_never_stale(ann, today):
    for status in (Referral.Status.WON, Referral.Status.LOST):
        referral = factories.referral(ann, today - dt.timedelta(days=20), status=status)
        assert not any(i.key.startswith("referral:") for i in items(referral.referred, today))


def test_stale_referrals_surface_on_the_whole_workspace_s_day(acme, ann, today):
    referral = factories.referral(ann, today - dt.timedelta(days=8))
    found, _, _ = engine.build(acme, today)
    assert (referral.referred_id, Action.TOUCH, f"referral:{referral.pk}:first_contact") in {
        (i.contact_id, i.action, i.key) for i in found
    }
