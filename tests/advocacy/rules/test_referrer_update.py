"""Telling the referrer (advocacy.rules.referrer_update): a referred friend
became a client and their referrer was not told yet — or the call chosen to
tell them is not made — is a touch on the referrer's day."""

import datetime as dt

import pytest

from rapport.advocacy.actions import call_made, move_referral, tell_referrer
from rapport.advocacy.models import Referral, ReferrerUpdate
from rapport.agenda.models import Action
from tests import factories
from tests.agenda.helpers import items

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)


@pytest.fixture
def won(ann, today):
    referral = factories.referral(ann, today - dt.timedelta(days=20))
    move_referral(referral, Referral.Status.WON, on=today - dt.timedelta(days=1))
    referral.refresh_from_db()
    return referral


def tell_item(contact, on):
    return next((i for i in items(contact, on) if i.key.endswith(":tell_referrer")), None)


def test_a_friend_won_is_news_for_the_referrer(ann, won, today):
    item = tell_item(ann, today)
    assert item is not None and item.action == Action.TOUCH
    assert item.key == f"referral:{won.pk}:tell_referrer"
    assert item.why == [
        f"Rita Referred, whom they referred, became a client on {won.closed_on}",
        "they have not been told yet: tell them their friend is in good hands",
    ]
    assert item.script_key == "tell_referrer"
    assert "Rita Referred is now working with us" in item.script


def test_told_by_email_the_item_goes(ann, won, today):
    tell_referrer(won, channel=ReferrerUpdate.Channel.EMAIL)
    assert tell_item(ann, today) is None


def test_a_call_chosen_stays_until_it_is_made(ann, won, today):
    update = tell_referrer(won, channel=ReferrerUpdate.Channel.CALL)
    item = tell_item(ann, today)
    assert item is not None and item.why[-1] == "the call to tell them is still to make"
    call_made(update, on=today)
    assert tell_item(ann, today) is None


def test_an_open_referral_is_no_news_yet(ann, today):
    factories.referral(ann, today - dt.timedelta(days=2))
    assert tell_item(ann, today) is None
