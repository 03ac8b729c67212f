"""Asking the human when the reader is unsure, and permissions read in words.

- The reader (rapport.agenda.reading) answers the record's `text_read` hook:
  the record stores the whole reading on the activity and acts on the sure
  findings only; the record never imports the reader.
- A note saved with findings below confidence gets a `ReadingQuestion` per
  kind ("this note sounds like praise — right?"), shown on the contact's
  page and on Today. A yes marks the signal on the activity (a marked
  signal, Origin.MARKED, for the agenda); yes and no are both labels.
- A note whose words defer an ask ("ask me again in three months") gets a
  `PermissionProposal` with the date the words give, confirmed in one click
  through the record's own `record_permission`.
- The morning job refits the workspace's own reading layer from its labels
  when there are new ones (never mixing workspaces); the reader uses it for
  that workspace's notes from then on.
"""

import datetime as dt
import time

from django.db import transaction
from django.utils import timezone

from rapport.agenda.models import PermissionProposal, ReadingQuestion, WorkspaceReadingModel
from rapport.agenda.permission_text import propose_permission
from rapport.agenda.reading import TEXT_KINDS, read, train_workspace_model
from rapport.agenda.reading.workspace import WorkspaceLayer
from rapport.clients import actions as record
from rapport.clients.models import Permission

# Questions older than this are not shown any more (the moment has passed).
QUESTION_DAYS = 30
# How the question names a kind.
KIND_WORDS = {
    "praise": "praise",
    "saved_us": "“you saved us”",
    "referral": "a referral",
    "testimonial": "a testimonial",
    "partner_association": "news of an association",
    "complaint": "a complaint",
}


# An import reads thousands of notes: the workspace's layer is looked up and
# parsed once a minute per process, not once per note. A refit here clears it;
# another process picks it up within the minute (refits happen in the morning).
LAYER_CACHE_SECONDS = 60
_layers: dict[int, tuple[float, WorkspaceLayer | None]] = {}


def workspace_layer(workspace) -> WorkspaceLayer | None:
    if workspace is None:
        return None
    now = time.monotonic()
    cached = _layers.get(workspace.pk)
    if cached is not None and cached[0] > now:
        return cached[1]
    data = (
        WorkspaceReadingModel.objects.filter(workspace=workspace)
        .values_list("model", flat=True)
        .first()
    )
    layer = WorkspaceLayer.from_json(data) if data else None
    _layers[workspace.pk] = (now + LAYER_CACHE_SECONDS, layer)
    return layer


def reader(sender, text, workspace=None, **kwargs) -> dict:
    """The record's `text_read` hook: the reading, with this workspace's layer."""
    return read(text, workspace_layer(workspace)).as_dict()


def note_saved(sender, instance, created, raw=False, **kwargs) -> None:
    """After a note is saved: a question per unsure finding, and a proposed
    permission when the words defer an ask. Only for notes that were read
    (Rapport's own notes are not: their reading is empty)."""
    if not created or raw or "findings" not in (instance.reading or {}):
        return
    unsure = [f for f in instance.reading["findings"] if not f.get("confident")]
    if unsure:
        ReadingQuestion.objects.bulk_create(
            [
                ReadingQuestion(
                    workspace_id=instance.workspace_id,
                    contact_id=instance.contact_id,
                    activity=instance,
                    kind=f["kind"],
                    evidence=f["evidence"],
                    confidence=f["confidence"],
                    asked_on=instance.occurred_on,
                )
                for f in unsure
                if f["kind"] in TEXT_KINDS and f["kind"] not in instance.signals
            ],
            ignore_conflicts=True,
        )
    proposal = propose_permission(instance.text, instance.occurred_on)
    if proposal is not None:
        PermissionProposal.objects.get_or_create(
            activity=instance,
            defaults={
                "workspace_id": instance.workspace_id,
                "contact_id": instance.contact_id,
                "kind": proposal.kind,
                "ask_after": proposal.on,
                "evidence": proposal.evidence[:2000],
                "when_words": proposal.when_words[:120],
                "proposed_on": instance.occurred_on,
            },
        )


