"""What clients give: referrals and testimonials; and what the business gives
back to them (referrals given to a client — "give to get")."""

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from rapport.clients.models import Contact
from rapport.workspaces.models import WorkspaceOwned, WorkspaceQuerySet


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
        CODE = "code", "Referral code"
        IMPORTED = "imported", "Imported"
        UNKNOWN = "unknown", "Not recorded"

    class LostReason(models.TextChoices):
        NO_RESPONSE = "no_response", "Never answered"
        NOT_A_FIT = "not_a_fit", "Not a fit for us"
        CHOSE_ANOTHER = "chose_another", "Chose someone else"
        PRICE = "price", "Price"
        TIMING = "timing", "Not the right time"
        DECLINED_INTRO = "declined_intro", "Declined the introduction"
        DUPLICATE = "duplicate", "Already a client or a duplicate"
        OTHER = "other", "Other"

    OPEN_STATUSES = [Status.NEW, Status.CONTACTED, Status.MEETING]

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
    # The pipeline (issue 7): why it was lost, when it closed, the last day
    # anyone worked on it (a referral untouched for a week surfaces on Today),
    # and what winning it brought — credited to the referrer.
    # Database defaults too, so bulk writers that name their columns need not know them.
    lost_reason = models.CharField(
        max_length=16, choices=LostReason.choices, blank=True, default="", db_default=""
    )
    lost_note = models.CharField(max_length=300, blank=True, default="", db_default="")
    closed_on = models.DateField(null=True, blank=True)
    touched_on = models.DateField(null=True, blank=True)
    won_deal = models.ForeignKey(
        "clients.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    won_purchase = models.ForeignKey(
        "clients.Purchase", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    value = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # The personal link or code it came through, when it did.
    code = models.ForeignKey(
        "advocacy.ReferralCode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
    )
    # Names given together are thanked together: the one thank-you covering it.
    thank_you = models.ForeignKey(
        "advocacy.ThankYou",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["referrer", "referred"], name="referral_pair_unique")
        ]
        indexes = [
            models.Index(fields=["workspace", "date"]),
            models.Index(fields=["workspace", "status", "date"]),
        ]
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.referrer} → {self.referred}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class MaterialConnection(models.TextChoices):
    """What ties the giver of a testimonial to the business (16 CFR 465.5,
    16 CFR 255.5): anything but none is disclosed beside the words."""

    NONE = "none", "None"
    REWARDED = "rewarded", "Received a reward, gift or discount"
    EMPLOYEE = "employee", "Works for us (officer, employee or agent)"
    FAMILY = "family", "Family or friend of someone here"
    OTHER = "other", "Another connection"


class TestimonialQuerySet(WorkspaceQuerySet):
    def published(self):
        """What may be shown anywhere: approved, with consent to publish, from
        a contact who was not erased. One definition for wall, feed and widget."""
        return self.filter(
            status=Testimonial.Status.APPROVED, consent_publish=True, contact__erased_at=None
        )


class Testimonial(WorkspaceOwned):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for moderation"
        # Staff suggested a change of words; only the client's yes on their
        # page publishes it (advocacy.testimonials.answer_edit).
        EDIT_SUGGESTED = "edit_suggested", "Edit waiting for the client"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Consent withdrawn"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="testimonials")
    received_on = models.DateField()
    text = models.TextField()
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    unsolicited = models.BooleanField(default=False)
    consent_publish = models.BooleanField(default=False)
    consent_reference = models.BooleanField(default=False)
    display_name = models.CharField(max_length=120, blank=True)
    photo = models.ImageField(upload_to="testimonials/%Y/%m/", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # -- moderation and publishing (advocacy.testimonials) --
    # A photo is shown only with its own consent: agreeing to publish the
    # words is not agreeing to publish a face.
    consent_photo = models.BooleanField(default=False)
    # The words as published when the client approved an edit; `text` keeps
    # what they wrote, always.
    edited_text = models.TextField(blank=True)
    suggested_text = models.TextField(blank=True)
    edit_declined = models.BooleanField(default=False, editable=False)
    featured = models.BooleanField(default=False)
    tags = models.ManyToManyField("TestimonialTag", blank=True, related_name="testimonials")
    # 16 CFR 465.5 and the Endorsement Guides (16 CFR 255.5): a connection
    # that could affect the weight readers give the words is disclosed next
    # to them (see advocacy.testimonials.disclosure).
    material_connection = models.CharField(
        max_length=10, choices=MaterialConnection.choices, default=MaterialConnection.NONE
    )
    connection_note = models.CharField(
        max_length=160,
        blank=True,
        help_text="Shown as the disclosure when the connection is other.",
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = TestimonialQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "received_on"]),
            models.Index(fields=["workspace", "status"]),
        ]
        ordering = ["-received_on", "-id"]

    def __str__(self) -> str:
        return f"{self.contact}: {self.text[:40]}"

    @property
    def public_text(self) -> str:
        return self.edited_text or self.text

    @property
    def published(self) -> bool:
        return self.status == self.Status.APPROVED and self.consent_publish

    @property
    def public_name(self) -> str | None:
        """The name the client chose to be shown with, or None (anonymous)."""
        name = self.display_name.strip()
        return None if not name or name.lower() == "anonymous" else name


