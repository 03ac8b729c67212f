"""Workspaces (tenants), memberships and invitations.

Every domain row of Rapport belongs to exactly one workspace. Models inherit
`WorkspaceOwned`, whose manager is a `WorkspaceQuerySet`; views reach objects
only through `rapport.workspaces.access`, which scopes and 404s.
"""

import datetime as dt
import hashlib
import secrets
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

# Moment freshness windows in days (DESIGN.md): a moment older than its
# window is gone. Each workspace may override any of them.
DEFAULT_MOMENT_WINDOWS = {
    "point_of_sale": 3,
    "praise": 14,
    "testimonial": 14,
    "saved_us": 14,
    "referral": 14,
    "project_completed": 14,
    "partner_association": 30,
    "promoter": 14,
    "detractor": 30,
    "passive": 14,
    "complaint": 30,
}

# Touch plan: at most this many days between two outgoing touches, per rung.
# Suspects are not on the plan; 0 switches a rung off.
DEFAULT_TOUCH_CADENCE = {
    "prospect": 30,
    "customer": 120,
    "member": 90,
    "advocate": 60,
    "raving_fan": 45,
}


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/London).")


def validate_phone_region(value: str) -> None:
    from rapport.lib.phones import regions

    if value not in regions():
        raise ValidationError(f"{value!r} is not a country code we know (e.g. US, GB).")


def hash_token(token: str) -> str:
    # Tokens are stored hashed: a leaked database does not hand out live links.
    return hashlib.sha256(token.encode()).hexdigest()


class WorkspaceQuerySet(models.QuerySet):
    def in_workspace(self, workspace):
        return self.filter(workspace=workspace)


class WorkspaceOwned(models.Model):
    """Base for every domain model: one workspace, and a scoped manager."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        abstract = True


class Workspace(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(
        max_length=60,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "Lower-case letters, digits, dashes.")],
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(default=timezone.now)

    readiness_threshold = models.PositiveSmallIntegerField(
        default=50,
        validators=[MaxValueValidator(100)],
        help_text="Below this readiness, a moment proposes earning the right first, not an ask.",
    )
    ask_cooldown_days = models.PositiveSmallIntegerField(
        default=90, help_text="At most one ask of a kind per contact inside this many days."
    )
    decline_holdback_days = models.PositiveSmallIntegerField(
        default=180,
        help_text="After a decline, no ask for this many days unless they grant permission.",
    )
    moment_windows = models.JSONField(default=dict, blank=True)
    touch_cadence = models.JSONField(default=dict, blank=True)
    agenda_refresh_hour = models.PositiveSmallIntegerField(
        default=6,
        validators=[MaxValueValidator(23)],
        help_text="Local hour at which the morning job rebuilds the agenda.",
    )
    agenda_date = models.DateField(null=True, blank=True, editable=False)
    # Claimed by the scheduler with a conditional UPDATE, so that several
    # workers never enqueue the same morning refresh twice.
    agenda_scheduled_on = models.DateField(null=True, blank=True, editable=False)
    # The workspace's BG/NBD lapse model, refitted with each morning's agenda:
    # {"r", "alpha", "a", "b", "fitted_on", "customers"} or {"fallback": reason}.
    lapse_model = models.JSONField(default=dict, blank=True, editable=False)
    recovery_confirm_days = models.PositiveSmallIntegerField(
        default=14,
        help_text="After a fix, wait this long for the client to confirm; silence then counts "
        "as yes.",
    )
    recovery_wait_days = models.PositiveSmallIntegerField(
        default=30, help_text="After a recovery is confirmed, no ask for this many days."
    )
    recall_interval_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Routine visit cadence (e.g. 183 for a six-monthly check-up); empty for none.",
    )

    postal_address = models.TextField(
        blank=True, help_text="Shown on client pages and in every automated email."
    )
    logo = models.ImageField(upload_to="logos/", blank=True)
    daily_email_limit = models.PositiveIntegerField(
        default=300, help_text="At most this many emails a day; the rest wait for tomorrow."
    )
    # Opt-in automation: rule name → {"enabled": bool, "days": int}; see outreach.automation.
    automation = models.JSONField(default=dict, blank=True)
    # Inbound webhooks (bounces, complaints, SMS replies) authenticate with
    # this token, kept hashed like every other.
    webhook_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    # The secret that signs (Standard Webhooks) or authenticates (Postmark)
    # those webhooks is derived from SECRET_KEY and this salt, so the
    # database holds no usable secret; a new salt is a new secret.
    webhook_signing_salt = models.CharField(max_length=32, blank=True, editable=False)
    # The country a phone number typed without +country code is read in;
    # numbers are stored as E.164 and shown back in this country's format.
    phone_region = models.CharField(
        max_length=2,
        default="US",
        validators=[validate_phone_region],
        help_text="Phone numbers typed without a country code are read as numbers of this country.",
    )
    brand_colour = models.CharField(
        max_length=7,
        default="#1f6f5c",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour like #1f6f5c.")],
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def today(self, now: dt.datetime | None = None) -> dt.date:
        """The calendar date in the workspace's time zone."""
        return timezone.localtime(now or timezone.now(), self.tzinfo).date()

    def window_for(self, moment_kind: str) -> int:
        return int(
            self.moment_windows.get(moment_kind, DEFAULT_MOMENT_WINDOWS.get(moment_kind, 14))
        )

    def windows(self) -> dict[str, int]:
        return {kind: self.window_for(kind) for kind in DEFAULT_MOMENT_WINDOWS}

    def cadence_for(self, stage: str) -> int:
        return int(self.touch_cadence.get(stage, DEFAULT_TOUCH_CADENCE.get(stage, 0)))


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer (read-only)"


