"""The shared vocabulary: kinds of moments and channels of contact.

Defined once, below every app (this module imports no app), so that the
record (a signal marked on an activity), the text reader, the workspace's
freshness windows and the agenda all speak of the same things.
"""

from django.db import models


class MomentKind(models.TextChoices):
    PRAISE = "praise", "Praise"
    TESTIMONIAL = "testimonial", "Testimonial"
    REFERRAL = "referral", "Referral"
    SAVED_US = "saved_us", "You saved us"
    PARTNER_ASSOCIATION = "partner_association", "Joined an association"
    PROJECT_COMPLETED = "project_completed", "Project completed"
    POINT_OF_SALE = "point_of_sale", "Point of sale"
    PERMISSION_DUE = "permission_due", "Permission due"
    LAPSED = "lapsed", "Lapsed"
    RECALL_DUE = "recall_due", "Routine visit due"
    PROMOTER = "promoter", "Promoter"
    DETRACTOR = "detractor", "Detractor"
    # Answered 7 or 8: satisfied, not yet enthusiastic. A touch, not an ask.
    PASSIVE = "passive", "Passive"
    # Not an occasion to ask: a complaint read in an activity's text. It
    # blocks asks and proposes opening an issue.
    COMPLAINT = "complaint", "Complaint"


# Moments that make a good occasion to ask (the positive ones).
POSITIVE = frozenset(
    {
        MomentKind.PRAISE,
        MomentKind.TESTIMONIAL,
        MomentKind.REFERRAL,
        MomentKind.SAVED_US,
        MomentKind.PARTNER_ASSOCIATION,
        MomentKind.PROJECT_COMPLETED,
        MomentKind.POINT_OF_SALE,
        MomentKind.PROMOTER,
    }
)

# What a user can mark on an activity (a marked signal always counts), and
# what the text reader looks for in its words: the same five, plus complaints.
SIGNAL_KINDS: tuple[str, ...] = (
    MomentKind.PRAISE,
    MomentKind.TESTIMONIAL,
    MomentKind.REFERRAL,
    MomentKind.SAVED_US,
    MomentKind.PARTNER_ASSOCIATION,
)
TEXT_KINDS: tuple[str, ...] = (*SIGNAL_KINDS, MomentKind.COMPLAINT)

# Moments the client chose to make, unprompted: the strongest occasions.
UNPROMPTED = frozenset(SIGNAL_KINDS)


class Channel(models.TextChoices):
    """How the business reaches a contact (an ask, a message, a consent)."""

    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    LINK = "link", "QR code or link"


# Channels that send automated messages: consent and suppression apply.
MESSAGE_CHANNELS = (Channel.EMAIL, Channel.SMS)