class GiveOutcome(models.TextChoices):
    WAITING = "waiting", "Waiting to hear"
    BUSINESS = "business", "Brought them business"
    NOTHING = "nothing", "Came to nothing"


class ReferralGiven(WorkspaceOwned):
    """A referral the business gave *to* a client: an introduction, a lead."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="referrals_given_to"
    )
    given_on = models.DateField()
    description = models.CharField(max_length=200, help_text="What for: the need it answered.")
    # Give to get (issue 7): whom we introduced them to, and what came of it.
    introduced = models.CharField(max_length=200, blank=True, help_text="Whom we sent their way.")
    outcome = models.CharField(max_length=10, choices=GiveOutcome.choices, default="waiting")
    outcome_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-given_on", "-id"]

    def __str__(self) -> str:
        return f"to {self.contact}: {self.description}"


# == Testimonials that sell, review pages, references (issue 8) ==========
# Kept in one block: the referrals work appends its own models above/below.


class PublicLinkQuerySet(WorkspaceQuerySet):
    def by_token(self, token: str):
        """The row a public link's token opens, or None; expired ones too, so
        the page can say so rather than pretend the link never existed."""
        from rapport.outreach.tokens import hash_token

        return self.select_related("workspace").filter(token_hash=hash_token(token)).first()


class PublicLink(WorkspaceOwned):
    """A page opened by an unguessable token: only a salt and the token's hash
    are stored (see outreach/tokens.py), and the link expires."""

    PURPOSE = "link"
    token_salt = models.CharField(max_length=32, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    expires_at = models.DateTimeField()

    objects = PublicLinkQuerySet.as_manager()

    class Meta:
        abstract = True

    def open_link(self, days: int, now=None) -> str:
        """Give the row its link (saving it) and return the token."""
        from rapport.outreach import tokens

        self.token_salt = tokens.new_salt()
        self.expires_at = (now or timezone.now()) + dt.timedelta(days=days)
        self.save()
        token = self.token()
        type(self).objects.filter(pk=self.pk).update(token_hash=tokens.hash_token(token))
        self.token_hash = tokens.hash_token(token)
        return token

    def token(self) -> str:
        from rapport.outreach import tokens

        return tokens.derive(self.PURPOSE, self.pk, self.token_salt)

    def expired(self, now=None) -> bool:
        return self.expires_at <= (now or timezone.now())


class TestimonialTag(WorkspaceOwned):
    name = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="testimonial_tag_unique")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TestimonialLink(PublicLink):
    """The client's own page for a testimonial: approve a suggested edit,
    change or withdraw consent. Each email carries a link of its own."""

    PURPOSE = "testimonial"
    DAYS = 365  # a withdrawal link must still work long after the thank-you

    testimonial = models.ForeignKey(Testimonial, on_delete=models.CASCADE, related_name="links")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"link to {self.testimonial_id}"


class ReviewSite(WorkspaceOwned):
    """A public page where clients can review the business. The same list is
    offered to everyone asked, whatever they said (no review gating)."""

    class Platform(models.TextChoices):
        GOOGLE = "google", "Google Business Profile"
        YELP = "yelp", "Yelp"
        AVVO = "avvo", "Avvo"
        HEALTHGRADES = "healthgrades", "Healthgrades"
        TRUSTPILOT = "trustpilot", "Trustpilot"
        G2 = "g2", "G2"
        OTHER = "other", "Other site"

    platform = models.CharField(max_length=14, choices=Platform.choices)
    url = models.URLField(max_length=500)
    label = models.CharField(max_length=80, blank=True, help_text="Shown on the button.")
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.label or self.get_platform_display()


class ReviewClick(WorkspaceOwned):
    """One click through to a review site: an insert, never a read-modify-write."""

    class Placement(models.TextChoices):
        WALL = "wall", "Testimonial wall"
        THANKS = "thanks", "Thank-you page"
        ANSWERS = "answers", "After the questionnaire"
        REQUEST = "request", "Review request"
        EMAIL = "email", "Thank-you email"
        OTHER = "other", "Elsewhere"

    site = models.ForeignKey(ReviewSite, on_delete=models.CASCADE, related_name="clicks")
    placement = models.CharField(max_length=8, choices=Placement.choices)
    ask = models.ForeignKey(
        "outreach.Ask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "at"])]

    def __str__(self) -> str:
        return f"{self.site} from {self.placement}"


class Reference(WorkspaceOwned):
    """A client who agreed to talk to prospects. Prospects see the industry,
    the need and a short description, never contact details."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="references")
    industry = models.CharField(max_length=80, blank=True)
    need = models.CharField(max_length=120, blank=True, help_text="What they came to us for.")
    blurb = models.CharField(
        max_length=200,
        blank=True,
        help_text="Shown to prospects, e.g. 'owner of a 12-person studio'.",
    )
    monthly_limit = models.PositiveSmallIntegerField(
        default=2, help_text="At most this many requests a calendar month."
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "contact"], name="one_reference_per_contact"
            )
        ]
        ordering = ["industry", "id"]

    def __str__(self) -> str:
        return f"reference: {self.contact}"


