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
