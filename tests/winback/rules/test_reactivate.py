"""The win-back call (winback.rules.reactivate): a client who drifted — twice
their usual gap without a visit, a recall overdue by a third, or the lapse
model's chance they are still a client below 50% — is called with the
facilitative questions, unless a problem of theirs is open."""

import datetime as dt

import pytest

from rapport.agenda import engine
from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.kinds import MomentKind
from tests import factories
from tests.agenda.helpers import agenda, holds

pytestmark = pytest.mark.django_db


def regular(workspace, today, *, last: int, every: int = 60, visits: int = 5, name="Pat"):
    person = factories.contact(workspace, first_name=name, relationship=8, relationship_on=today)
    days = [today - dt.timedelta(days=last + every * k) for k in range(visits)]
    return factories.purchases(person, sorted(days))


@pytest.mark.parametrize(("last", "action"), [(243, Action.RECALL), (244, Action.REACTIVATE)])
def test_a_recall_overdue_by_a_third_is_a_win_back(acme, today, last, action):
    # "8 months for a 6-month recall".
    acme.recall_interval_days = 183
    acme.save()
    pat = regular(acme, today, last=last, every=183, visits=3)
    found = agenda(pat, today)
    other = Action.RECALL if action == Action.REACTIVATE else Action.REACTIVATE
    assert action in found and other not in found
    if action == Action.REACTIVATE:
        item = found[action]
        assert (
            item.why[-1]
            == "lapsed: more than 8 months without a visit, for a recall every 6 months"
        )
        assert item.key == f"reactivate:{today - dt.timedelta(days=last)}"


@pytest.mark.parametrize(("last", "action"), [(120, Action.RECALL), (121, Action.REACTIVATE)])
def test_more_than_twice_their_usual_gap_is_a_win_back(acme, today, last, action):
    pat = regular(acme, today, last=last)
    found = agenda(pat, today)
    assert action in found
    if action == Action.REACTIVATE:
        item = found[action]
        last_day = today - dt.timedelta(days=last)
        assert item.why == [
            f"used to come every 2 months; nothing for 4 months (since {last_day})",
            "more than twice their usual gap",
        ]
        assert (item.script_key, item.moments) == ("reactivation", [MomentKind.LAPSED])
        assert item.fields == {
            "last_visit": item.fields["last_visit"],
            "usual_interval": "every 2 months",
        }
        assert "What has stopped you from coming back recently?" in item.script
        assert "you used to come every 2 months" in item.script


def test_a_weekly_rhythm_is_said_in_weeks(acme, today):
    shop = regular(acme, today, last=112, every=35, visits=8)
    item = agenda(shop, today)[Action.REACTIVATE]
    assert item.why[0].startswith("used to come every 5 weeks; nothing for 16 weeks")


def test_a_client_with_one_visit_is_judged_by_the_workspace_s_usual_rhythm(acme, today):
    # Regression: judged on the contact's page (or right after a fact of
    # theirs changed) the workspace's usual rhythm was unknown, so the win-back
    # call disappeared until the next morning's full rebuild.
    with factories.batch():
        for n in range(3):
            regular(acme, today, last=10, name=f"R{n}")
        once = factories.contact(acme, first_name="Once")
        factories.purchases(once, [today - dt.timedelta(days=121)])
    whole, _, _ = engine.build(acme, today)
    assert Action.REACTIVATE in {i.action for i in whole if i.contact_id == once.pk}
    item = agenda(once, today)[Action.REACTIVATE]
    assert item.why[0].startswith("clients usually come every 2 months; nothing for 4 months")


def test_the_lapse_model_can_say_they_have_gone_before_the_gap_does(acme, today):
    # A stored model (the morning job fits it) whose clients drop out readily.
    acme.lapse_model = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}
    acme.save()
    pat = regular(acme, today, last=110)
    item = agenda(pat, today)[Action.REACTIVATE]
    assert any(
        reason.startswith("the lapse model gives a ")
        and reason.endswith(" chance they are still a client")
        for reason in item.why
    )
    assert "more than twice their usual gap" not in item.why


def test_an_open_issue_comes_first(acme, today):
    pat = regular(acme, today, last=200)
    actions.open_issue(pat, "The crown never felt right", opened_on=today)
    found = agenda(pat, today)
    assert Action.REACTIVATE not in found
    assert Action.RECOVER in found
    assert f"open issue since {today}: The crown never felt right" in holds(pat, today)


def test_a_win_back_call_done_is_not_proposed_again_until_they_come_back(acme, today, alice):
    from rapport.agenda import store
    from rapport.agenda.models import AgendaItem
    from rapport.outreach.models import Outcome
    from rapport.winback import actions as winback

    pat = regular(acme, today, last=200)
    store.refresh(acme, today)
    item = AgendaItem.objects.get(contact=pat, action=Action.REACTIVATE)
    winback.record_reactivation(item, Outcome.YES, by=alice, channel="phone")
    assert Action.REACTIVATE not in agenda(pat, today + dt.timedelta(days=30))
    # They came back, then drifted again: a new call.
    factories.purchases(pat, [today + dt.timedelta(days=5)])
    assert Action.REACTIVATE in agenda(pat, today + dt.timedelta(days=200))
