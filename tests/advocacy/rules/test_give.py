"""Give to get (advocacy.rules.give): a client worth more than most whose
readiness is below the threshold, who was never given a referral and whose
touch plan is due, is offered a give instead of the plain touch: an
introduction that helps their business."""

import datetime as dt

import pytest
from django.utils import timezone

from rapport.advocacy.actions import record_referral_given
from rapport.agenda import engine
from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.clients.models import Contact
from tests import factories
from tests.agenda.helpers import agenda

pytestmark = pytest.mark.django_db


def client(workspace, today, value, name, **fields):
    person = factories.contact(workspace, first_name=name, **fields)
    factories.deal(person, "Supply contract", won_on=today - dt.timedelta(days=300), value=value)
    # Known for long, last touched long ago: the touch plan (every 120 days) is due.
    Contact.objects.filter(pk=person.pk).update(created_at=timezone.now() - dt.timedelta(days=400))
    return person


@pytest.fixture
def valued(acme, today):
    with factories.batch():
        for n, value in enumerate([800, 1200, 1500]):
            client(acme, today, value, f"Small{n}")
        return client(acme, today, 40000, "Big")


def test_a_valued_client_not_yet_earned_is_given_something_first(valued, acme, today):
    item = agenda(valued, today)[Action.EARN_FIRST]
    assert item.key == f"give:{(today - dt.date(1970, 1, 1)).days // 180}"
    assert item.why == [
        "one of your most valued clients",
        f"readiness {item.readiness} is below the threshold of 50",
        "give first: introduce them to someone who could help their business",
    ]
    assert item.script_key == "give"
    assert "Before asking Big for anything, give" in item.script
    assert Action.TOUCH not in agenda(valued, today)  # the give is the touch
    # Judged alone (its page) as in the whole workspace's morning build.
    whole, _, _ = engine.build(acme, today)
    assert [(i.action, i.key) for i in whole if i.contact_id == valued.pk] == [
        (item.action, item.key)
    ]


def test_a_client_worth_no_more_than_most_gets_the_plain_touch(valued, acme, today):
    small = Contact.objects.get(workspace=acme, first_name="Small0")
    found = agenda(small, today)
    assert Action.EARN_FIRST not in found and Action.TOUCH in found


@pytest.mark.parametrize(("days_ago", "offered"), [(30, False), (89, False), (120, True)])
def test_a_referral_given_lately_is_the_give_done(valued, today, days_ago, offered):
    record_referral_given(
        valued, "Introduced a new supplier", on=today - dt.timedelta(days=days_ago)
    )
    found = agenda(valued, today)
    assert (found.get(Action.EARN_FIRST) is not None) is offered


def test_a_client_rated_8_or_more_is_valued_whatever_they_spent(valued, acme, today):
    small = Contact.objects.get(workspace=acme, first_name="Small0")
    Contact.objects.filter(pk=small.pk).update(relationship=8)
    found = agenda(small, today)
    if found.get(Action.EARN_FIRST) is None:
        # Rated 8, their readiness may be over the threshold: then they are asked, not given.
        assert engine.explain(small, today).readiness >= acme.readiness_threshold
    else:
        assert found[Action.EARN_FIRST].key.startswith("give:")


def test_a_client_over_the_threshold_is_not_offered_a_give(valued, today):
    actions.set_relationship(valued, 10, today)
    assert Action.EARN_FIRST not in agenda(valued, today)


def test_the_give_waits_for_the_touch_plan(valued, today):
    factories.activity(valued, today - dt.timedelta(days=30), text="Lunch")
    assert Action.EARN_FIRST not in agenda(valued, today)


def test_a_busy_day_needs_no_give(valued, today):
    factories.referral(valued, today)
    found = agenda(valued, today)
    assert Action.THANK in found
    assert not any(i.key.startswith("give:") for i in found.values())


def test_no_give_while_a_recovery_is_under_way(valued, today):
    # Put right and confirmed a week ago: nothing left to do for the issue, but
    # the waiting period holds every ask and give; the plain touch remains.
    issue = actions.open_issue(valued, "Late deliveries", opened_on=today - dt.timedelta(days=20))
    actions.resolve_issue(issue, on=today - dt.timedelta(days=10))
    actions.confirm_issue(issue, on=today - dt.timedelta(days=7))
    found = agenda(valued, today)
    assert Action.RECOVER not in found and Action.EARN_FIRST not in found
    assert Action.TOUCH in found
