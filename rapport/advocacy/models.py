"""What clients give: referrals and testimonials; and what the business gives
back to them (referrals given to a client — "give to get")."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from rapport.clients.models import Contact
from rapport.workspaces.models import WorkspaceOwned


class Referral(WorkspaceOwned):
    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        MEETING = "meeting", "Meeting"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    class How(models.TextChoices):
        NAMES_GIVEN = "names_given", "Gave names"
        INTRO = "intro", "Introduction"
        LINK = "link", "Referral link"
        UNKNOWN = "unknown", "Not recorded"

    referrer = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="referrals_made")
    referred = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="referrals_received"
    )
    date = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    how = models.CharField(max_length=12, choices=How.choices, default=How.UNKNOWN)
    # Unsolicited: nobody asked. The strongest referral there is.
    unsolicited = models.BooleanField(default=False)
    note = models.TextField(blank=True, help_text="How the referrer knows them.")
    # What the referrer allowed on the give-names page.
    may_mention = models.BooleanField(default=False, help_text="We may say who referred them.")
    wants_intro = models.BooleanField(default=False, help_text="The referrer will introduce us.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["referrer", "referred"], name="referral_pair_unique")
        ]
        indexes = [models.Index(fields=["workspace", "date"])]
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.referrer} → {self.referred}"


class Testimonial(WorkspaceOwned):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for moderation"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="testimonials")
    received_on = models.DateField()
    text = models.TextField()
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    unsolicited = models.BooleanField(default=False)
    consent_publish = models.BooleanField(default=False)
    consent_reference = models.BooleanField(default=False)
    display_name = models.CharField(max_length=120, blank=True)
    photo = models.ImageField(upload_to="testimonials/%Y/%m/", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "received_on"])]
        ordering = ["-received_on", "-id"]

    def __str__(self) -> str:
        return f"{self.contact}: {self.text[:40]}"


class ReferralGiven(WorkspaceOwned):
    """A referral the business gave *to* a client: an introduction, a lead."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="referrals_given_to"
    )
    given_on = models.DateField()
    description = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-given_on", "-id"]

    def __str__(self) -> str:
        return f"to {self.contact}: {self.description}"
