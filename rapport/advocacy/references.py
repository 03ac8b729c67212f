"""References on request: a page for prospects listing the clients who agreed
to talk to them (by industry and need, never a contact detail); a prospect
asks to speak to one; the reference says yes or no on their own page; only
a yes shares contact details, and both sides are told. Each reference has a
monthly limit, held under concurrent requests by locking the reference row.
"""

import datetime as dt

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from rapport.advocacy.models import Reference, ReferenceRequest, ReferenceShare
from rapport.clients.models import ConsentRecord, Contact

Status = ReferenceRequest.Status


class ReferenceError(ValueError):
    """A reference step the rules refuse; the message says why, in words a
    prospect or a member of staff can read."""


def month_bounds(workspace, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The calendar month containing `now`, in the workspace's time zone."""
    local = timezone.localtime(now or timezone.now(), workspace.tzinfo)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    return start, end


def consent_granted():
    """Per contact: is their latest word on being a reference a yes?"""
    latest = (
        ConsentRecord.objects.filter(contact=OuterRef("contact"), channel="reference")
        .order_by("-recorded_at", "-id")
        .values("granted")[:1]
    )
    return Subquery(latest)


def references(workspace, now: dt.datetime | None = None):
    """Every reference of the workspace with `consented`, `requests_this_month`
    and `available`, in one query (no query per reference)."""
    start, end = month_bounds(workspace, now)
    rows = (
        Reference.objects.filter(workspace=workspace, contact__erased_at=None)
        .select_related("contact")
        .annotate(
            consented=consent_granted(),
            requests_this_month=Count(
                "requests", filter=Q(requests__created_at__gte=start, requests__created_at__lt=end)
            ),
        )
        .order_by("industry", "need", "id")
    )
    return rows


def listed(workspace, now: dt.datetime | None = None) -> list[Reference]:
    """What a prospect sees: active references who consented, each marked
    available or not this month."""
    rows = [ref for ref in references(workspace, now) if ref.active and ref.consented]
    for ref in rows:
        ref.available = ref.requests_this_month < ref.monthly_limit
    return rows


def public_label(reference: Reference) -> str:
    """How a reference is named to prospects: first name and initial only."""
    contact = reference.contact
    initial = f" {contact.last_name[:1]}." if contact.last_name else ""
    return f"{contact.first_name}{initial}"


def consenting_contacts(workspace):
    """Contacts whose latest word on being a reference is yes, not yet references."""
    latest = (
        ConsentRecord.objects.filter(contact=OuterRef("pk"), channel="reference")
        .order_by("-recorded_at", "-id")
        .values("granted")[:1]
    )
    return (
        Contact.objects.in_workspace(workspace)
        .active()
        .annotate(consented=Subquery(latest))
        .filter(consented=True)
        .exclude(Exists(Reference.objects.filter(contact=OuterRef("pk"))))
        .order_by("last_name", "first_name")
    )


def create_reference(
    contact: Contact, *, industry="", need="", blurb="", monthly_limit=2
) -> Reference:
    if not consenting_contacts(contact.workspace).filter(pk=contact.pk).exists():
        raise ReferenceError(
            f"{contact.name} has not agreed to be contacted as a reference (or is one already)."
        )
    return Reference.objects.create(
        workspace_id=contact.workspace_id,
        contact=contact,
        industry=industry.strip(),
        need=need.strip(),
        blurb=blurb.strip(),
        monthly_limit=monthly_limit,
    )


def new_share(workspace, label: str, *, by=None, days: int = ReferenceShare.DAYS):
    share = ReferenceShare(workspace=workspace, label=label.strip()[:120], created_by=by)
    token = share.open_link(days)
    return share, token


def share_url(share: ReferenceShare) -> str:
    from rapport.outreach.compose import absolute

    return absolute(reverse("advocacy:references_public", args=[share.token()]))


def share_open(share: ReferenceShare | None, now=None) -> bool:
    return share is not None and share.revoked_at is None and not share.expired(now)


def revoke_share(share: ReferenceShare) -> None:
    ReferenceShare.objects.filter(pk=share.pk, revoked_at=None).update(revoked_at=timezone.now())


def request_url(request: ReferenceRequest) -> str:
    from rapport.outreach.compose import absolute

    return absolute(reverse("advocacy:reference_answer", args=[request.token()]))


def resolve_link(workspace, pk: int) -> str | None:
    """Outbox resolver for "[[link:refrequest:<pk>]]"."""
    request = ReferenceRequest.objects.filter(workspace=workspace, pk=pk).first()
    return request_url(request) if request else None


def request_reference(
    reference: Reference,
    *,
    share: ReferenceShare | None,
    name: str,
    email: str,
    phone: str = "",
    company: str = "",
    message: str = "",
    now: dt.datetime | None = None,
) -> ReferenceRequest:
    """A prospect asks to speak to a reference. Refused (ReferenceError) when
    the reference is no longer available or this month's limit is reached.
    The reference is emailed a link to answer; nobody's details move yet."""
    from rapport.outreach import compose
    from rapport.outreach.models import OutboundMessage

    now = now or timezone.now()
    workspace = reference.workspace
    with transaction.atomic():
        # The row lock makes concurrent requests count one after the other,
        # so the limit holds (SQLite serialises writers anyway).
        Reference.objects.select_for_update().filter(pk=reference.pk).first()
        locked = references(workspace, now).filter(pk=reference.pk).first()
        if locked is None or not locked.active or not locked.consented:
            raise ReferenceError("This reference is no longer available.")
        if locked.requests_this_month >= locked.monthly_limit:
            raise ReferenceError(
                "This reference has had as many requests as they agreed to this month. "
                "Please choose another, or try again next month."
            )
        request = ReferenceRequest(
            workspace=workspace,
            reference=locked,
            share=share,
            prospect_name=name.strip()[:120],
            prospect_email=email.strip().lower(),
            prospect_phone=phone.strip()[:40],
            prospect_company=company.strip()[:120],
            message=message.strip()[:2000],
            created_at=now,
        )
        request.open_link(ReferenceRequest.DAYS, now=now)
        contact = locked.contact
        who = request.prospect_name + (
            f" of {request.prospect_company}" if request.prospect_company else ""
        )
        marker = compose.link_marker(ReferenceRequest.PURPOSE, request.pk)
        if contact.email:
            text, html = compose.client_email(
                workspace,
                paragraphs=[
                    f"Hello {contact.first_name},",
                    f"{who} is considering {workspace.name} and would like to hear about your "
                    "experience. You agreed that we may pass on such requests — you are free to "
                    "say no, and nothing about you is shared unless you say yes.",
                    f"Their message: {request.message}" if request.message else "",
                ],
                button="Yes or no",
                link=marker,
            )
            compose.queue(
                workspace,
                to=contact.email,
                subject=f"Would you speak to {request.prospect_name} about {workspace.name}?",
                text=text,
                html=html,
                kind=OutboundMessage.Kind.REFERENCE,
                idempotency_key=f"refrequest:{request.pk}:ask",
                contact=contact,
            )
        compose.queue(
            workspace,
            to=request.prospect_email,
            subject=f"Your request to speak to a client of {workspace.name}",
            text=(
                f"Hello {request.prospect_name},\n\nThank you. We have asked our client whether "
                "they would like to speak to you. If they agree, we will send you their details; "
                "if not, we will let you know.\n\n"
                f"{workspace.name}\n{workspace.postal_address}\n"
            ),
            kind=OutboundMessage.Kind.CONFIRMATION,
            idempotency_key=f"refrequest:{request.pk}:received",
            # A reply to the prospect's own request, not a message they
            # consented to receive: it goes out once, to them only.
            to_client=False,
        )
        _tell_team(
            request,
            subject=f"Reference request: {who} → {contact.name}",
            text=(
                f"{who} asked to speak to {contact.name} ({request.prospect_email}).\n"
                + (
                    ""
                    if contact.email and contact.email_ok
                    else f"{contact.first_name} gets no automated email: call them, and give them "
                    f"their answer page: {marker}\n"
                )
            ),
            key="new",
        )
    return request


def _tell_team(request: ReferenceRequest, *, subject: str, text: str, key: str) -> None:
    from rapport.outreach import compose
    from rapport.workspaces.models import Membership, Role

    contact = request.reference.contact
    if contact.owner and contact.owner.email:
        addresses = [contact.owner.email]
    else:
        addresses = list(
            Membership.objects.filter(workspace_id=request.workspace_id, role=Role.OWNER)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    for address in addresses:
        compose.team_email(
            request.workspace,
            to=address,
            subject=subject,
            text=text,
            key=f"refrequest:{request.pk}:{key}:{address}",
        )


def answer_request(
    request: ReferenceRequest, *, accept: bool, share_email: bool = True, share_phone: bool = False
) -> None:
    """The reference's answer, once. A yes sends each side the other's
    details (the reference's only as they chose); a no tells the prospect
    without saying anything about the reference."""
    from rapport.outreach import compose
    from rapport.outreach.models import OutboundMessage

    contact = request.reference.contact
    share_email = share_email and bool(contact.email)
    share_phone = share_phone and bool(contact.phone)
    if accept and not (share_email or share_phone):
        raise ReferenceError("Choose how they may reach you: your email, your phone, or both.")
    workspace = request.workspace
    with transaction.atomic():
        done = ReferenceRequest.objects.filter(pk=request.pk, status=Status.PENDING).update(
            status=Status.ACCEPTED if accept else Status.DECLINED,
            answered_at=timezone.now(),
            share_email=accept and share_email,
            share_phone=accept and share_phone,
        )
        if not done:
            raise ReferenceError("This request has been answered already.")
        request.refresh_from_db()
        if accept:
            details = "\n".join(
                line
                for line in (
                    f"Email: {contact.email}" if share_email else "",
                    f"Phone: {contact.phone}" if share_phone else "",
                )
                if line
            )
            compose.queue(
                workspace,
                to=request.prospect_email,
                subject=f"{contact.first_name} will speak to you about {workspace.name}",
                text=(
                    f"Hello {request.prospect_name},\n\n{contact.name} is happy to tell you about "
                    f"their experience of {workspace.name}. You can reach them here:\n\n{details}"
                    "\n\nPlease keep these details to yourself.\n\n"
                    f"{workspace.name}\n{workspace.postal_address}\n"
                ),
                kind=OutboundMessage.Kind.CONFIRMATION,
                idempotency_key=f"refrequest:{request.pk}:accepted:prospect",
                to_client=False,
            )
            prospect = "\n".join(
                line
                for line in (
                    request.prospect_name,
                    request.prospect_company,
                    f"Email: {request.prospect_email}",
                    f"Phone: {request.prospect_phone}" if request.prospect_phone else "",
                )
                if line
            )
            if contact.email:
                text, html = compose.client_email(
                    workspace,
                    paragraphs=[
                        f"Thank you, {contact.first_name}.",
                        f"We have sent {request.prospect_name} your "
                        + " and ".join(
                            part
                            for part, on in (("email", share_email), ("phone number", share_phone))
                            if on
                        )
                        + ". Here is how to reach them, if you prefer to write first:\n"
                        + prospect,
                    ],
                )
                compose.queue(
                    workspace,
                    to=contact.email,
                    subject=f"{request.prospect_name}'s details",
                    text=text,
                    html=html,
                    kind=OutboundMessage.Kind.REFERENCE,
                    idempotency_key=f"refrequest:{request.pk}:accepted:reference",
                    contact=contact,
                )
        else:
            compose.queue(
                workspace,
                to=request.prospect_email,
                subject=f"Your request to speak to a client of {workspace.name}",
                text=(
                    f"Hello {request.prospect_name},\n\nOur client is not able to speak to you "
                    "this time. You are welcome to ask another of the clients on the page, or to "
                    f"reply to this email with any question for us.\n\n{workspace.name}\n"
                    f"{workspace.postal_address}\n"
                ),
                kind=OutboundMessage.Kind.CONFIRMATION,
                idempotency_key=f"refrequest:{request.pk}:declined:prospect",
                to_client=False,
            )
        _tell_team(
            request,
            subject=f"{contact.name} {'accepted' if accept else 'declined'} "
            f"{request.prospect_name}'s reference request",
            text=f"{contact.name} {'accepted' if accept else 'declined'} to speak to "
            f"{request.prospect_name} ({request.prospect_email}).\n",
            key="answered",
        )
