"""Ask the human when unsure (issue 9 item 6) and permissions read from words
(item 7): the reading stored on the note; a reading below confidence is a
question on the contact page and Today, answered in one click (a yes is a
marked signal), both answers labels; the morning refits the workspace's own
reading from them; "ask me again in three months" proposes a permission."""

import ast
import datetime as dt
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta
from django.urls import reverse

from rapport.agenda import questions
from rapport.agenda.models import (
    Action,
    PermissionProposal,
    ReadingQuestion,
    WorkspaceReadingModel,
)
from rapport.agenda.moments import Origin, moments_on
from rapport.agenda.reading import Finding, Reading
from rapport.agenda.signals import morning
from rapport.clients import actions
from rapport.clients.models import Permission
from tests import factories
from tests.agenda.helpers import agenda

pytestmark = pytest.mark.django_db

UNSURE = "It went alright in the end, I suppose"


@pytest.fixture(autouse=True)
def no_cached_layers():
    """Workspace ids repeat across tests: no layer cached by one reaches another."""
    questions._layers.clear()
    yield
    questions._layers.clear()


@pytest.fixture
def unsure(monkeypatch):
    """The reader is unsure the note is praise (what a borderline sentence gets)."""
    real = questions.read

    def read(text, workspace_model=None, **kwargs):
        if UNSURE in text:
            return Reading((Finding("praise", UNSURE, 0.55, False, "model"),))
        return real(text, workspace_model, **kwargs)

    monkeypatch.setattr(questions, "read", read)


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today)


def note(contact, on, text):
    return factories.activity(contact, on, text=text)


def test_the_record_reads_notes_through_a_hook_not_by_importing_the_agenda():
    source = Path(actions.__file__).read_text(encoding="utf-8")
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not {m for m in imported if m.startswith("rapport.agenda")}


def test_the_whole_reading_is_stored_on_the_note(ann, today):
    activity = note(ann, today, "You saved us last week, thank you so much.")
    assert activity.reading["findings"]
    sure = {f["kind"]: f["evidence"] for f in activity.reading["findings"] if f["confident"]}
    assert activity.detected == sure
    for finding in activity.reading["findings"]:
        assert 0 <= finding["confidence"] <= 1 and finding["evidence"] in activity.text


def test_rapport_s_own_notes_are_not_read(ann, today):
    activity = actions.log_activity(
        ann, occurred_on=today, kind="card", text="Thanked them", read_text=False
    )
    assert activity.reading == {} and activity.detected == {}
    assert not ReadingQuestion.objects.filter(activity=activity).exists()


def test_an_unsure_reading_is_a_question_not_an_ask(unsure, ann, today, alice_client):
    activity = note(ann, today, UNSURE)
    assert activity.detected == {} and not activity.carries_moment
    question = ReadingQuestion.objects.get(activity=activity)
    assert (question.kind, question.evidence, question.answer) == ("praise", UNSURE, "")
    assert Action.ASK_REFERRAL not in agenda(ann, today)
    page = alice_client.get(reverse("clients:detail", args=[ann.pk])).content.decode()
    assert "this note sounds like praise — right?" in page
    assert reverse("agenda:answer_reading", args=[question.pk]) in page
    today_page = alice_client.get(reverse("agenda:today")).content.decode()
    assert "this note sounds like praise — right?" in today_page
    assert "Ann Jones" in today_page


def test_a_yes_is_a_marked_signal_and_a_label(unsure, ann, acme, today, alice_client, alice):
    activity = note(ann, today, UNSURE)
    question = ReadingQuestion.objects.get(activity=activity)
    back = reverse("clients:detail", args=[ann.pk])
    response = alice_client.post(
        reverse("agenda:answer_reading", args=[question.pk]), {"answer": "yes", "next": back}
    )
    assert response.status_code == 302 and response["Location"] == back  # no JavaScript
    question.refresh_from_db()
    activity.refresh_from_db()
    assert (question.answer, question.answered_by) == ("yes", alice)
    assert activity.signals == ["praise"] and activity.carries_moment
    (moment,) = [m for m in moments_on(acme, today, [ann.pk])[ann.pk] if m.kind == "praise"]
    assert moment.origin == Origin.MARKED
    assert Action.ASK_REFERRAL in agenda(ann, today)
    assert questions.labels(acme) == [(UNSURE, "praise", True)]
    # Answered once: a second click changes nothing.
    alice_client.post(reverse("agenda:answer_reading", args=[question.pk]), {"answer": "no"})
    question.refresh_from_db()
    assert question.answer == "yes"


