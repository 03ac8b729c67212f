"""The kinds of reading a text can carry: five moments that justify an ask, and complaints."""

from __future__ import annotations

PRAISE = "praise"
TESTIMONIAL = "testimonial"
REFERRAL = "referral"
SAVED_US = "saved_us"
PARTNER_ASSOCIATION = "partner_association"
COMPLAINT = "complaint"

# Kinds that justify an ask; a complaint is read from the same text but blocks asks instead.
MOMENT_KINDS: tuple[str, ...] = (PRAISE, TESTIMONIAL, REFERRAL, SAVED_US, PARTNER_ASSOCIATION)
TEXT_KINDS: tuple[str, ...] = (*MOMENT_KINDS, COMPLAINT)
