"""Stored agenda items, the user's decisions about them, and scripts.

Agenda items are derived: the engine rebuilds them wholesale for a workspace
(every morning, and for one contact whenever one of its facts changes). What
must survive a rebuild — "done", "snoozed until Friday" — lives in
`AgendaDecision`, keyed by the item's stable key, not by the item's row.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from rapport.clients.models import Contact
from rapport.workspaces.models import WorkspaceOwned, WorkspaceQuerySet


class Action(models.TextChoices):
    ASK_REFERRAL = "ask_referral", "Ask for a referral"
    ASK_TESTIMONIAL = "ask_testimonial", "Ask for a testimonial"
    ASK_MORE_NAMES = "ask_more_names", "Ask for the other names"
    UPFRONT_CONTRACT = "upfront_contract", "Agree the upfront contract"
    FOLLOW_UP_PERMISSION = "follow_up_permission", "Follow up: permission due"
    RECOVER = "recover", "Recover: fix the problem first"
    REACTIVATE = "reactivate", "Win back"
    RECALL = "recall", "Routine visit due"
    THANK = "thank", "Say thank you"
    TOUCH = "touch", "Keep in touch"
    EARN_FIRST = "earn_first", "Earn the right first"


# Actions that are asks: every gate of DESIGN.md applies to them.
ASK_ACTIONS = {
    Action.ASK_REFERRAL: "referral",
    Action.ASK_TESTIMONIAL: "testimonial",
    Action.ASK_MORE_NAMES: "referral",
    Action.FOLLOW_UP_PERMISSION: "referral",
}


class AgendaItemQuerySet(WorkspaceQuerySet):
    def for_user(self, user):
        """The user's own contacts and everyone's unassigned ones."""
        return self.filter(models.Q(contact__owner=user) | models.Q(contact__owner=None))


class AgendaItem(WorkspaceOwned):
    # No index of its own on workspace: (workspace, -priority) below serves
    # every lookup by workspace, and the morning refresh writes all items
    # again, so each index less is time saved every day.
    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="agenda_items")
    date = models.DateField(help_text="The day this item was computed for.")
    action = models.CharField(max_length=24, choices=Action.choices)
    key = models.CharField(
        max_length=80, help_text="Stable across rebuilds; decisions refer to it."
    )
    moments = models.JSONField(default=list)
    priority = models.FloatField()
    readiness = models.PositiveSmallIntegerField()
    # The reasons, one per line (plain text: the morning refresh writes tens
    # of thousands of items, and encoding JSON for each was measurable).
    why = models.TextField()
    script_key = models.CharField(max_length=40, blank=True)
    # The item's own merge fields ({moment}, {last_visit}, …). The script is
    # filled when the item is shown (engine.fill_scripts), with the contact's
    # current name and the workspace's current wording.
    fields = models.JSONField(default=dict)

    objects = AgendaItemQuerySet.as_manager()

    script = ""

    class Meta:
        indexes = [models.Index(fields=["workspace", "-priority"])]
        ordering = ["-priority", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.contact}"

    @property
    def reasons(self) -> list[str]:
        return self.why.splitlines()

    @property
    def recovery(self) -> tuple[int, str] | None:
        """(issue id, next step) of a recover item about an issue."""
        parts = self.key.split(":")
        if self.action == Action.RECOVER and parts[0] == "issue" and len(parts) == 3:
            return int(parts[1]), parts[2]
        return None

    @property
    def complaint_activity(self) -> int | None:
        """The activity a complaint item was read in (key complaint:activity:N)."""
        parts = self.key.split(":")
        if parts[:2] == ["complaint", "activity"] and parts[2:] and parts[2].isdigit():
            return int(parts[2])
        return None

    @property
    def permission_pk(self) -> int | None:
        """The permission a follow-up item is about (key permission:N)."""
        parts = self.key.split(":")
        if self.action == Action.FOLLOW_UP_PERMISSION and len(parts) == 2 and parts[1].isdigit():
            return int(parts[1])
        return None

    @property
    def ask_kind(self) -> str | None:
        # A follow-up on a permission is of the kind the client agreed to;
        # the rule stores it with the item.
        stored = (self.fields or {}).get("ask_kind") if self.action in ASK_ACTIONS else None
        return stored or ASK_ACTIONS.get(self.action)


class AgendaDecision(WorkspaceOwned):
    class Status(models.TextChoices):
        DONE = "done", "Done"
        SNOOZED = "snoozed", "Snoozed"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="agenda_decisions")
    action = models.CharField(max_length=24, choices=Action.choices)
    key = models.CharField(max_length=80)
    status = models.CharField(max_length=10, choices=Status.choices)
    until = models.DateField(null=True, blank=True, help_text="Snoozed until this day.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "action", "key"], name="one_decision_per_item"
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.key}: {self.status}"


class Script(WorkspaceOwned):
    """A workspace's own wording for a situation; defaults live in scripts.py."""

    key = models.CharField(max_length=40)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="script_key_unique")
        ]

    def __str__(self) -> str:
        return self.key


class ReadingQuestion(WorkspaceOwned):
    """A reading of a note below confidence, put to a person ("this note
    sounds like praise — right?") instead of being acted on. The answer is
    a label: the workspace's own reading model learns from its answers, and
    a yes counts as a signal a user marked."""

    class Answer(models.TextChoices):
        PENDING = "", "Not answered"
        YES = "yes", "Right"
        NO = "no", "Not that"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    activity = models.ForeignKey("clients.Activity", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24)
    evidence = models.TextField()
    confidence = models.FloatField()
    asked_on = models.DateField()
    answer = models.CharField(max_length=3, choices=Answer.choices, blank=True, default="")
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["activity", "kind"], name="reading_question_once")
        ]
        indexes = [models.Index(fields=["workspace", "answer", "asked_on"])]


class PermissionProposal(WorkspaceOwned):
    """A permission read in a note ("ask me again in three months"), with the
    date the words give, waiting for a person to confirm it."""

    class Status(models.TextChoices):
        PENDING = "", "Waiting"
        CONFIRMED = "confirmed", "Confirmed"
        DISMISSED = "dismissed", "Dismissed"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    activity = models.OneToOneField("clients.Activity", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12)  # PermissionKind's values
    ask_after = models.DateField(null=True, blank=True)  # None: the words gave no date
    evidence = models.TextField()
    when_words = models.CharField(max_length=120, blank=True)
    proposed_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, blank=True, default="")
    permission = models.ForeignKey(
        "clients.Permission", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "status", "proposed_on"])]


class WorkspaceReadingModel(WorkspaceOwned):
    """A workspace's own reading layer (reading.train_workspace_model), fitted
    by the morning job from that workspace's answers only."""

    model = models.JSONField(default=dict)
    labels = models.PositiveIntegerField(default=0)
    # The newest answer it was fitted on: a newer one means a refit is due.
    last_answer_at = models.DateTimeField(null=True, blank=True)
    trained_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="one_reading_model_per_workspace")
        ]
