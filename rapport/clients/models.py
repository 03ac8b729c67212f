"""The relationship record: who the business knows and what has happened.

These are the facts. Moments, readiness and the agenda are derived from them
(`rapport.agenda`), so nothing here stores a conclusion that could go stale.
"""

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from rapport.kinds import SIGNAL_KINDS, MomentKind
from rapport.lib import phones
from rapport.workspaces.models import WorkspaceOwned, WorkspaceQuerySet


class Stage(models.TextChoices):
    """The loyalty ladder, lowest rung first: the order is meaningful."""

    SUSPECT = "suspect", "Suspect"
    PROSPECT = "prospect", "Prospect"
    CUSTOMER = "customer", "Customer"
    MEMBER = "member", "Member"
    ADVOCATE = "advocate", "Advocate"
    RAVING_FAN = "raving_fan", "Raving fan"

    @classmethod
    def rank(cls, stage: str) -> int:
        return cls.values.index(stage)

    @classmethod
    def at_least(cls, stage: str) -> list[str]:
        return cls.values[cls.rank(stage) :]


class Organization(WorkspaceOwned):
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="organization_name_unique")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Tag(WorkspaceOwned):
    name = models.CharField(max_length=60)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="tag_name_unique")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ContactQuerySet(WorkspaceQuerySet):
    def active(self):
        return self.filter(erased_at=None)

    def customers(self):
        """Contacts who have bought: customer and every rung above."""
        return self.filter(stage__in=Stage.at_least(Stage.CUSTOMER))

    def search(self, text: str, region: str = ""):
        """Every word must match something; numbers are stored as E.164, so a
        number typed the local way ("(555) 222-3333", "222-3333") is looked
        for by its digits."""
        query = Q()
        for word in text.split():
            words = (
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(phone__icontains=word)
                | Q(external_id__iexact=word)
                | Q(organization__name__icontains=word)
            )
            digits = phones.search_digits(word, region) if region else None
            if digits:
                words |= Q(phone__contains=digits)
            query &= words
        whole = phones.search_digits(text, region) if region else None
        if whole and whole.startswith("+"):
            query |= Q(phone=whole)
        return self.filter(query)


def new_external_id() -> str:
    # Contacts created in the app get an id that cannot collide with a CSV's
    # numbering and reads well in the agenda JSON.
    return "R-" + secrets.token_hex(4).upper()


class Contact(WorkspaceOwned):
    external_id = models.CharField(max_length=64, default=new_external_id)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.PROSPECT)
    relationship = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    relationship_on = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=100, blank=True)
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referred_contacts"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    # Consent for automated channels; ConsentRecord keeps what, when and how.
    email_ok = models.BooleanField(default=False)
    sms_ok = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    # Postal, one line: where a handwritten thank-you card goes. A database
    # default too, so bulk writers that name their columns need not know it.
    address = models.CharField(max_length=300, blank=True, default="", db_default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Routine care (e.g. a hygiene visit every 183 days) overriding the workspace's.
    recall_interval_days = models.PositiveSmallIntegerField(null=True, blank=True)
    # Their own rhythm: the median days between purchases (clients.rhythm).
    rhythm_days = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Their usual spend per purchase (clients.rhythm): a sale well above it is
    # a point of sale, not routine.
    typical_amount = models.FloatField(null=True, blank=True, editable=False)
    # The amount of their first purchase (clients.rhythm): a big first yes
    # counts toward readiness.
    first_amount = models.FloatField(null=True, blank=True, editable=False)
    # Readiness as of the last agenda refresh, kept so the contacts list can
    # filter and sort on it; the agenda engine recomputes it from the facts.
    readiness = models.PositiveSmallIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ContactQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "external_id"], name="contact_external_id_unique"
            )
        ]
        indexes = [
            models.Index(fields=["workspace", "stage"]),
            models.Index(fields=["workspace", "readiness"]),
            # Covers every column the agenda engine reads for each contact each
            # morning, so that pass is an index-only scan.
            models.Index(
                fields=[
                    "workspace",
                    "id",
                    "erased_at",
                    "stage",
                    "relationship",
                    "organization",
                    "owner",
                    "recall_interval_days",
                    "rhythm_days",
                    "typical_amount",
                    "first_amount",
                    "readiness",
                    "created_at",
                ],
                name="contact_agenda_cover",
            ),
            models.Index(fields=["workspace", "last_name", "first_name"]),
        ]
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def stage_rank(self) -> int:
        return Stage.rank(self.stage)


