"""The kinds of reading a text can carry: five moments that justify an ask, and
complaints — the shared vocabulary's (rapport.kinds), as plain strings."""

from __future__ import annotations

from rapport.kinds import SIGNAL_KINDS, MomentKind

PRAISE = MomentKind.PRAISE.value
TESTIMONIAL = MomentKind.TESTIMONIAL.value
REFERRAL = MomentKind.REFERRAL.value
SAVED_US = MomentKind.SAVED_US.value
PARTNER_ASSOCIATION = MomentKind.PARTNER_ASSOCIATION.value
COMPLAINT = MomentKind.COMPLAINT.value

# Kinds that justify an ask; a complaint is read from the same text but blocks asks instead.
MOMENT_KINDS: tuple[str, ...] = tuple(str(kind) for kind in SIGNAL_KINDS)
TEXT_KINDS: tuple[str, ...] = (*MOMENT_KINDS, COMPLAINT)
