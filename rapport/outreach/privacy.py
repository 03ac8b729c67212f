"""A contact's data on request: everything exported, or everything erased.

Erasure deletes the contact and every fact about them; what remains is a
hashed suppression entry per address, so that an import or a referral that
brings the same address back can never be messaged automatically.
"""

import datetime as dt
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.forms.models import model_to_dict

from rapport.clients.models import Contact
from rapport.outreach.models import OutboundMessage, Suppression, address_hash

RELATED = [
    "purchases",
    "activities",
    "deals",
    "issues",
    "permissions",
    "consents",
    "stage_changes",
    "asks",
    "answers",
    "testimonials",
    "references",
    "referrals_made",
    "referrals_received",
    "referrals_given_to",
    "messages",
]


def export(contact: Contact) -> str:
    """Everything Rapport holds about a contact, as JSON."""
    data = {
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "workspace": contact.workspace.name,
        "contact": model_to_dict(contact, exclude=["tags", "workspace"]),
        "tags": [tag.name for tag in contact.tags.all()],
    }
    for name in RELATED:
        data[name] = [
            model_to_dict(
                row,
                exclude=[
                    "workspace",
                    "photo",
                    "tags",
                    "token_hash",
                    "token_salt",
                    "unsubscribe_salt",
                    "unsubscribe_token_hash",
                ],
            )
            for row in getattr(contact, name).all()
        ]
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


def erase(contact: Contact) -> None:
    workspace = contact.workspace
    addresses = [("email", contact.email), ("sms", contact.phone)]
    with transaction.atomic():
        for channel, address in addresses:
            if not address:
                continue
            digest = address_hash(address)
            entry, created = Suppression.objects.get_or_create(
                workspace=workspace,
                channel=channel,
                address_hash=digest,
                defaults={"reason": Suppression.Reason.ERASED},
            )
            if not created:
                entry.address = ""  # keep only the hash
                entry.save(update_fields=["address"])
            OutboundMessage.objects.filter(workspace=workspace, to_address__iexact=address).delete()
        for testimonial in contact.testimonials.all():
            if testimonial.photo:
                testimonial.photo.delete(save=False)
        contact.delete()
