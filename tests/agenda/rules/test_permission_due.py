"""A permission comes due (rules.permission_due): the client agreed to be
asked after a date; the follow-up is due exactly on that date, in the
workspace's time zone, until an ask it covers is made."""

import datetime as dt

import pytest

from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.kinds import MomentKind
from rapport.outreach.models import AskKind
from tests import factories
from tests.agenda.helpers import agenda, holds

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today)


def permit(contact, ask_after, kind="both", granted_on=None):
    granted_on = granted_on or ask_after - dt.timedelta(days=90)
    return actions.record_permission(contact, kind=kind, ask_after=ask_after, granted_on=granted_on)


def test_the_follow_up_is_due_exactly_on_the_agreed_day(ann, today):
    due_on = today + dt.timedelta(days=10)
    permission = permit(ann, due_on, granted_on=today)
    assert Action.FOLLOW_UP_PERMISSION not in agenda(ann, due_on - dt.timedelta(days=1))
    item = agenda(ann, due_on)[Action.FOLLOW_UP_PERMISSION]
    assert item.key == f"permission:{permission.pk}"
    assert item.why == [f"agreed on {today} to be asked after {due_on}", "the date has come"]
    assert (item.script_key, item.moments) == ("follow_up_permission", [MomentKind.PERMISSION_DUE])
    # Not asked on the day, it stays due.
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, due_on + dt.timedelta(days=20))


def test_the_date_is_the_workspace_s_own_day(acme):
    # Acme is in Europe/London; 2026-06-30 23:30 UTC is already 1 July there
    # (BST), while it is still 30 June in New York.
    now = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC)
    london_day = acme.today(now)
    assert london_day == dt.date(2026, 7, 1)
    ann = factories.client_with_history(acme, london_day)
    permit(ann, dt.date(2026, 7, 1), kind="referral", granted_on=dt.date(2026, 4, 1))
    assert Action.FOLLOW_UP_PERMISSION not in agenda(ann, dt.date(2026, 6, 30))
    due = agenda(ann, london_day)[Action.FOLLOW_UP_PERMISSION]
    assert "after 1 July." in due.script  # said as a person would say it
    new_york = factories.workspace(factories.user("z@example.com"), "NY", "America/New_York")
    assert new_york.today(now) == dt.date(2026, 6, 30)


@pytest.mark.parametrize(
    ("kind", "asked", "still_due"),
    [
        ("both", AskKind.REFERRAL, False),
        ("both", AskKind.TESTIMONIAL, False),
        ("referral", AskKind.REFERRAL, False),
        ("referral", AskKind.TESTIMONIAL, True),
        ("testimonial", AskKind.REFERRAL, True),
        # Not the asks a permission is for: they do not use it up.
        ("both", AskKind.FEEDBACK, True),
        ("both", AskKind.REACTIVATION, True),
        ("both", AskKind.RECOVERY, True),
        ("both", AskKind.PERMISSION, True),
    ],
)
def test_an_ask_it_covers_made_since_the_date_uses_the_permission(
    ann, today, kind, asked, still_due
):
    # Regression: a questionnaire (or a win-back call) made after the date
    # silently used up a "both" permission; its follow-up never came.
    permit(ann, today - dt.timedelta(days=5), kind=kind)
    factories.ask(ann, today - dt.timedelta(days=2), kind=asked)
    assert (Action.FOLLOW_UP_PERMISSION in agenda(ann, today)) is still_due


def test_an_ask_made_before_the_date_does_not_use_it(ann, today):
    permit(ann, today - dt.timedelta(days=5))
    factories.ask(ann, today - dt.timedelta(days=6))
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, today)


def test_a_closed_permission_comes_due_no_more(ann, today):
    permission = permit(ann, today - dt.timedelta(days=1))
    actions.close_permission(ann, permission.pk, on=today)
    assert Action.FOLLOW_UP_PERMISSION not in agenda(ann, today)


def test_a_later_permission_of_the_same_kind_replaces_the_earlier(ann, today):
    permit(ann, today - dt.timedelta(days=1), granted_on=today - dt.timedelta(days=100))
    # Asked on the day, they said "give me 90 days of results first".
    permit(ann, today + dt.timedelta(days=90), granted_on=today)
    assert Action.FOLLOW_UP_PERMISSION not in agenda(ann, today)
    assert "they asked to be asked after" not in " ".join(holds(ann, today))
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, today + dt.timedelta(days=90))


def test_a_testimonial_permission_follows_up_for_a_testimonial(ann, today):
    # A referral asked for a week ago cools referrals down; a testimonial
    # permission's follow-up is not a referral ask, and is not held by it.
    factories.ask(ann, today - dt.timedelta(days=7), kind=AskKind.REFERRAL)
    permit(ann, today, kind="testimonial")
    assert Action.FOLLOW_UP_PERMISSION in agenda(ann, today)