class Capability(models.TextChoices):
    """What a role may do (DESIGN.md "Roles"); views ask for one of these
    through rapport.workspaces.access.requires, never for a role."""

    READ = "read", "See the workspace's records"
    WORK = "work", "Do the daily work: contacts, asks, the agenda"
    CONFIGURE = "configure", "Change settings, scripts, automation and delivery; import"
    EXPORT = "export", "Export a contact's personal data"
    MANAGE_MEMBERS = "manage_members", "Invite and remove members, change roles"
    ERASE = "erase", "Erase a contact"
    AUDIT = "audit", "Read the security log"


GRANTS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(Capability.values),
    Role.ADMIN: frozenset(
        {Capability.READ, Capability.WORK, Capability.CONFIGURE, Capability.EXPORT}
    ),
    Role.MEMBER: frozenset({Capability.READ, Capability.WORK}),
    Role.VIEWER: frozenset({Capability.READ}),
}


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)
    # The morning digest of the day's top agenda items (an opt-in email).
    wants_digest = models.BooleanField(default=False)
    # How many actions this person can do in a day: Today shows that many,
    # grouped by action, and keeps the rest one click away.
    daily_capacity = models.PositiveSmallIntegerField(
        default=25, validators=[MinValueValidator(1), MaxValueValidator(500)]
    )
    # The private calendar feed: a token in the URL (stored hashed), revocable.
    feed_token_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="one_membership_per_user")
        ]
        ordering = ["workspace__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    def can(self, capability: str) -> bool:
        return capability in GRANTS.get(self.role, frozenset())

    @property
    def capabilities(self) -> dict[str, bool]:
        """For templates: {% if can.configure %}…"""
        return {capability: self.can(capability) for capability in Capability.values}


class InvitationQuerySet(models.QuerySet):
    def pending(self, now=None):
        return self.filter(accepted_at=None, expires_at__gt=now or timezone.now())


class Invitation(models.Model):
    INVITATION_DAYS = 14

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.email} → {self.workspace}"

    @classmethod
    def issue(cls, workspace, email, role, invited_by) -> tuple["Invitation", str]:
        """Create an invitation; returns it and the plain token (shown once)."""
        token = secrets.token_urlsafe(24)
        invitation = cls.objects.create(
            workspace=workspace,
            email=email,
            role=role,
            invited_by=invited_by,
            token_hash=hash_token(token),
            expires_at=timezone.now() + dt.timedelta(days=cls.INVITATION_DAYS),
        )
        return invitation, token


class RateBucket(models.Model):
    """A token bucket kept in the database, so a rate limit holds across
    several web processes without a cache server (see workspaces.ratelimit)."""

    key = models.CharField(max_length=200, unique=True)
    tokens = models.FloatField()
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key}: {self.tokens:.1f}"


class AttemptWindow(models.Model):
    """The times of the attempts allowed under one key in the last window
    (sign-in, password reset, sign-up): at most `limit` of them, so the
    limit is exact over any sliding window, not an average refill rate."""

    key = models.CharField(max_length=200, unique=True)
    times = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.key}: {len(self.times)}"


class AuditKind(models.TextChoices):
    LOGIN = "login", "Signed in"
    LOGIN_FAILED = "login_failed", "Sign-in failed"
    LOCKED_OUT = "locked_out", "Sign-in blocked after too many failures"
    LOGOUT = "logout", "Signed out"
    PASSWORD_RESET_REQUESTED = "password_reset_requested", "Password reset requested"
    PASSWORD_RESET_DONE = "password_reset_done", "Password reset"
    PASSWORD_CHANGED = "password_changed", "Password changed"
    SIGNUP = "signup", "Account created"
    THROTTLED = "throttled", "Request refused by a rate limit"
    MEMBER_INVITED = "member_invited", "Member invited"
    INVITATION_REVOKED = "invitation_revoked", "Invitation withdrawn"
    MEMBER_ADDED = "member_added", "Member added"
    MEMBER_REMOVED = "member_removed", "Member removed"
    ROLE_CHANGED = "role_changed", "Role changed"
    EXPORT = "export", "Data exported"
    ERASURE = "erasure", "Contact erased"
    CONSENT_CHANGED = "consent_changed", "Consent changed"
    TOKEN_ROTATED = "token_rotated", "Secret link made or replaced"
    TOKEN_REVOKED = "token_revoked", "Secret link turned off"
    WEBHOOK_REJECTED = "webhook_rejected", "Webhook call rejected"
    SETTINGS_CHANGED = "settings_changed", "Settings changed"
    IMPORT = "import", "Data imported"
    SUPPRESSED = "suppressed", "Address suppressed"
    SENDING_PAUSED = "sending_paused", "Sending paused"
    SENDING_RESUMED = "sending_resumed", "Sending resumed"


class AuditEvent(models.Model):
    """One security event, append-only: database triggers (migration
    0003_audit_append_only) refuse UPDATE and DELETE on both SQLite and
    PostgreSQL, so not even the application can rewrite history.

    Rows hold ids and hashes, never a contact's name or address: an erasure
    leaves nothing personal behind here. The workspace and actor are plain
    ids (no foreign-key constraint, nothing cascades), so deleting a user or a
    workspace never has to touch this table.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=32, choices=AuditKind.choices)
    workspace = models.ForeignKey(
        Workspace,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    # What the event is about, as "model:id" (contact:42, membership:7).
    target = models.CharField(max_length=100, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["workspace", "-at"], name="audit_workspace_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind} {self.target}"
