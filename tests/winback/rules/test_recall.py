"""The recall (winback.rules.recall): a routine visit is due — on the
practice's recall schedule, or by the client's own rhythm — before they drift."""

import datetime as dt

import pytest

from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.clients.models import Stage
from rapport.kinds import MomentKind
from tests import factories
from tests.agenda.helpers import agenda

pytestmark = pytest.mark.django_db


def regular(workspace, today, *, last: int, every: int = 60, visits: int = 5, **fields):
    """A client who came every `every` days, the last time `last` days ago."""
    person = factories.contact(workspace, first_name="Pat", **fields)
    days = [today - dt.timedelta(days=last + every * k) for k in range(visits)]
    return factories.purchases(person, sorted(days))


@pytest.mark.parametrize(("last", "due"), [(182, False), (183, True), (243, True)])
def test_on_a_recall_schedule_the_visit_is_due_from_the_interval(acme, today, last, due):
    acme.recall_interval_days = 183
    acme.save()
    pat = regular(acme, today, last=last, every=183, visits=3)
    found = agenda(pat, today)
    assert (Action.RECALL in found) is due
    assert Action.REACTIVATE not in found
    if due:
        item = found[Action.RECALL]
        last_day = today - dt.timedelta(days=last)
        assert item.key == f"recall:{last_day}"
        assert item.why[0].startswith(f"routine visit every 6 months; last seen {last_day} (")
        assert (item.script_key, item.moments) == ("recall", [MomentKind.RECALL_DUE])
        assert item.fields["usual_interval"] == "every 6 months"
        assert f"it's been since {item.fields['last_visit']}" in item.script


def test_a_client_s_own_recall_interval_overrides_the_practice_s(acme, today):
    acme.recall_interval_days = 183
    acme.save()
    pat = regular(acme, today, last=100, every=183, visits=3, recall_interval_days=90)
    assert agenda(pat, today)[Action.RECALL].why[0].startswith("routine visit every 3 months")


@pytest.mark.parametrize(("last", "due"), [(74, False), (75, True), (120, True)])
def test_without_a_schedule_a_regular_client_is_due_a_quarter_past_their_rhythm(
    acme, today, last, due
):
    pat = regular(acme, today, last=last)
    found = agenda(pat, today)
    assert (Action.RECALL in found) is due
    assert Action.REACTIVATE not in found  # not yet twice the gap
    if due:
        why = found[Action.RECALL].why
        assert why[0].startswith(
            f"comes every 2 months; last time {today - dt.timedelta(days=last)}"
        )
        assert why[1] == "due again"


def test_two_visits_are_not_a_rhythm_of_their_own(acme, today):
    pat = regular(acme, today, last=80, visits=2)
    assert Action.RECALL not in agenda(pat, today)


def test_a_recall_is_not_held_by_an_open_issue(acme, today):
    pat = regular(acme, today, last=80)
    actions.open_issue(pat, "Crown loose", opened_on=today)
    found = agenda(pat, today)
    assert Action.RECALL in found and Action.RECOVER in found


def test_prospects_are_not_recalled(acme, today):
    pat = regular(acme, today, last=80)
    actions.change_stage(pat, Stage.PROSPECT)
    assert Action.RECALL not in agenda(pat, today)
