"""A contact's data on request: everything exported, or everything erased.

What Rapport holds about a person is in two places: the rows that belong to
them (their record and every row pointing at it: purchases, activities,
asks, answers, testimonials and photos, messages and the team's notices
about them, agenda items…), found by walking the contact's relations; and
mentions of them in other rows — "referred by Ann Jones" in the source of
everyone they referred, their name in a colleague's notes or in a morning
digest — found by walking every text field of every table of the workspace
for their name, email address and phone number. Both walks are generic, so
a table added later is covered without anyone remembering to add it here.

Erasure deletes the first and blanks the person out of the second; what
remains is a hashed suppression entry per address, so that an import or a
referral that brings the same address back can never be messaged
automatically.
"""

import base64
import datetime as dt
import json
import re
from dataclasses import dataclass

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.functions import Cast

from rapport.clients.actions import changing, facts_changed
from rapport.clients.models import Contact
from rapport.lib import phones
from rapport.outreach.models import OutboundMessage, Suppression, workspace_address_hash

ERASED = "[erased]"
# Never exported: secrets and what only serves to check them.
SECRET_FIELD = re.compile(r"(^|_)(token|salt|hash)(_|$)|^unsubscribe_")
# Another contact's own identity is theirs, even when it is spelled like the
# erased person's (two people called Ann Jones): only free text is blanked.
IDENTITY_FIELDS = {
    ("clients", "contact"): {"first_name", "last_name", "email", "phone", "external_id"}
}
# A one-word name shorter than this ("Al") is too common a word to blank out
# of other people's text; the full name, email and number still are.
MIN_LONE_NAME = 5


@dataclass(frozen=True)
class Mention:
    model: type[models.Model]
    pk: int
    field: str
    text: str


def markers(contact: Contact) -> list[str]:
    """The strings that identify the person in free text."""
    found = []
    name = contact.name.strip()
    if name and (" " in name or len(name) >= MIN_LONE_NAME):
        found.append(name)
    if contact.email:
        found.append(contact.email.strip())
    if contact.phone:
        region = contact.workspace.phone_region
        found += [contact.phone, phones.display(contact.phone, region)]
        try:
            number = phones.parse(contact.phone, region)
            found.append(
                phones.phonenumbers.format_number(number, phones.PhoneNumberFormat.INTERNATIONAL)
            )
        except phones.InvalidPhone:
            pass
    return list(dict.fromkeys(m for m in found if m))


def text_fields() -> list[tuple[type[models.Model], models.Field]]:
    """Every free-text field of every table that belongs to a workspace:
    char, text and JSON fields, less choices (states hold no person)."""
    found = []
    for model in apps.get_models():
        names = {f.name for f in model._meta.concrete_fields}
        # The workspaces app holds the business and its staff, not its clients.
        if "workspace" not in names or model._meta.app_label == "workspaces":
            continue
        skip = IDENTITY_FIELDS.get((model._meta.app_label, model._meta.model_name), set())
        for field in model._meta.concrete_fields:
            if field.name in skip or field.choices or field.primary_key:
                continue
            if SECRET_FIELD.search(field.name):
                continue  # hashes and salts: no text of anyone's
            if isinstance(field, models.CharField | models.TextField | models.JSONField):
                found.append((model, field))
    return found


def _needles(marker: str) -> list[str]:
    # JSON is stored with non-ASCII escaped ("Zo\u00eb"): look for that too.
    escaped = json.dumps(marker)[1:-1]
    return list(dict.fromkeys([marker, escaped]))


def mentions(workspace, contact: Contact, found_markers: list[str] | None = None) -> list[Mention]:
    """Rows of other records of the workspace whose text names the person."""
    found_markers = found_markers if found_markers is not None else markers(contact)
    if not found_markers:
        return []
    own = {(OutboundMessage, pk) for pk in contact.messages.values_list("pk", flat=True)}
    results = []
    for model, field in text_fields():
        queryset = model._default_manager.filter(workspace=workspace)
        column = field.name
        if isinstance(field, models.JSONField):
            queryset = queryset.annotate(_as_text=Cast(field.name, models.TextField()))
            column = "_as_text"
        query = models.Q()
        for marker in found_markers:
            for needle in _needles(marker):
                query |= models.Q(**{f"{column}__icontains": needle})
        for pk, value in queryset.filter(query).values_list("pk", field.name):
            if model is Contact and pk == contact.pk:
                continue
            if (model, pk) in own:
                continue
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            results.append(Mention(model, pk, field.name, text))
    return results


# -- export -------------------------------------------------------------------


def _value(row, field):
    value = field.value_from_object(row)
    if isinstance(field, models.FileField):
        if not value:
            return None
        try:
            with value.open("rb") as handle:
                data = base64.b64encode(handle.read()).decode()
        except (FileNotFoundError, OSError):
            return {"name": value.name, "missing": True}
        return {"name": value.name, "data": f"data:image/jpeg;base64,{data}"}
    return value


