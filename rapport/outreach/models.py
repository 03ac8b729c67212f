"""Outreach: asks, the client pages behind their tokens, the outbox, and the
suppression list.

An ask is every request made to a contact, with its channel and outcome;
cooldowns and decline hold-backs are read from here. An ask sent by email,
SMS or shown as a QR code carries a token that opens the client's page.
"""

import datetime as dt
import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from rapport.clients.models import Contact
from rapport.kinds import MESSAGE_CHANNELS, Channel
from rapport.lib import phones
from rapport.outreach import tokens

# The rate-limit bucket moved to workspaces (sign-in uses it too); the name
# stays importable from here.
from rapport.workspaces.models import (
    RateBucket,  # noqa: F401
    WorkspaceOwned,
    WorkspaceQuerySet,
)

# Client pages stay open this long after the ask (DESIGN: tokens expire).
TOKEN_DAYS = 30


class AskKind(models.TextChoices):
    REFERRAL = "referral", "Referral"
    TESTIMONIAL = "testimonial", "Testimonial"
    FEEDBACK = "feedback", "Feedback"
    REACTIVATION = "reactivation", "Reactivation"
    # The upfront contract asks for permission to ask later; it does not
    # count against the referral cooldown.
    PERMISSION = "permission", "Permission to ask later"
    # "Is it fixed for you?" after a service recovery: not an ask for a
    # favour, so it counts against no cooldown either.
    RECOVERY = "recovery", "Is it fixed?"
    # A review on a public site (Google, Yelp, …): the same links for every
    # client asked, whatever they think of us — never gated on a rating.
    REVIEW = "review", "Review on a public site"


# Messages go by email or SMS: the channels consent and suppression are kept for.
MESSAGE_CHANNEL_CHOICES = [(c.value, c.label) for c in MESSAGE_CHANNELS]


class Outcome(models.TextChoices):
    PENDING = "pending", "Waiting for an answer"
    YES = "yes", "Said yes"
    GAVE_NAMES = "gave_names", "Gave names"
    LATER = "later", "Ask me later"
    DECLINED = "declined", "Declined"
    NO_ANSWER = "no_answer", "No answer"
    # The conversation revealed a problem (or "it is not fixed"): an issue.
    PROBLEM = "problem", "Revealed a problem"
    # A questionnaire was filled in (whatever it said: 2/10 is not a yes).
    ANSWERED = "answered", "Answered"


# Which client page an ask of each kind opens.
PAGE_FOR_KIND = {
    AskKind.REFERRAL: "names",
    AskKind.TESTIMONIAL: "testimonial",
    AskKind.FEEDBACK: "questionnaire",
    AskKind.REACTIVATION: "questionnaire",
    AskKind.PERMISSION: "later",
    AskKind.RECOVERY: "fixed",
    AskKind.REVIEW: "reviews",
}

# The script each kind of ask starts from when no agenda item says otherwise.
SCRIPT_FOR_KIND = {
    AskKind.REFERRAL: "point_of_sale",
    AskKind.TESTIMONIAL: "ask_testimonial",
    AskKind.FEEDBACK: "feedback",
    AskKind.REACTIVATION: "reactivation",
    AskKind.PERMISSION: "upfront_contract",
    AskKind.RECOVERY: "recovery_confirm",
    AskKind.REVIEW: "ask_review",
}