def test_a_no_is_a_label_and_marks_nothing(unsure, ann, acme, today, alice_client):
    activity = note(ann, today, UNSURE)
    question = ReadingQuestion.objects.get(activity=activity)
    response = alice_client.post(
        reverse("agenda:answer_reading", args=[question.pk]),
        {"answer": "no"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "noted as not praise" in response.content.decode()
    activity.refresh_from_db()
    assert activity.signals == [] and not activity.carries_moment
    assert questions.labels(acme) == [(UNSURE, "praise", False)]
    page = alice_client.get(reverse("clients:detail", args=[ann.pk])).content.decode()
    assert "sounds like praise" not in page


def test_an_outside_next_is_not_followed(unsure, ann, today, alice_client):
    question = ReadingQuestion.objects.get(activity=note(ann, today, UNSURE))
    response = alice_client.post(
        reverse("agenda:answer_reading", args=[question.pk]),
        {"answer": "no", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("agenda:today")


def test_the_morning_retrains_the_workspace_s_reading_from_its_labels(
    unsure, ann, acme, bright, today, alice
):
    morning.send(sender=None, workspace=acme, on=today)
    assert not WorkspaceReadingModel.objects.exists()  # no labels, nothing to fit
    question = ReadingQuestion.objects.get(activity=note(ann, today, UNSURE))
    questions.answer(question, False, by=alice)
    morning.send(sender=None, workspace=acme, on=today)
    fitted = WorkspaceReadingModel.objects.get(workspace=acme)
    assert fitted.labels == 1 and fitted.model["labels"] == 1
    assert not WorkspaceReadingModel.objects.filter(workspace=bright).exists()
    # Nothing new: no refit.
    trained_at = fitted.trained_at
    morning.send(sender=None, workspace=acme, on=today)
    fitted.refresh_from_db()
    assert fitted.trained_at == trained_at
    # The workspace's notes are read with its layer from now on: the sentence
    # a person said was not praise reads as not praise.
    again = actions.log_activity(ann, occurred_on=today, kind="call", text=UNSURE)
    assert "praise" not in again.detected


# -- permissions from words ---------------------------------------------------------


def test_ask_me_again_in_three_months_proposes_a_permission(ann, today, alice_client, alice):
    activity = note(ann, today, "Lovely work. Ask me again in three months about a review.")
    proposal = PermissionProposal.objects.get(activity=activity)
    assert proposal.ask_after == today + relativedelta(months=3)
    assert proposal.status == ""
    page = alice_client.get(reverse("clients:detail", args=[ann.pk])).content.decode()
    assert f"after {proposal.ask_after:%-d %B %Y}" in page
    url = reverse("agenda:decide_permission", args=[proposal.pk])
    assert url in page
    alice_client.post(url, {"decision": "confirm"})
    permission = Permission.objects.get(contact=ann)
    assert (permission.ask_after, permission.granted_on, permission.kind) == (
        proposal.ask_after,
        today,
        proposal.kind,
    )
    assert permission.source == Permission.Source.ASK_ME_LATER and permission.created_by == alice
    proposal.refresh_from_db()
    assert (proposal.status, proposal.permission) == ("confirmed", permission)
    # "About a review": a testimonial, held until that day (a referral is not).
    assert proposal.kind == "testimonial"
    assert Action.ASK_TESTIMONIAL not in agenda(ann, today)
    # Confirmed once.
    alice_client.post(url, {"decision": "confirm"})
    assert Permission.objects.filter(contact=ann).count() == 1


def test_a_proposal_dismissed_records_nothing(ann, today, alice_client):
    activity = note(ann, today, "Give me 90 days of results first.")
    proposal = PermissionProposal.objects.get(activity=activity)
    assert proposal.ask_after == today + dt.timedelta(days=90)
    alice_client.post(
        reverse("agenda:decide_permission", args=[proposal.pk]), {"decision": "dismiss"}
    )
    proposal.refresh_from_db()
    assert proposal.status == "dismissed" and not Permission.objects.filter(contact=ann).exists()


def test_after_the_audit_in_march_is_the_first_of_april(ann, alice_client):
    on = dt.date(2026, 12, 2)
    activity = note(ann, on, "Happy to write something after the audit in March.")
    proposal = PermissionProposal.objects.get(activity=activity)
    assert proposal.ask_after == dt.date(2027, 4, 1)
    assert proposal.kind == "testimonial"


def test_an_undated_deferral_asks_for_the_date(ann, today, alice_client):
    activity = note(ann, today, "Ask me again once the extension is finished.")
    proposal = PermissionProposal.objects.get(activity=activity)
    assert proposal.ask_after is None
    url = reverse("agenda:decide_permission", args=[proposal.pk])
    alice_client.post(url, {"decision": "confirm"})
    assert not Permission.objects.filter(contact=ann).exists()  # no date yet
    day = today + dt.timedelta(days=40)
    alice_client.post(url, {"decision": "confirm", "ask_after": day.isoformat()})
    assert Permission.objects.get(contact=ann).ask_after == day


def test_time_words_alone_propose_nothing(ann, today):
    activity = note(ann, today, "Recall booked in 6 months.")
    assert not PermissionProposal.objects.filter(activity=activity).exists()
