"""The permission-date gate (WAIT): the client asked to be asked after a date
that has not come — the asks it covers wait until that day, in the workspace's
time zone; no "earn it first" is made of a moment meanwhile, it is thanked for."""

import datetime as dt

import pytest

from rapport.agenda.models import Action
from rapport.clients import actions
from tests import factories
from tests.agenda.helpers import ASKS, agenda, holds

pytestmark = pytest.mark.django_db


def praised(workspace, today, on=None):
    with factories.batch():
        ann = factories.client_with_history(workspace, today)
        factories.activity(ann, on or today, signals=["praise"], text="Lovely")
    return ann


@pytest.mark.parametrize(("days", "held"), [(1, True), (0, False)])
def test_asks_wait_until_the_agreed_day(acme, today, days, held):
    ann = praised(acme, today)
    actions.record_permission(
        ann,
        kind="both",
        ask_after=today + dt.timedelta(days=days),
        granted_on=today - dt.timedelta(days=30),
    )
    found = agenda(ann, today)
    if held:
        assert not ASKS & set(found)
        assert f"they asked to be asked after {today + dt.timedelta(days=days)}" in holds(
            ann, today
        )
    else:
        # The day has come: the follow-up they agreed to, not another ask.
        assert ASKS & set(found) == {Action.FOLLOW_UP_PERMISSION}


def test_a_moment_meanwhile_is_thanked_for_not_earned(acme, today):
    # Regression: a new client who said "ask me in 90 days" got "earn it first".
    with factories.batch():
        nia = factories.contact(acme, first_name="Nia", relationship=2)
        factories.purchases(nia, [today])
        actions.record_permission(
            nia, kind="both", ask_after=today + dt.timedelta(days=90), granted_on=today
        )
        factories.activity(nia, today, signals=["praise"])
    found = agenda(nia, today)
    assert not {Action.EARN_FIRST, *ASKS} & set(found)
    thanks = found[Action.TOUCH]
    assert thanks.script_key == "acknowledge"
    assert thanks.why == [
        f"praised us on {today}",
        f"no ask now: they asked to be asked after {today + dt.timedelta(days=90)}",
        "thank them for it; nothing more",
    ]
    assert "it means a great deal that you took the time to tell us" in thanks.script


def test_a_permission_for_referrals_leaves_a_testimonial_ask_free(acme, today):
    ann = praised(acme, today)
    actions.record_permission(
        ann, kind="referral", ask_after=today + dt.timedelta(days=30), granted_on=today
    )
    found = agenda(ann, today)
    assert Action.ASK_REFERRAL not in found
    assert Action.ASK_TESTIMONIAL in found


def test_the_day_is_the_workspace_s_own(acme):
    # 2026-06-30 23:30 UTC is 1 July in London: the ask they put off until
    # 1 July may be made then — and not at 23:30 on 30 June in London.
    now = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC)
    london = acme.today(now)
    ann = praised(acme, london, on=dt.date(2026, 6, 29))
    actions.record_permission(
        ann, kind="both", ask_after=dt.date(2026, 7, 1), granted_on=dt.date(2026, 4, 1)
    )
    an_hour_before = acme.today(now - dt.timedelta(hours=1))
    assert an_hour_before == dt.date(2026, 6, 30)
    assert not ASKS & set(agenda(ann, an_hour_before))
    assert "they asked to be asked after 2026-07-01" in holds(ann, an_hour_before)
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, london)
