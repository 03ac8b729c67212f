"""Referrals, testimonials and referrals given: one path for every entry point."""

import datetime as dt

from rapport.advocacy.models import Referral, ReferralGiven, Testimonial
from rapport.clients.actions import changing, create_contact, facts_changed, promote
from rapport.clients.models import Contact, Stage


def record_referral(
    referrer: Contact,
    referred: Contact,
    *,
    on: dt.date,
    how: str = Referral.How.UNKNOWN,
    unsolicited: bool = False,
    status: str = Referral.Status.NEW,
    note: str = "",
    may_mention: bool = False,
    wants_intro: bool = False,
) -> Referral:
    """The referrer is promoted (advocate, then raving fan) and gets a thank-you
    and an ask for the other names on the agenda."""
    with changing():
        referral, _ = Referral.objects.get_or_create(
            workspace_id=referrer.workspace_id,
            referrer=referrer,
            referred=referred,
            defaults={
                "date": on,
                "how": how,
                "unsolicited": unsolicited,
                "status": status,
                "note": note,
                "may_mention": may_mention,
                "wants_intro": wants_intro,
            },
        )
        if referred.referred_by_id is None:
            referred.referred_by = referrer
            referred.save(update_fields=["referred_by", "updated_at"])
        promote(referrer.workspace, [referrer.pk])
        facts_changed(referrer.workspace, [referrer.pk, referred.pk])
    return referral


def referral_source(referrer: Contact) -> str:
    # Within the column: a long name must not make the whole answer fail.
    limit = Contact._meta.get_field("source").max_length
    return f"referred by {referrer.name}"[:limit]


def receive_names(
    referrer: Contact, people: list[dict], *, on: dt.date, how=Referral.How.NAMES_GIVEN
):
    """Names given by a client become prospects referred by them."""
    created = []
    with changing():
        for person in people:
            prospect = create_contact(
                referrer.workspace,
                first_name=person["first_name"],
                last_name=person.get("last_name", ""),
                email=person.get("email", ""),
                phone=person.get("phone", ""),
                source=referral_source(referrer),
                referred_by=referrer,
                notes=person.get("note", ""),
                stage=Stage.PROSPECT,
                owner=referrer.owner,
            )
            record_referral(
                referrer,
                prospect,
                on=on,
                how=how,
                note=person.get("note", ""),
                may_mention=person.get("may_mention", False),
                wants_intro=person.get("wants_intro", False),
            )
            created.append(prospect)
    return created


def record_testimonial(contact: Contact, text: str, *, on: dt.date, **fields) -> Testimonial:
    with changing():
        testimonial = Testimonial.objects.create(
            workspace_id=contact.workspace_id, contact=contact, text=text, received_on=on, **fields
        )
        promote(contact.workspace, [contact.pk])
        facts_changed(contact.workspace, [contact.pk])
    return testimonial


def record_referral_given(contact: Contact, description: str, *, on: dt.date, by=None):
    """Give to get: a referral the business gave the client raises readiness."""
    with changing():
        given = ReferralGiven.objects.create(
            workspace_id=contact.workspace_id,
            contact=contact,
            description=description,
            given_on=on,
            created_by=by,
        )
        facts_changed(contact.workspace, [contact.pk])
    return given