class AskQuerySet(WorkspaceQuerySet):
    def by_token(self, token: str):
        """The ask a client page token opens, or None. Expired ones included:
        the page says so rather than pretending the link never existed."""
        queryset = self.select_related("contact", "workspace")
        return queryset.filter(token_hash=tokens.hash_token(token)).first()


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
    # The client page: a token derived from the key and this salt (only its
    # hash is kept, see tokens.py) that expires, and the moment the client
    # answered — set once, by a conditional update, so that a page submitted
    # twice (or twenty times at once) counts once.
    token_salt = models.CharField(max_length=32, blank=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # An automated ask remembers the rule that made it (and its fact), so a
    # rule never asks twice for the same reason.
    automation_key = models.CharField(max_length=120, unique=True, null=True, blank=True)
    # The issue a recovery ask ("is it fixed for you?") is about.
    issue = models.ForeignKey(
        "clients.Issue", null=True, blank=True, on_delete=models.CASCADE, related_name="asks"
    )
    # Which words and which occasion: what the insights count ("which words
    # work"). The script's key, not its text, so edits keep their history.
    script_key = models.CharField(max_length=40, blank=True)
    moment = models.CharField(max_length=24, blank=True)

    objects = AskQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "asked_on"])]
        ordering = ["-asked_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ask to {self.contact} ({self.get_outcome_display()})"

    @property
    def page(self) -> str:
        return PAGE_FOR_KIND.get(self.kind, "names")

    def open_page(self, days: int = TOKEN_DAYS) -> None:
        """Give this ask a client page (call before saving a new ask)."""
        self.token_salt = tokens.new_salt()
        self.token_expires_at = timezone.now() + dt.timedelta(days=days)

    def token(self) -> str:
        """The page's token, re-derived (it is never stored)."""
        return tokens.derive("ask", self.pk, self.token_salt)

    @property
    def token_expired(self) -> bool:
        return not self.token_expires_at or self.token_expires_at <= timezone.now()


class QuestionnaireAnswer(WorkspaceOwned):
    """NPS 0–10 and the facilitative questions, answered on a client page."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="answers")
    ask = models.OneToOneField(Ask, on_delete=models.CASCADE, related_name="answer")
    nps = models.PositiveSmallIntegerField()
    experience = models.TextField(blank=True)
    improve = models.TextField(blank=True)
    would_refer = models.TextField(blank=True)
    answered_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "answered_on"])]
        ordering = ["-answered_on", "-id"]

    def __str__(self) -> str:
        return f"{self.contact}: NPS {self.nps}"

    @property
    def band(self) -> str:
        return "promoter" if self.nps >= 9 else "detractor" if self.nps <= 6 else "passive"


def normalize_address(channel: str, address: str, region: str = "") -> str:
    """The one form an address is stored, compared and suppressed in: an
    email lower-cased, a phone number as E.164 (read in the workspace's
    region), so `(555) 222-3333` and `+15552223333` are one number."""
    if channel == "sms":
        return phones.normalize(address, region)
    return (address or "").strip().lower()


def address_hash(channel: str, address: str, region: str = "") -> str:
    return hashlib.sha256(normalize_address(channel, address, region).encode()).hexdigest()


def workspace_address_hash(workspace, channel: str, address: str) -> str:
    return address_hash(channel, address, workspace.phone_region)


class SuppressionQuerySet(WorkspaceQuerySet):
    def covers(self, workspace, channel: str, address: str) -> bool:
        return self.filter(
            workspace=workspace,
            channel=channel,
            address_hash=workspace_address_hash(workspace, channel, address),
        ).exists()


class Suppression(WorkspaceOwned):
    """An address never to send automated messages to. Only the hash is
    needed to check; the address itself is dropped when a contact is erased."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        HARD_BOUNCE = "hard_bounce", "Hard bounce"
        COMPLAINT = "complaint", "Marked as spam"
        SMS_STOP = "sms_stop", "Replied STOP"
        ERASED = "erased", "Erased on request"
        MANUAL = "manual", "Added by hand"

    channel = models.CharField(max_length=5, choices=MESSAGE_CHANNEL_CHOICES)
    address_hash = models.CharField(max_length=64)
    address = models.CharField(max_length=254, blank=True)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)

    objects = SuppressionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel", "address_hash"], name="one_suppression_per_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.address or self.address_hash[:12]} ({self.reason})"


def new_message_id() -> str:
    domain = settings.EMAIL_MESSAGE_ID_DOMAIN
    return f"<{uuid.uuid4().hex}@{domain}>"