def _row(row) -> dict:
    return {
        field.name: _value(row, field)
        for field in row._meta.concrete_fields
        if field.name != "workspace" and not SECRET_FIELD.search(field.name)
    }


def _own_rows(contact: Contact) -> dict[str, list[dict]]:
    """Every row pointing at the contact, by its relation's name."""
    data = {}
    for relation in Contact._meta.related_objects:
        if relation.many_to_many or relation.related_model is Contact:
            continue  # tags are listed by name; people they referred are theirs
        name = relation.get_accessor_name()
        rows = relation.related_model._default_manager.filter(**{relation.field.name: contact})
        data[name] = [_row(row) for row in rows.order_by("pk")]
    return data


def export(contact: Contact) -> str:
    """Everything Rapport holds about a contact, as JSON: their record, every
    row that points at it (photos included, as data), the suppression entries
    of their addresses, and every mention of them elsewhere."""
    workspace = contact.workspace
    data = {
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
        "workspace": workspace.name,
        "contact": _row(contact),
        "tags": [tag.name for tag in contact.tags.all()],
        **_own_rows(contact),
    }
    data["messages_to_their_address"] = [
        _row(message)
        for message in OutboundMessage.objects.filter(
            workspace=workspace, contact=None, to_address__in=_addresses(contact)
        ).order_by("pk")
    ]
    data["suppressions"] = [
        {"channel": s.channel, "address": s.address, "reason": s.reason, "since": s.created_at}
        for s in Suppression.objects.filter(
            workspace=workspace, address_hash__in=_hashes(contact)
        ).order_by("pk")
    ]
    data["mentions"] = [
        {"table": m.model._meta.label_lower, "id": m.pk, "field": m.field, "text": m.text}
        for m in mentions(workspace, contact)
    ]
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


def _addresses(contact: Contact) -> list[str]:
    found = []
    if contact.email:
        found += [contact.email, contact.email.lower()]
    if contact.phone:
        found.append(contact.phone)
    return found


def _hashes(contact: Contact) -> list[str]:
    workspace = contact.workspace
    found = []
    if contact.email:
        found.append(workspace_address_hash(workspace, "email", contact.email))
    if contact.phone:
        found.append(workspace_address_hash(workspace, "sms", contact.phone))
    return found


# -- erasure ------------------------------------------------------------------


def _blank(value, patterns: list[re.Pattern]):
    if isinstance(value, str):
        for pattern in patterns:
            value = pattern.sub(ERASED, value)
        return value
    if isinstance(value, list):
        return [_blank(item, patterns) for item in value]
    if isinstance(value, dict):
        return {key: _blank(item, patterns) for key, item in value.items()}
    return value


def _patterns(found_markers: list[str]) -> list[re.Pattern]:
    # Longest first: "Ann Jones" before a shorter form inside it.
    ordered = sorted(found_markers, key=len, reverse=True)
    return [re.compile(rf"(?<!\w){re.escape(m)}(?!\w)", re.I) for m in ordered]


def erase(contact: Contact) -> int:
    """Delete the contact and all that is theirs; blank them out of every
    other row that mentions them; keep a hashed suppression entry per
    address. Returns how many other rows were blanked."""
    workspace = contact.workspace
    found_markers = markers(contact)
    addresses = [("email", contact.email), ("sms", contact.phone)]
    with changing():
        elsewhere = mentions(workspace, contact, found_markers)
        for channel, address in addresses:
            if not address:
                continue
            digest = workspace_address_hash(workspace, channel, address)
            Suppression.objects.update_or_create(
                workspace=workspace,
                channel=channel,
                address_hash=digest,
                defaults={"address": ""},  # keep only the hash
                create_defaults={"address": "", "reason": Suppression.Reason.ERASED},
            )
        OutboundMessage.objects.filter(
            models.Q(contact=contact) | models.Q(to_address__in=_addresses(contact)),
            workspace=workspace,
        ).delete()
        for testimonial in contact.testimonials.all():
            if testimonial.photo:
                testimonial.photo.delete(save=False)
        contact.delete()
        patterns = _patterns(found_markers)
        touched_contacts = set()
        for mention in elsewhere:
            row = mention.model._default_manager.filter(pk=mention.pk).first()
            if row is None:
                continue  # went with the contact (a cascade)
            value = getattr(row, mention.field)
            setattr(row, mention.field, _blank(value, patterns))
            row.save(update_fields=[mention.field])
            if mention.model is Contact:
                touched_contacts.add(row.pk)
            elif hasattr(row, "contact_id") and row.contact_id:
                touched_contacts.add(row.contact_id)
        if touched_contacts:
            facts_changed(workspace, touched_contacts)
    return len(elsewhere)
