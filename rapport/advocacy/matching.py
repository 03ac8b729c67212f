"""Is this name someone we already know? One function decides, so that the
give-names page, the contact page, the desk, the landing page and the import
all follow the same rules:

- the same email (case and spaces aside) or the same phone (normalised to
  E.164) as an active contact of the workspace: it is that contact;
- the same full name with nothing that contradicts it (no email or phone on
  one side, or the same ones): it is that contact, if only one has the name;
- the same full name but a different email or phone, or several contacts of
  that name: a likely match — a new contact is made and a merge is offered.

Phones are read with the `phonenumbers` library in the workspace's region
(`region_for`: the PHONE_REGION setting, "US" unless set, until workspaces
carry their own); point `normal_phone` at the shared normaliser once it lands.
"""

from dataclasses import dataclass, field

from django.db.models import F, Q, Value
from django.db.models.functions import Lower, Replace

from rapport.clients.models import Contact
from rapport.lib import phones

DEFAULT_PHONE_REGION = "US"


def region_for(workspace) -> str:
    """The region a workspace's numbers are written in (its setting)."""
    return workspace.phone_region or DEFAULT_PHONE_REGION


def normal_email(address: str) -> str:
    return (address or "").strip().lower()


def normal_phone(number: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """E.164, as the record stores numbers (rapport.lib.phones); the bare
    digits of what cannot be read as a number, so that it still compares."""
    try:
        return phones.to_e164(number, region)
    except phones.InvalidPhone:
        return "".join(ch for ch in (number or "") if ch.isdigit())


def normal_name(first: str, last: str) -> str:
    return " ".join(f"{first} {last}".lower().split())


@dataclass
class Match:
    contact: Contact | None = None  # the same person
    likely: list[tuple[Contact, list[str]]] = field(default_factory=list)  # offer a merge


def _digits(expression):
    # The stored number without its usual separators, in SQL, so that an
    # index-free but set-based filter narrows the candidates to a handful.
    for sep in (" ", "-", "(", ")", ".", "/", "+"):
        expression = Replace(expression, Value(sep), Value(""))
    return expression


def _phone_candidates(workspace, phone: str, region: str):
    # Stored numbers are in whatever format they were typed: narrow by the
    # last six digits in SQL, then compare normalised numbers.
    digits = "".join(ch for ch in phone if ch.isdigit())
    if len(digits) < 6:
        return []
    rows = (
        Contact.objects.in_workspace(workspace)
        .active()
        .exclude(phone="")
        .annotate(digits=_digits(F("phone")))
        .filter(digits__endswith=digits[-6:])
        .order_by("pk")[:50]
    )
    return [c for c in rows if normal_phone(c.phone, region) == phone]


def find_match(
    workspace,
    *,
    first_name: str,
    last_name: str = "",
    email: str = "",
    phone: str = "",
    exclude: set[int] | None = None,
) -> Match:
    region = region_for(workspace)
    email, phone = normal_email(email), normal_phone(phone, region)
    exclude = exclude or set()
    active = Contact.objects.in_workspace(workspace).active().exclude(pk__in=exclude)
    if email:
        by_email = list(active.annotate(e=Lower("email")).filter(e=email).order_by("pk")[:2])
        if by_email:
            return Match(contact=by_email[0])
    if phone:
        by_phone = [c for c in _phone_candidates(workspace, phone, region) if c.pk not in exclude]
        if by_phone:
            return Match(contact=by_phone[0])
    name = normal_name(first_name, last_name)
    if not last_name.strip():
        # A first name alone is too weak to be anyone.
        return Match()
    named = [
        c
        for c in active.filter(
            first_name__iexact=first_name.strip(), last_name__iexact=last_name.strip()
        ).order_by("pk")[:20]
        if normal_name(c.first_name, c.last_name) == name
    ]
    agreeing = [c for c in named if not _contradicts(c, email, phone, region)]
    if len(named) == 1 and agreeing:
        return Match(contact=agreeing[0])
    return Match(likely=[(c, _reasons(c, email, phone, region)) for c in named])


def _contradicts(contact: Contact, email: str, phone: str, region: str) -> bool:
    if email and contact.email and normal_email(contact.email) != email:
        return True
    return bool(phone and contact.phone and normal_phone(contact.phone, region) != phone)


def _reasons(contact: Contact, email: str, phone: str, region: str) -> list[str]:
    reasons = ["the same full name"]
    if email and contact.email and normal_email(contact.email) != email:
        reasons.append("a different email")
    if phone and contact.phone and normal_phone(contact.phone, region) != phone:
        reasons.append("a different phone")
    return reasons


def is_self_referral(referrer: Contact, *, email: str = "", phone: str = "") -> bool:
    """The referred person's email or phone is the referrer's own."""
    region = region_for(referrer.workspace)
    if email and referrer.email and normal_email(email) == normal_email(referrer.email):
        return True
    return bool(
        phone
        and referrer.phone
        and normal_phone(phone, region) == normal_phone(referrer.phone, region)
    )


def duplicates_of(contact: Contact) -> list[tuple[Contact, list[str]]]:
    """Other contacts that look like this one (for an imported contact)."""
    region = region_for(contact.workspace)
    found: dict[int, tuple[Contact, list[str]]] = {}
    others = Contact.objects.in_workspace(contact.workspace).active().exclude(pk=contact.pk)
    if contact.email:
        for other in others.annotate(e=Lower("email")).filter(e=normal_email(contact.email)):
            found[other.pk] = (other, ["the same email"])
    if contact.phone:
        phone = normal_phone(contact.phone, region)
        for other in _phone_candidates(contact.workspace, phone, region):
            if other.pk != contact.pk:
                found.setdefault(other.pk, (other, []))[1].append("the same phone")
    if contact.last_name:
        for other in others.filter(
            Q(first_name__iexact=contact.first_name) & Q(last_name__iexact=contact.last_name)
        ):
            found.setdefault(other.pk, (other, []))[1].append("the same full name")
    return list(found.values())
