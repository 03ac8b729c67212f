"""A passive answer (rules.passive): a 7 or 8 on the questionnaire is
satisfied, not yet enthusiastic — a personal touch, not an ask."""

import datetime as dt

import pytest

from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.kinds import MomentKind
from tests import factories
from tests.agenda.helpers import ASKS, agenda

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today)


@pytest.mark.parametrize("nps", [7, 8])
def test_a_seven_or_eight_proposes_a_personal_touch(ann, today, nps):
    answer = factories.answer(ann, today - dt.timedelta(days=2), nps)
    found = agenda(ann, today)
    item = found[Action.TOUCH]
    assert item.key == f"passive:answer:{answer.pk}"
    assert item.why == [
        f"rated us {nps}/10 on {today - dt.timedelta(days=2)}",
        "a personal touch could turn them into a promoter",
    ]
    assert (item.script_key, item.moments) == ("touch", [MomentKind.PASSIVE])
    assert set(item.fields) == {"last_visit"} and item.fields["last_visit"] in item.script
    assert not ASKS & set(found)


@pytest.mark.parametrize("nps", [6, 9])
def test_a_detractor_or_a_promoter_is_not_passive(ann, today, nps):
    factories.answer(ann, today, nps)
    touch = agenda(ann, today).get(Action.TOUCH)
    assert touch is None or not touch.key.startswith("passive:")


@pytest.mark.parametrize(("days", "proposed"), [(14, True), (15, False)])
def test_the_touch_is_due_within_the_answer_s_window(ann, today, days, proposed):
    factories.answer(ann, today - dt.timedelta(days=days), 7)
    touch = agenda(ann, today).get(Action.TOUCH)
    assert (touch is not None and touch.key.startswith("passive:")) is proposed


def test_a_personal_touch_is_not_held_by_an_open_issue(ann, today):
    with factories.batch():
        factories.answer(ann, today, 8)
        actions.open_issue(ann, "Parking", opened_on=today)
    assert agenda(ann, today)[Action.TOUCH].key.startswith("passive:")