class ReferenceShare(PublicLink):
    """A link to the references page, given to one prospect or posted for
    many; revocable, and it expires."""

    PURPOSE = "refshare"
    DAYS = 60

    label = models.CharField(max_length=120, help_text="Who it is for, e.g. 'Harbor Logistics'.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.label


class ReferenceRequest(PublicLink):
    """A prospect asks to speak to a reference. The reference answers on
    their own page; only a yes shares contact details, both ways."""

    PURPOSE = "refrequest"
    DAYS = 21

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the reference"
        ACCEPTED = "accepted", "Accepted: details shared"
        DECLINED = "declined", "Declined"

    reference = models.ForeignKey(Reference, on_delete=models.CASCADE, related_name="requests")
    share = models.ForeignKey(
        ReferenceShare, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    prospect_name = models.CharField(max_length=120)
    prospect_email = models.EmailField()
    prospect_phone = models.CharField(max_length=40, blank=True)
    prospect_company = models.CharField(max_length=120, blank=True)
    message = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    share_email = models.BooleanField(default=False)
    share_phone = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["reference", "created_at"])]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prospect_name} → {self.reference}"


# == Referrals carried to won (issue 7) =========================================
# The pipeline's history, introductions, links and codes, rewards and the
# profession profiles that limit them, thank-you tasks, telling the referrer,
# and merging a name that turned out to be someone we knew.


class ReferralEvent(WorkspaceOwned):
    """One move of a referral on the pipeline: who moved it, from where, how."""

    class Via(models.TextChoices):
        BOARD = "board", "The board"
        CONTACT = "contact", "The contact page"
        IMPORT = "import", "An import"
        AUTO = "auto", "Became a client"
        INTRO = "intro", "The introduction"
        API = "api", "The API"

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=10, choices=Referral.Status.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=Referral.Status.choices)
    on = models.DateField()
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.BOARD)
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.referral}: {self.from_status or '∅'} → {self.to_status}"


class ReferralProgram(WorkspaceOwned):
    """A workspace's referral settings: its landing page and its profession
    profile. Absent until first saved; reads use an unsaved default."""

    class Profile(models.TextChoices):
        GENERAL = "general", "General business"
        HEALTHCARE = "healthcare", "Healthcare (patients)"
        LEGAL = "legal", "Legal practice"
        FINANCIAL = "financial", "Financial services"

    profile = models.CharField(max_length=12, choices=Profile.choices, default=Profile.GENERAL)
    headline = models.CharField(
        max_length=120, blank=True, help_text="The landing page's title, e.g. “Welcome, friend”."
    )
    pitch = models.TextField(
        blank=True, max_length=2000, help_text="A few sentences about you, for the landing page."
    )
    currency = models.CharField(max_length=3, default="USD", help_text="ISO code, e.g. GBP.")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="one_referral_program")]

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.profile}"

    @classmethod
    def for_workspace(cls, workspace) -> "ReferralProgram":
        # A read never writes: an unsaved default until the owner saves one.
        return cls.objects.filter(workspace=workspace).first() or cls(workspace=workspace)