class MessageQuerySet(WorkspaceQuerySet):
    def due(self, now=None):
        """Ready to be claimed: queued and due, or claimed by a worker whose
        lease ran out (it died mid-send)."""
        now = now or timezone.now()
        paused = DeliveryPause.objects.filter(
            workspace=models.OuterRef("workspace"),
            channel=models.OuterRef("channel"),
            lifted_at=None,
        )
        return self.filter(
            models.Q(status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=now)
            | models.Q(status=OutboundMessage.Status.SENDING, claimed_until__lt=now)
        ).exclude(models.Q(to_client=True) & models.Exists(paused))


class OutboundMessage(WorkspaceOwned):
    """The outbox: every email or SMS Rapport sends, sent once and never lost.

    Each message has an idempotency key (the same request queued twice is one
    message) and a Message-ID fixed at creation. A worker claims it with a
    conditional UPDATE that sets a lease, hands it to the server, and records
    it as sent as soon as the server accepts it. A worker killed mid-send
    leaves the claim to expire; the message is then claimed again.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Not sent: no consent or unsubscribed"
        CANCELLED = "cancelled", "Cancelled"

    class Kind(models.TextChoices):
        ASK = "ask", "Ask"
        REMINDER = "reminder", "Reminder to the team"
        DIGEST = "digest", "Morning digest"
        NOTICE = "notice", "Notice to the team"
        CONFIRMATION = "confirmation", "Confirmation to a client"
        REFERENCE = "reference", "Reference request"

    class Failure(models.TextChoices):
        """Whose fault a failed message was: only the recipient's own
        (a mailbox that does not exist) costs the address its consent."""

        NONE = "", "—"
        RECIPIENT = "recipient", "The address does not exist or is disabled"
        MESSAGE = "message", "This message was refused"
        SENDER = "sender", "Our mail server or account refused it"
        GAVE_UP = "gave_up", "No answer after every retry"

    channel = models.CharField(max_length=5, choices=MESSAGE_CHANNEL_CHOICES, default=Channel.EMAIL)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    ask = models.ForeignKey(
        Ask, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    to_address = models.CharField(max_length=254)
    subject = models.CharField(max_length=250, blank=True)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # Messages to clients need their consent and honour the suppression list,
    # checked again at send time; messages to the team do not.
    to_client = models.BooleanField(default=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    message_id = models.CharField(max_length=200, unique=True, default=new_message_id)
    # The unsubscribe link of this message: derived like a page token.
    unsubscribe_salt = models.CharField(max_length=32, blank=True, editable=False)
    unsubscribe_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=80, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    failure = models.CharField(max_length=10, choices=Failure.choices, blank=True, default="")
    provider_id = models.CharField(max_length=120, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = MessageQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["workspace", "status", "created_at"]),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.to_address} ({self.status})"


class DeliveryPauseQuerySet(WorkspaceQuerySet):
    def active(self):
        return self.filter(lifted_at=None)


class DeliveryPause(WorkspaceOwned):
    """Sending to clients on a channel, stopped for the workspace because the
    server or the account refused (an authentication failure, a relay or
    policy refusal, a server error): a fault of the sender, never of the
    client, so nobody's consent is touched. Messages wait in the outbox until
    someone fixes the cause and resumes."""

    channel = models.CharField(max_length=5, choices=MESSAGE_CHANNEL_CHOICES)
    reason = models.TextField(help_text="What the server answered, in its words.")
    message = models.ForeignKey(
        OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = DeliveryPauseQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "channel"],
                condition=models.Q(lifted_at=None),
                name="one_active_pause_per_channel",
            )
        ]
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel} paused since {self.started_at:%Y-%m-%d %H:%M}"


class WebhookEvent(WorkspaceOwned):
    """An inbound webhook event already taken in: each event id is used once,
    so a replayed request changes nothing."""

    class Source(models.TextChoices):
        SIGNED = "signed", "Signed email events (Standard Webhooks)"
        POSTMARK = "postmark", "Postmark"
        TWILIO = "twilio", "Twilio"

    source = models.CharField(max_length=10, choices=Source.choices)
    event_id = models.CharField(max_length=200)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source", "event_id"], name="webhook_event_once"
            )
        ]
        indexes = [models.Index(fields=["received_at"])]

    def __str__(self) -> str:
        return f"{self.source} {self.event_id}"
