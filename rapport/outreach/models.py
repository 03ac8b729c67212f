"""Asks: every request made to a contact, through which channel, and how it
ended. Cooldowns and decline hold-backs are read from here."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from rapport.clients.models import Contact
from rapport.workspaces.models import WorkspaceOwned, WorkspaceQuerySet


class AskKind(models.TextChoices):
    REFERRAL = "referral", "Referral"
    TESTIMONIAL = "testimonial", "Testimonial"
    FEEDBACK = "feedback", "Feedback"
    REACTIVATION = "reactivation", "Reactivation"
    # The upfront contract asks for permission to ask later; it does not
    # count against the referral cooldown.
    PERMISSION = "permission", "Permission to ask later"


class Channel(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    LINK = "link", "QR code or link"


class Outcome(models.TextChoices):
    PENDING = "pending", "Waiting for an answer"
    YES = "yes", "Said yes"
    GAVE_NAMES = "gave_names", "Gave names"
    LATER = "later", "Ask me later"
    DECLINED = "declined", "Declined"
    NO_ANSWER = "no_answer", "No answer"


class AskQuerySet(WorkspaceQuerySet):
    def counting_for_cooldown(self):
        return self.exclude(kind=AskKind.PERMISSION)


class Ask(WorkspaceOwned):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="asks")
    kind = models.CharField(max_length=12, choices=AskKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    script = models.TextField(blank=True, help_text="The words used, as filled in.")
    asked_on = models.DateField()
    asked_at = models.DateTimeField(default=timezone.now)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)

    objects = AskQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "asked_on"])]
        ordering = ["-asked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ask to {self.contact} ({self.get_outcome_display()})"