class ReferralCodeQuerySet(WorkspaceQuerySet):
    def live(self):
        return self.filter(revoked_at=None)


class ReferralCode(WorkspaceOwned):
    """A contact's personal referral code: on `/r/<code>`, on a printed card,
    or typed at the desk — the same attribution every way.

    Stored as it is printed, not hashed: a code opens a public page, grants
    nothing, and must outlive a rotated SECRET_KEY (cards stay in wallets)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="referral_codes")
    code = models.CharField(max_length=16, unique=True)
    clicks = models.PositiveIntegerField(default=0, editable=False)
    last_click_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ReferralCodeQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=models.Q(revoked_at=None),
                name="one_live_code_per_contact",
            )
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.code

    @property
    def display(self) -> str:
        """Grouped in fours, the way it is read aloud and printed."""
        return "-".join(self.code[i : i + 4] for i in range(0, len(self.code), 4))


class Introduction(WorkspaceOwned):
    """A double-opt-in introduction. The referrer sends a short note naming
    themselves, with a link to a page where their friend chooses to hear from
    the business (or not). Until they accept, the business holds their name
    only: any email or phone the referrer gave is sealed here (encrypted,
    shown on no staff page, export or API) and is wiped on a decline."""

    class State(models.TextChoices):
        DRAFTED = "drafted", "Drafted"
        SENT = "sent", "Sent"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    TOKEN_DAYS = 30

    referral = models.OneToOneField(Referral, on_delete=models.CASCADE, related_name="introduction")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFTED)
    sealed = models.TextField(blank=True, editable=False)
    token_salt = models.CharField(max_length=32, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_expires_at = models.DateTimeField()
    sent_on = models.DateField(null=True, blank=True)
    sent_via = models.CharField(max_length=40, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"introduction for {self.referral}"

    @property
    def pending(self) -> bool:
        return self.state in (self.State.DRAFTED, self.State.SENT)

    @property
    def expired(self) -> bool:
        return self.token_expires_at <= timezone.now()


class RewardRule(WorkspaceOwned):
    """What a referral earns, for whom and when. Never conditioned on a rating
    or a review (16 CFR 465.4): a rule has no field that could say so, and its
    wording is refused when it tries (see rapport.advocacy.profiles)."""

    class Recipient(models.TextChoices):
        REFERRER = "referrer", "The referrer"
        FRIEND = "friend", "The friend"
        BOTH = "both", "Both"

    class Trigger(models.TextChoices):
        ARRIVAL = "arrival", "When the friend arrives"
        WON = "won", "When the friend becomes a client"

    class Kind(models.TextChoices):
        GIFT = "gift", "A gift"
        AMOUNT = "amount", "An amount off or credit"
        PERCENTAGE = "percentage", "A percentage off"

    class Period(models.TextChoices):
        MONTH = "month", "per calendar month"
        QUARTER = "quarter", "per quarter"
        YEAR = "year", "per calendar year"
        EVER = "ever", "in all"

    name = models.CharField(max_length=80)
    wording = models.CharField(
        max_length=160, help_text="What the client reads, e.g. “10% off your next visit”."
    )
    recipient = models.CharField(max_length=8, choices=Recipient.choices)
    trigger = models.CharField(max_length=8, choices=Trigger.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="The amount, or the gift's value (a profile may cap it).",
    )
    percent = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    valid_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The code expires this many days after it is issued."
    )
    cap_count = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="At most this many rewards per referrer…"
    )
    cap_period = models.CharField(max_length=8, choices=Period.choices, default=Period.YEAR)
    active = models.BooleanField(default=True)
    paused_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-active", "name", "id"]

    def __str__(self) -> str:
        return self.name

    def rewards(self, role: str) -> bool:
        return self.recipient in (role, self.Recipient.BOTH)


class RewardQuerySet(WorkspaceQuerySet):
    def unredeemed(self, on):
        return self.filter(redeemed_at=None).filter(
            models.Q(expires_on=None) | models.Q(expires_on__gte=on)
        )


class Reward(WorkspaceOwned):
    """A reward issued: a code shown at once and emailed, redeemed once at the
    desk (a conditional UPDATE: concurrent redemptions make one)."""

    class Role(models.TextChoices):
        REFERRER = "referrer", "For referring"
        FRIEND = "friend", "For being referred"

    rule = models.ForeignKey(
        RewardRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="issued"
    )
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="rewards")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="rewards")
    role = models.CharField(max_length=8, choices=Role.choices)
    code = models.CharField(max_length=16, unique=True)
    # What the rule said when it was issued: editing a rule changes no code.
    wording = models.CharField(max_length=160)
    kind = models.CharField(max_length=10, choices=RewardRule.Kind.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    percent = models.PositiveSmallIntegerField(null=True, blank=True)
    issued_on = models.DateField()
    expires_on = models.DateField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = RewardQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "referral", "role"], name="one_reward_per_rule_referral_role"
            )
        ]
        indexes = [models.Index(fields=["workspace", "contact"])]
        ordering = ["-issued_on", "-id"]

    def __str__(self) -> str:
        return f"{self.code}: {self.wording}"

    @property
    def display(self) -> str:
        return "-".join(self.code[i : i + 4] for i in range(0, len(self.code), 4))

    def expired_on(self, on) -> bool:
        return self.expires_on is not None and self.expires_on < on


class ThankYouQuerySet(WorkspaceQuerySet):
    def done(self):
        # A card is done when marked sent; an email when the outbox sent it.
        return self.filter(models.Q(done_at__isnull=False) | models.Q(email__status="sent"))

    def open(self):
        return self.exclude(pk__in=self.done().values("pk"))


class ThankYou(WorkspaceOwned):
    """A thank-you task: a handwritten card or an email, for a referral (names
    given together share one) or a testimonial."""

    class Kind(models.TextChoices):
        CARD = "card", "Handwritten card"
        EMAIL = "email", "Thank-you email"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="thank_yous")
    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.CARD)
    # The agenda moment it answers ("referral:12", "testimonial:4"): the
    # first one; a referral thank-you covers every referral pointing at it.
    source_key = models.CharField(max_length=40)
    what_for = models.CharField(max_length=300)
    message = models.TextField(blank=True, help_text="A suggested message, to edit.")
    testimonial = models.ForeignKey(
        Testimonial, null=True, blank=True, on_delete=models.CASCADE, related_name="thank_yous"
    )
    created_on = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activity = models.ForeignKey(
        "clients.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.ForeignKey(
        "outreach.OutboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ThankYouQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["workspace", "done_at", "created_on"])]
        ordering = ["created_on", "id"]

    def __str__(self) -> str:
        return f"thank {self.contact} for {self.what_for}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None or (self.email_id and self.email.status == "sent")


class ReferrerUpdate(WorkspaceOwned):
    """Telling the referrer their friend became a client: an email through the
    outbox, or a call to make. Once per referral."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        CALL = "call", "Call"

    referral = models.OneToOneField(Referral, on_delete=models.CASCADE, related_name="update")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    created_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    email = models.ForeignKey(
        "outreach.OutboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"tell {self.referral.referrer} ({self.channel})"


class MergeSuggestion(WorkspaceOwned):
    """Two contacts that look like one person, offered for merge."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MERGED = "merged", "Merged"
        DISMISSED = "dismissed", "Not the same person"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    candidate = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    reasons = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "candidate"], name="one_suggestion_per_pair")
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.contact_id} ≈ {self.candidate_id}"


class ContactMerge(WorkspaceOwned):
    """The record of a merge: exactly what moved, so that it can be undone."""

    UNDO_DAYS = 30

    kept = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    merged_pk = models.BigIntegerField()
    merged_name = models.CharField(max_length=201)
    merged_external_id = models.CharField(max_length=64)
    # The merged contact as it was (Django's serializer), restored on undo.
    snapshot = models.JSONField()
    # {field: [before, after]} on the kept contact.
    field_changes = models.JSONField(default=dict)
    # {"app_label.model.field": [pk, ...]}: rows re-pointed to the kept contact.
    moved = models.JSONField(default=dict)
    # Rows that would have broken a uniqueness rule (the same fact twice):
    # removed, serialised here, put back on undo.
    dropped = models.JSONField(default=list)
    tags_added = models.JSONField(default=list)
    merged_at = models.DateTimeField(default=timezone.now)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-merged_at", "-id"]

    def __str__(self) -> str:
        return f"{self.merged_name} merged into {self.kept_id}"

    def undo_until(self):
        import datetime as dt

        return self.merged_at + dt.timedelta(days=self.UNDO_DAYS)

    def can_undo(self, now=None) -> bool:
        return self.undone_at is None and (now or timezone.now()) < self.undo_until()