def to_confirm(workspace, on: dt.date, contact_ids=None, *, limit: int | None = None):
    """What waits for a person: unanswered questions and proposed permissions
    of the last QUESTION_DAYS days, newest first (two queries)."""
    since = on - dt.timedelta(days=QUESTION_DAYS)
    questions = ReadingQuestion.objects.filter(
        workspace=workspace, answer="", asked_on__range=(since, on)
    ).select_related("contact")
    proposals = PermissionProposal.objects.filter(
        workspace=workspace, status="", proposed_on__range=(since, on)
    ).select_related("contact")
    if contact_ids is not None:
        questions = questions.filter(contact_id__in=list(contact_ids))
        proposals = proposals.filter(contact_id__in=list(contact_ids))
    questions = questions.order_by("-asked_on", "-pk")
    proposals = proposals.order_by("-proposed_on", "-pk")
    if limit is not None:
        questions, proposals = questions[:limit], proposals[:limit]
    found_questions = list(questions)
    for q in found_questions:
        q.kind_words = KIND_WORDS.get(q.kind, q.kind.replace("_", " "))
    return found_questions, list(proposals)


def answer(question: ReadingQuestion, yes: bool, *, by=None) -> bool:
    """Record a person's answer, once. A yes marks the signal on the note."""
    with transaction.atomic():
        claimed = ReadingQuestion.objects.filter(pk=question.pk, answer="").update(
            answer=ReadingQuestion.Answer.YES if yes else ReadingQuestion.Answer.NO,
            answered_by=by,
            answered_at=timezone.now(),
        )
        if not claimed:
            return False
        if yes:
            record.mark_signal(question.activity, question.kind)
    return True


def confirm_permission(
    proposal: PermissionProposal, *, by=None, ask_after: dt.date | None = None
) -> Permission | None:
    """The permission the words proposed, created by the record's own action
    (granted the day of the note); None when already decided or no date."""
    day = ask_after or proposal.ask_after
    if day is None:
        return None
    with transaction.atomic():
        claimed = PermissionProposal.objects.filter(pk=proposal.pk, status="").update(
            status=PermissionProposal.Status.CONFIRMED, decided_by=by, decided_at=timezone.now()
        )
        if not claimed:
            return None
        permission = record.record_permission(
            proposal.contact,
            kind=proposal.kind,
            ask_after=day,
            granted_on=proposal.proposed_on,
            source=Permission.Source.ASK_ME_LATER,
            note=f"From a note: “{proposal.evidence[:200]}”",
            by=by,
        )
        PermissionProposal.objects.filter(pk=proposal.pk).update(permission=permission)
    return permission


def dismiss_permission(proposal: PermissionProposal, *, by=None) -> bool:
    return bool(
        PermissionProposal.objects.filter(pk=proposal.pk, status="").update(
            status=PermissionProposal.Status.DISMISSED, decided_by=by, decided_at=timezone.now()
        )
    )


def labels(workspace) -> list[tuple[str, str, bool]]:
    """The workspace's answers as (text, kind, is_yes), oldest first."""
    return [
        (evidence, kind, answer == ReadingQuestion.Answer.YES)
        for evidence, kind, answer in ReadingQuestion.objects.filter(workspace=workspace)
        .exclude(answer="")
        .order_by("answered_at", "pk")
        .values_list("evidence", "kind", "answer")
    ]


def retrain(workspace) -> WorkspaceReadingModel | None:
    """Refit the workspace's reading layer from its own labels when an answer
    came since the last fit; None when nothing new."""
    answered = ReadingQuestion.objects.filter(workspace=workspace).exclude(answer="")
    newest = answered.order_by("-answered_at").values_list("answered_at", flat=True).first()
    if newest is None:
        return None
    current = WorkspaceReadingModel.objects.filter(workspace=workspace).first()
    if current is not None and current.last_answer_at and current.last_answer_at >= newest:
        return None
    found = labels(workspace)
    model = train_workspace_model(found)
    fitted, _ = WorkspaceReadingModel.objects.update_or_create(
        workspace=workspace,
        defaults={
            "model": model,
            "labels": len(found),
            "last_answer_at": newest,
            "trained_at": timezone.now(),
        },
    )
    _layers.pop(workspace.pk, None)
    return fitted


def morning(sender, workspace, on=None, **kwargs) -> None:
    """The morning job's hook (agenda.signals.morning): refit when due."""
    retrain(workspace)