class StageChange(WorkspaceOwned):
    class Reason(models.TextChoices):
        MANUAL = "manual", "Changed by hand"
        IMPORT = "import", "Imported"
        FIRST_PURCHASE = "first_purchase", "First purchase"
        REPEAT_PURCHASE = "repeat_purchase", "Repeat purchase"
        FIRST_DEAL = "first_deal", "First deal won"
        SECOND_DEAL = "second_deal", "Second deal won"
        REFERRAL_GIVEN = "referral_given", "Gave a referral"
        TESTIMONIAL_GIVEN = "testimonial_given", "Gave a testimonial"
        SECOND_REFERRAL = "second_referral", "Gave a second referral"
        UNSOLICITED_REFERRAL = "unsolicited_referral", "Gave an unsolicited referral"
        FIRST_MEETING = "first_meeting", "First meeting"
        DEAL_OPENED = "deal_opened", "A deal opened"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=12, choices=Stage.choices)
    reason = models.CharField(max_length=24, choices=Reason.choices)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.contact}: {self.from_stage} → {self.to_stage}"


class Purchase(WorkspaceOwned):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="purchases")
    date = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # (workspace, contact, date) covers the per-contact aggregates the
        # agenda and the lapse model read, so they never touch the table;
        # (workspace, date) serves "purchases in the last three days".
        indexes = [
            models.Index(fields=["workspace", "contact", "date"]),
            models.Index(fields=["workspace", "date"]),
        ]
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.contact} bought on {self.date}"


class ActivityKind(models.TextChoices):
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "Email"
    NOTE = "note", "Note"
    CARD = "card", "Card"
    GIFT = "gift", "Gift"
    VISIT = "visit", "Visit"
    EVENT = "event", "Event"


class Direction(models.TextChoices):
    IN = "in", "From the client"
    OUT = "out", "To the client"


# Moments a user can mark on an activity; a marked signal always counts. The
# kinds are the shared vocabulary's (rapport.kinds), not a list of their own.
Signal = models.TextChoices(
    "Signal", [(kind.upper(), (kind, MomentKind(kind).label)) for kind in SIGNAL_KINDS]
)


class Activity(WorkspaceOwned):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="activities")
    occurred_on = models.DateField()
    kind = models.CharField(max_length=10, choices=ActivityKind.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.OUT)
    text = models.TextField(blank=True)
    signals = models.JSONField(default=list, blank=True)
    # What the text detector read in `text`: {kind: evidence}. Computed when
    # the activity is written, so the agenda never re-reads free text.
    detected = models.JSONField(default=dict, blank=True)
    # signals or detected is non-empty: lets the agenda find moment-bearing
    # activities with an index instead of parsing JSON on every row.
    carries_moment = models.BooleanField(default=False)
    # The reader's whole answer ({"findings": [...]}, each with its confidence
    # and whether it is sure enough to act on); `detected` keeps the sure ones.
    reading = models.JSONField(default=dict, blank=True, db_default={})
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["workspace", "contact", "occurred_on"]),
            models.Index(fields=["workspace", "carries_moment", "occurred_on"]),
        ]
        ordering = ["-occurred_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} with {self.contact} on {self.occurred_on}"

    @property
    def moment_kinds(self) -> list[str]:
        """Marked signals first, then what the text said (complaints excluded)."""
        kinds = list(self.signals)
        kinds += [k for k in self.detected if k != "complaint" and k not in kinds]
        return kinds

    @property
    def complaint(self) -> str | None:
        return self.detected.get("complaint")


class DealStage(models.TextChoices):
    LEAD = "lead", "Lead"
    MEETING = "meeting", "Meeting"
    PROPOSAL = "proposal", "Proposal"
    WON = "won", "Won"
    COMPLETED = "completed", "Completed"
    LOST = "lost", "Lost"


class Deal(WorkspaceOwned):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="deals")
    title = models.CharField(max_length=200)
    stage = models.CharField(max_length=10, choices=DealStage.choices, default=DealStage.LEAD)
    won_on = models.DateField(null=True, blank=True)
    completed_on = models.DateField(null=True, blank=True)
    value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "completed_on"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class IssueQuerySet(WorkspaceQuerySet):
    def blocking(self):
        return self.filter(status__in=Issue.BLOCKING_STATUSES)


