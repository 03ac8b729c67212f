"""A complaint read in a note (rules.complaint): until an issue is opened for
it (or a user says it is not a complaint), it proposes opening one and
apologising. What it blocks meanwhile is tests/agenda/gates/test_complaint.py."""

import datetime as dt

import pytest

from rapport.agenda import actions as agenda_actions
from rapport.agenda import store
from rapport.agenda.models import Action, AgendaItem
from rapport.clients import actions
from rapport.kinds import MomentKind
from tests import factories
from tests.agenda.helpers import agenda, items

pytestmark = pytest.mark.django_db

WORDS = "The invoice was wrong again and nobody called back."


def complained(workspace, today, on=None, words=WORDS):
    with factories.batch():
        ann = factories.client_with_history(workspace, today)
        note = factories.read_note(ann, on or today, words, {"complaint": words})
    return ann, note


def test_a_complaint_proposes_opening_an_issue_and_apologising(acme, today):
    ann, note = complained(acme, today)
    item = agenda(ann, today)[Action.RECOVER]
    assert item.key == f"complaint:activity:{note.pk}"
    assert item.why == [
        f"complained on {today}: \u201c{WORDS}\u201d",
        "open an issue and apologise; no ask meanwhile",
    ]
    assert (item.script_key, item.moments) == ("apology", [MomentKind.COMPLAINT])
    # The issue's summary, ready for the one-click "open an issue".
    assert item.fields == {"issue": "The invoice was wrong again and nobody called back"}
    assert "I'm sorry. You told us: \u201cThe invoice was wrong again" in item.script


def test_the_reader_s_own_words_for_an_angry_note_are_a_complaint(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        note = factories.activity(
            ann,
            today,
            text="Really disappointed: the invoice was wrong again and nobody called back.",
        )
    assert agenda(ann, today)[Action.RECOVER].key == f"complaint:activity:{note.pk}"


def test_an_issue_opened_since_handles_the_complaint(acme, today):
    ann, note = complained(acme, today - dt.timedelta(days=2))
    issue = actions.open_issue(ann, "Invoice wrong", opened_on=today, source_activity=note)
    assert [i.key for i in items(ann, today) if i.action == Action.RECOVER] == [
        f"issue:{issue.pk}:apologise"
    ]


def test_an_issue_opened_before_the_complaint_does_not_handle_it(acme, today):
    ann, note = complained(acme, today)
    old = actions.open_issue(ann, "Crown loose", opened_on=today - dt.timedelta(days=3))
    keys = {i.key for i in items(ann, today) if i.action == Action.RECOVER}
    assert keys == {f"complaint:activity:{note.pk}", f"issue:{old.pk}:apologise"}


@pytest.mark.parametrize(("days", "proposed"), [(30, True), (31, False)])
def test_a_complaint_is_read_for_its_window(acme, today, days, proposed):
    ann, _ = complained(acme, today - dt.timedelta(days=days))
    assert (Action.RECOVER in agenda(ann, today)) is proposed


def test_not_a_complaint_dismisses_it(acme, today, alice):
    ann, _ = complained(acme, today)
    store.refresh(acme, today)
    agenda_actions.mark_done(AgendaItem.objects.get(contact=ann, action=Action.RECOVER), by=alice)
    assert Action.RECOVER not in agenda(ann, today)


def test_a_snoozed_complaint_comes_back_on_its_day(acme, today, alice):
    ann, _ = complained(acme, today)
    store.refresh(acme, today)
    item = AgendaItem.objects.get(contact=ann, action=Action.RECOVER)
    agenda_actions.snooze(item, today + dt.timedelta(days=7), by=alice)
    assert Action.RECOVER not in agenda(ann, today + dt.timedelta(days=6))
    assert agenda(ann, today + dt.timedelta(days=7))[Action.RECOVER].key == item.key


def test_the_praise_in_the_same_breath_is_named_on_the_recovery_item(acme, today):
    words = "Your team was brilliant with the move, but the invoice is still wrong."
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.read_note(ann, today, words, {"praise": words, "complaint": words})
    found = agenda(ann, today)
    assert set(found) == {Action.RECOVER}
    assert (
        found[Action.RECOVER].why[-1]
        == f"no ask meanwhile: praised us on {today}: \u201c{words}\u201d"
    )
