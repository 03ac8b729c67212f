"""The touch plan (rules.touch): a client whose rung's cadence has passed
since the last touch is due one — only when nothing else is due for them."""

import datetime as dt

import pytest
from django.utils import timezone

from rapport.agenda.models import Action
from rapport.clients.models import Contact, Stage
from tests import factories
from tests.agenda.helpers import agenda

pytestmark = pytest.mark.django_db


def created_days_ago(contact, days: int):
    Contact.objects.filter(pk=contact.pk).update(
        created_at=timezone.now() - dt.timedelta(days=days)
    )
    return contact


def test_a_client_never_touched_is_due_once_the_cadence_has_passed(acme, today):
    quiet = created_days_ago(factories.contact(acme, first_name="Quinn", stage=Stage.MEMBER), 200)
    item = agenda(quiet, today)[Action.TOUCH]
    assert item.key == "touch:never"
    assert item.why == ["no touch recorded; the plan for a member is every 90 days"]
    assert (item.script_key, item.fields) == ("touch", {"last_visit": "we last spoke"})


@pytest.mark.parametrize(("days", "due"), [(90, False), (91, True)])
def test_the_touch_is_due_the_day_after_the_cadence(acme, today, days, due):
    with factories.batch():
        quiet = created_days_ago(factories.contact(acme, stage=Stage.MEMBER), 400)
        last = today - dt.timedelta(days=days)
        factories.activity(quiet, last, kind="email", direction="out", text="Newsletter")
    found = agenda(quiet, today)
    assert (Action.TOUCH in found) is due
    if due:
        assert found[Action.TOUCH].key == f"touch:{last}"
        assert found[Action.TOUCH].why[0].startswith(f"last touch {last} (")
        assert found[Action.TOUCH].why[0].endswith("; the plan for a member is every 90 days")


@pytest.mark.parametrize("touch", ["purchase", "ask", "activity"])
def test_a_visit_an_ask_or_any_activity_is_a_touch(acme, today, touch):
    with factories.batch():
        quiet = created_days_ago(factories.contact(acme, stage=Stage.MEMBER), 400)
        recent = today - dt.timedelta(days=10)
        if touch == "purchase":
            factories.purchases(quiet, [recent])
        elif touch == "ask":
            factories.ask(quiet, recent)
        else:
            factories.activity(quiet, recent, text="Called about parking")
    assert Action.TOUCH not in agenda(quiet, today)


def test_each_rung_has_its_cadence_and_the_workspace_sets_them(acme, today):
    fan = created_days_ago(factories.contact(acme, first_name="Ada", stage=Stage.ADVOCATE), 61)
    assert "the plan for an advocate is every 60 days" in agenda(fan, today)[Action.TOUCH].why[0]
    acme.touch_cadence = {"advocate": 90}
    acme.save()
    assert Action.TOUCH not in agenda(fan, today)
    acme.touch_cadence = {"advocate": 0}  # off
    acme.save()
    assert Action.TOUCH not in agenda(fan, today + dt.timedelta(days=400))


def test_suspects_are_not_on_the_plan(acme, today):
    stranger = created_days_ago(factories.contact(acme, stage=Stage.SUSPECT), 400)
    assert Action.TOUCH not in agenda(stranger, today)


def test_the_touch_plan_fills_a_quiet_day_and_never_a_busy_one(acme, today):
    with factories.batch():
        busy = created_days_ago(factories.contact(acme, stage=Stage.MEMBER), 400)
        factories.referral(busy, today)
    found = agenda(busy, today)
    assert Action.THANK in found
    assert Action.TOUCH not in found
