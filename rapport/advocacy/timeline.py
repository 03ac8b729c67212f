"""Referrals, testimonials and referrals we gave, on a contact's timeline and
on the ladder (registered with clients.hooks)."""

from django.db.models import Count, Q

from rapport.advocacy.models import Referral, ReferralGiven, Testimonial
from rapport.clients.timeline import Entry


def advocacy(contact) -> list[Entry]:
    entries = []
    for r in Referral.objects.filter(referrer=contact).select_related("referred"):
        entries.append(
            Entry(
                r.date,
                "referral",
                f"Referred {r.referred.name}",
                r.note,
                (r.get_status_display(),) + (("unsolicited",) if r.unsolicited else ()),
                r.pk,
            )
        )
    for r in Referral.objects.filter(referred=contact).select_related("referrer"):
        entries.append(
            Entry(r.date, "referral", f"Referred to us by {r.referrer.name}", r.note, order=r.pk)
        )
    for t in Testimonial.objects.filter(contact=contact):
        stars = f" ({t.rating}/5)" if t.rating else ""
        entries.append(
            Entry(
                t.received_on,
                "testimonial",
                f"Testimonial{stars}",
                t.text,
                (t.get_status_display(),),
                t.pk,
            )
        )
    for g in ReferralGiven.objects.filter(contact=contact):
        text = f"{g.description} — {g.introduced}" if g.introduced else g.description
        entries.append(
            Entry(
                g.given_on,
                "given",
                "We referred someone to them",
                text,
                (g.get_outcome_display(),),
                g.pk,
            )
        )
    return entries


def ladder_evidence(workspace, contact_ids: list[int]) -> dict[str, dict[int, int]]:
    """What the ladder counts from advocacy: referrals made (and how many
    unsolicited) and testimonials, per contact, in two grouped queries."""
    referrals = list(
        Referral.objects.filter(workspace=workspace, referrer_id__in=contact_ids)
        .order_by()
        .values("referrer_id")
        .annotate(n=Count("id"), unsolicited=Count("id", filter=Q(unsolicited=True)))
    )
    testimonials = (
        Testimonial.objects.filter(workspace=workspace, contact_id__in=contact_ids)
        .order_by()
        .values("contact_id")
        .annotate(n=Count("id"))
    )
    return {
        "referrals": {r["referrer_id"]: r["n"] for r in referrals},
        "unsolicited": {r["referrer_id"]: r["unsolicited"] for r in referrals},
        "testimonials": {t["contact_id"]: t["n"] for t in testimonials},
    }