class Issue(WorkspaceOwned):
    """A service problem, and its recovery: opened → apology made → fix
    planned → resolved → confirmed by the client. No ask is made until the
    client confirms (or, silent, a set time after the resolution passes),
    and then only after a waiting period (see rapport.agenda.recovery)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Apology made"
        FIX_PLANNED = "fix_planned", "Fix planned"
        RESOLVED = "resolved", "Resolved"
        CONFIRMED = "confirmed", "Confirmed by the client"

    BLOCKING_STATUSES = [Status.OPEN, Status.ACKNOWLEDGED, Status.FIX_PLANNED]

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="issues")
    opened_on = models.DateField()
    summary = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    acknowledged_on = models.DateField(null=True, blank=True)
    fix_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fix_due = models.DateField(null=True, blank=True)
    fix_plan = models.TextField(blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    resolution = models.TextField(blank=True)
    confirmed_on = models.DateField(null=True, blank=True)
    # The activity whose words revealed the problem, when there was one.
    source_activity = models.ForeignKey(
        Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = IssueQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "status"])]
        ordering = ["-opened_on", "-id"]

    def __str__(self) -> str:
        return self.summary[:60]

    @property
    def is_open(self) -> bool:
        return self.status in self.BLOCKING_STATUSES


class PermissionKind(models.TextChoices):
    REFERRAL = "referral", "Referral"
    TESTIMONIAL = "testimonial", "Testimonial"
    BOTH = "both", "Referral and testimonial"


class Permission(WorkspaceOwned):
    """An upfront contract: the contact agreed to be asked on or after a date."""

    class Source(models.TextChoices):
        UPFRONT_CONTRACT = "upfront_contract", "Upfront contract"
        ASK_ME_LATER = "ask_me_later", "Asked to be asked later"
        CLIENT_PAGE = "client_page", "Chose a date on a client page"
        IMPORT = "import", "Imported"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="permissions")
    kind = models.CharField(
        max_length=12, choices=PermissionKind.choices, default=PermissionKind.BOTH
    )
    granted_on = models.DateField()
    ask_after = models.DateField()
    source = models.CharField(
        max_length=20, choices=Source.choices, default=Source.UPFRONT_CONTRACT
    )
    note = models.TextField(blank=True)
    # The follow-up it asked for was made (or it was withdrawn): it no
    # longer holds asks back, nor comes due again.
    closed_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "ask_after"])]
        ordering = ["-granted_on", "-id"]

    def __str__(self) -> str:
        return f"{self.contact}: {self.kind} after {self.ask_after}"

    def covers(self, ask_kind: str) -> bool:
        return self.kind == PermissionKind.BOTH or self.kind == ask_kind


class ConsentQuerySet(WorkspaceQuerySet):
    def latest_for(self, contact, channel: str):
        """The record in force for this contact and channel, or None."""
        return self.filter(contact=contact, channel=channel).order_by("-recorded_at", "-id").first()

    def granted_ids(self, channel: str, contact_ids) -> set[int]:
        """Of these contacts, those whose latest record for the channel grants
        it: one query, whatever their number."""
        latest = self.filter(contact=models.OuterRef("pk"), channel=channel).order_by(
            "-recorded_at", "-id"
        )
        return set(
            Contact.objects.filter(pk__in=list(contact_ids))
            .annotate(granted=models.Subquery(latest.values("granted")[:1]))
            .filter(granted=True)
            .values_list("pk", flat=True)
        )


class ConsentRecord(WorkspaceOwned):
    """What the contact agreed to (or withdrew), when, and how: the proof.
    No automated message goes out unless the latest record for its channel
    grants it (checked again at send time)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        PUBLISH = "publish", "Publish testimonial"
        REFERENCE = "reference", "Be contacted as a reference"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    granted = models.BooleanField()
    text = models.TextField(help_text="The exact words shown or the source of the consent.")
    source = models.CharField(max_length=40)
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["contact", "channel", "recorded_at"])]

    def __str__(self) -> str:
        return f"{self.contact} {self.channel} {'granted' if self.granted else 'withdrawn'}"
