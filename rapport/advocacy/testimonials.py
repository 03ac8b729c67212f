"""Testimonials from the moderation queue to the wall, the widget and the
feed; the client's own page (a suggested edit, consent kept or withdrawn);
review pages offered to every client alike. One path for every entry point.

The rules held here:
- shown anywhere only when approved *and* consented (`Testimonial.objects.published()`);
- a staff edit is published only after the client approves it on their page;
- a name is shown only as the client chose, a photo only with its own consent;
- a material connection is disclosed next to the words (`disclosure`);
- a withdrawal unpublishes at once; what caches may still show is bounded
  to a minute (SERVER_CACHE_SECONDS + PUBLIC_MAX_AGE + WIDGET_REFRESH_SECONDS);
- the review sites offered never depend on the client (`review_offer` takes
  only the workspace): no review gating.
"""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from rapport.advocacy.models import (
    MaterialConnection,
    ReviewClick,
    ReviewSite,
    Testimonial,
    TestimonialLink,
    TestimonialTag,
)
from rapport.clients.actions import changing, facts_changed, record_consent
from rapport.outreach.actions import (
    CONSENT_PHOTO_TEXT,
    CONSENT_PUBLISH_TEXT,
    CONSENT_REFERENCE_TEXT,
)

Status = Testimonial.Status

# A withdrawal leaves every page within a minute. What may still show it:
# the server's per-process copy of the feed (SERVER_CACHE_SECONDS), a
# browser's or proxy's copy (PUBLIC_MAX_AGE, the Cache-Control max-age), and
# an open widget until its next fetch (WIDGET_REFRESH_SECONDS). Together
# they stay within WITHDRAWAL_BOUND_SECONDS, whatever the settings say.
SERVER_CACHE_SECONDS = 5
PUBLIC_MAX_AGE = 20
WIDGET_REFRESH_SECONDS = 30
WITHDRAWAL_BOUND_SECONDS = 60


def server_cache_seconds() -> int:
    """RAPPORT_FEED_CACHE_SECONDS overrides it (the tests set 0)."""
    seconds = int(getattr(settings, "RAPPORT_FEED_CACHE_SECONDS", SERVER_CACHE_SECONDS))
    return max(0, min(seconds, WITHDRAWAL_BOUND_SECONDS - WIDGET_REFRESH_SECONDS))


def public_max_age() -> int:
    """RAPPORT_PUBLIC_MAX_AGE overrides it; never past the bound."""
    seconds = int(getattr(settings, "RAPPORT_PUBLIC_MAX_AGE", PUBLIC_MAX_AGE))
    room = WITHDRAWAL_BOUND_SECONDS - WIDGET_REFRESH_SECONDS - server_cache_seconds()
    return max(0, min(seconds, room))


NAME_CONSENT_TEXT = "{business} may show my name as: {name}."
WITHDRAW_TEXT = "Withdrew consent to publish my words (and photo) on {business}'s pages."


class ModerationError(ValueError):
    """A moderation step the rules refuse; the message says why."""


# -- disclosure (16 CFR 465.5, 16 CFR 255.5) -----------------------------------


def disclosure(testimonial: Testimonial, business: str | None = None) -> str | None:
    """The words shown beside a testimonial whose giver has a material
    connection to the business; None when there is none. Wall, widget, feed
    and the client's page all come here."""
    return disclosure_for(
        testimonial.material_connection,
        testimonial.connection_note,
        business or testimonial.workspace.name,
    )


def disclosure_for(connection: str, note: str, business: str) -> str | None:
    """The one place that turns a material connection into words."""
    if connection == MaterialConnection.REWARDED:
        return f"{business} gave this client a reward (a gift or a discount)."
    if connection == MaterialConnection.EMPLOYEE:
        return f"Works for {business}."
    if connection == MaterialConnection.FAMILY:
        return f"A relative or friend of someone at {business}."
    if connection == MaterialConnection.OTHER:
        return note.strip() or f"Has a connection to {business}."
    return None


# -- moderation --------------------------------------------------------------


def _moderated(testimonial: Testimonial, by, fields: list[str]) -> None:
    testimonial.moderated_at = timezone.now()
    testimonial.moderated_by = by
    testimonial.save(update_fields=[*fields, "moderated_at", "moderated_by"])


def approve(testimonial: Testimonial, *, by=None) -> None:
    """Publish the testimonial. Only with the client's consent to publish, and
    never over an edit still waiting for the client's word."""
    if not testimonial.consent_publish:
        raise ModerationError(
            "They did not consent to publishing; it cannot be approved for showing."
        )
    if testimonial.status == Status.EDIT_SUGGESTED:
        raise ModerationError(
            "An edit is waiting for the client's approval; it is published when they agree."
        )
    testimonial.status = Status.APPROVED
    testimonial.published_at = testimonial.published_at or timezone.now()
    _moderated(testimonial, by, ["status", "published_at"])


def reject(testimonial: Testimonial, *, by=None) -> None:
    """Keep it private (it stays in the record and counts for the ladder)."""
    testimonial.status = Status.REJECTED
    testimonial.featured = False
    testimonial.suggested_text = ""
    _moderated(testimonial, by, ["status", "featured", "suggested_text"])


def suggest_edit(testimonial: Testimonial, text: str, *, by=None) -> TestimonialLink:
    """Propose other words (a typo, a shorter quote). Nothing is published
    until the client approves them on their page; they are emailed a link."""
    text = text.strip()
    if not text:
        raise ModerationError("Write the words you suggest.")
    if text == testimonial.public_text.strip():
        raise ModerationError("The suggestion is the same as the words shown now.")
    if not testimonial.consent_publish:
        raise ModerationError("They did not consent to publishing; there is nothing to edit for.")
    with transaction.atomic():
        testimonial.suggested_text = text
        testimonial.edit_declined = False
        testimonial.status = Status.EDIT_SUGGESTED
        _moderated(testimonial, by, ["suggested_text", "edit_declined", "status"])
        link = new_link(testimonial)
        _email_client(
            testimonial,
            link,
            key=f"testimonial-edit:{testimonial.pk}:{link.pk}",
            subject=f"May we shorten your words, {testimonial.contact.first_name}?",
            paragraphs=[
                f"Hello {testimonial.contact.first_name},",
                f"Thank you again for your words about {testimonial.workspace.name}. We would "
                "like to show them with a small change. Nothing is published until you say yes; "
                "you can also keep your words exactly as you wrote them.",
            ],
            button="See the change",
        )
    return link


def answer_edit(testimonial: Testimonial, *, accept: bool) -> None:
    """The client's word on a suggested edit. Yes publishes the new words
    (they already consented to publishing); no sends it back to moderation
    with their own words."""
    with changing():
        updated = Testimonial.objects.filter(pk=testimonial.pk, status=Status.EDIT_SUGGESTED)
        if accept:
            count = updated.filter(consent_publish=True).update(
                edited_text=testimonial.suggested_text,
                suggested_text="",
                status=Status.APPROVED,
                published_at=timezone.now(),
            )
        else:
            count = updated.update(suggested_text="", edit_declined=True, status=Status.PENDING)
        if not count:
            raise ModerationError("There is no change waiting for your answer.")
        testimonial.refresh_from_db()
        facts_changed(testimonial.workspace, [testimonial.contact_id])


def set_featured(testimonial: Testimonial, featured: bool, *, by=None) -> None:
    if featured and not testimonial.published:
        raise ModerationError("Only a published testimonial can be featured.")
    testimonial.featured = featured
    _moderated(testimonial, by, ["featured"])


def parse_tags(text: str) -> list[str]:
    seen: dict[str, str] = {}
    for raw in text.replace(";", ",").split(","):
        name = " ".join(raw.split())[:40]
        if name:
            seen.setdefault(name.lower(), name)
    return list(seen.values())


def set_tags(testimonial: Testimonial, names: list[str]) -> None:
    workspace_id = testimonial.workspace_id
    with transaction.atomic():
        existing = {
            tag.name.lower(): tag
            for tag in TestimonialTag.objects.filter(workspace_id=workspace_id)
        }
        tags = []
        for name in names:
            tag = existing.get(name.lower())
            if tag is None:
                tag, _ = TestimonialTag.objects.get_or_create(workspace_id=workspace_id, name=name)
            tags.append(tag)
        testimonial.tags.set(tags)


def set_connection(testimonial: Testimonial, connection: str, note: str = "", *, by=None) -> None:
    """Record the giver's material connection (set at moderation; a reward
    issued to the giver sets REWARDED through the same function)."""
    if connection not in MaterialConnection.values:
        raise ModerationError(f"Unknown connection {connection!r}.")
    testimonial.material_connection = connection
    testimonial.connection_note = note.strip()[:160] if connection == "other" else ""
    _moderated(testimonial, by, ["material_connection", "connection_note"])


def mark_rewarded(contact) -> int:
    """A reward went to this client: every testimonial of theirs now carries
    the disclosure. Returns how many changed. For the rewards code to call."""
    return (
        Testimonial.objects.filter(workspace_id=contact.workspace_id, contact=contact)
        .filter(material_connection=MaterialConnection.NONE)
        .update(material_connection=MaterialConnection.REWARDED)
    )


def disclose_on_arrival(sender, instance, **kwargs) -> None:
    """A testimonial arriving from someone already rewarded carries the
    disclosure from its first save (pre_save on Testimonial), whichever path
    recorded it (the contact page, the client's form, an import)."""
    if not instance._state.adding or instance.material_connection != MaterialConnection.NONE:
        return
    from rapport.advocacy.models import Reward

    if Reward.objects.filter(
        workspace_id=instance.workspace_id, contact_id=instance.contact_id
    ).exists():
        instance.material_connection = MaterialConnection.REWARDED


# -- the client's side ------------------------------------------------------------


def new_link(testimonial: Testimonial, now=None) -> TestimonialLink:
    link = TestimonialLink(workspace_id=testimonial.workspace_id, testimonial=testimonial)
    link.open_link(TestimonialLink.DAYS, now=now)
    return link


def page_url(link: TestimonialLink) -> str:
    from rapport.outreach.compose import absolute

    return absolute(reverse("advocacy:client_testimonial", args=[link.token()]))


def resolve_link(workspace, pk: int) -> str | None:
    """Outbox resolver for "[[link:testimonial:<pk>]]" (see outreach.compose)."""
    link = TestimonialLink.objects.filter(workspace=workspace, pk=pk).first()
    return page_url(link) if link else None


def link_marker(testimonial: Testimonial) -> str:
    """A placeholder for a fresh link to the client's testimonial page, for
    any email about this testimonial (a thank-you above all): it becomes the
    link when the message is sent, so the outbox holds no live link."""
    from rapport.outreach.compose import link_marker as marker

    return marker(TestimonialLink.PURPOSE, new_link(testimonial).pk)


def update_consents(
    testimonial: Testimonial,
    *,
    publish: bool,
    name: str | None,
    photo: bool,
    reference: bool,
    source: str = "testimonial page",
) -> list[str]:
    """The client changes what they allow. Each change is recorded as
    consent with its words; withdrawing publication unpublishes at once,
    granting it again sends the words back to moderation. Returns what
    changed, in words, for the page to confirm."""
    business = testimonial.workspace.name
    contact = testimonial.contact
    changed = []
    with changing():
        testimonial = Testimonial.objects.select_for_update().get(pk=testimonial.pk)
        fields = []
        if not publish and testimonial.consent_publish:
            _withdraw(testimonial, fields)
            record_consent(
                contact, "publish", False, WITHDRAW_TEXT.format(business=business), source
            )
            changed.append("Your words are no longer shown anywhere.")
        elif publish and not testimonial.consent_publish:
            testimonial.consent_publish = True
            testimonial.status = Status.PENDING
            testimonial.withdrawn_at = None
            fields += ["consent_publish", "status", "withdrawn_at"]
            record_consent(
                contact, "publish", True, CONSENT_PUBLISH_TEXT.format(business=business), source
            )
            changed.append("Thank you: we will look at your words before they are shown.")
        shown = (name or "Anonymous").strip()[:120]
        if shown != (testimonial.display_name or "Anonymous"):
            testimonial.display_name = shown
            fields.append("display_name")
            record_consent(
                contact,
                "publish",
                True,
                NAME_CONSENT_TEXT.format(business=business, name=shown),
                source,
            )
            changed.append(f"Your name is now shown as: {shown}.")
        photo = photo and bool(testimonial.photo) and testimonial.consent_publish
        if photo != testimonial.consent_photo:
            testimonial.consent_photo = photo
            fields.append("consent_photo")
            record_consent(
                contact,
                "publish",
                photo,
                CONSENT_PHOTO_TEXT.format(business=business) + ("" if photo else " (withdrawn)"),
                source,
            )
            changed.append("Your photo is shown." if photo else "Your photo is no longer shown.")
        if reference != testimonial.consent_reference:
            testimonial.consent_reference = reference
            fields.append("consent_reference")
            record_consent(
                contact,
                "reference",
                reference,
                CONSENT_REFERENCE_TEXT.format(business=business),
                source,
            )
            changed.append(
                "You may be asked to speak to people considering us."
                if reference
                else "Nobody will be put in touch with you as a reference."
            )
        if fields:
            testimonial.save(update_fields=sorted(set(fields)))
            facts_changed(testimonial.workspace, [contact.pk])
    return changed


def _withdraw(testimonial: Testimonial, fields: list[str]) -> None:
    testimonial.consent_publish = False
    testimonial.consent_photo = False
    testimonial.featured = False
    testimonial.suggested_text = ""
    testimonial.withdrawn_at = timezone.now()
    if testimonial.status in (Status.APPROVED, Status.PENDING, Status.EDIT_SUGGESTED):
        testimonial.status = Status.WITHDRAWN
    fields += [
        "consent_publish",
        "consent_photo",
        "featured",
        "suggested_text",
        "withdrawn_at",
        "status",
    ]


def withdraw(testimonial: Testimonial, source: str = "testimonial page") -> bool:
    """One click on their page: nothing of this testimonial is shown anymore.
    False when there was nothing to withdraw."""
    if not testimonial.consent_publish:
        return False
    update_consents(
        testimonial,
        publish=False,
        name=testimonial.display_name,
        photo=False,
        reference=testimonial.consent_reference,
        source=source,
    )
    return True


def thank_for_testimonial(testimonial: Testimonial) -> None:
    """The email that follows a testimonial: thanks, what happens next, the
    review sites (the same for everyone), and the link to change or withdraw
    consent. Sent only where the client agreed to emails (checked at send)."""
    contact = testimonial.contact
    if not contact.email:
        return
    link = new_link(testimonial)
    sites = review_offer(testimonial.workspace)
    paragraphs = [
        f"Hello {contact.first_name},",
        f"Thank you for your words about {testimonial.workspace.name}. "
        + (
            "We read every testimonial before it is shown; you can change how your name appears, "
            "or withdraw your consent at any time, on your page below."
            if testimonial.consent_publish
            else "You did not ask us to publish them, so they stay with us. You can change that "
            "on your page below."
        ),
    ]
    if sites:
        paragraphs.append(
            "If you would like to tell others too, these sites take reviews — whatever you think "
            "of us:\n" + "\n".join(f"{site.name}: {review_url(site, 'email')}" for site in sites)
        )
    _email_client(
        testimonial,
        link,
        key=f"testimonial-thanks:{testimonial.pk}",
        subject=f"Thank you, {contact.first_name}",
        paragraphs=paragraphs,
        button="Your testimonial: change or withdraw consent",
    )


def send_page_link(testimonial: Testimonial) -> TestimonialLink:
    """Email the client a fresh link to their page (to approve an edit, to
    give or withdraw consent to publish words the team recorded)."""
    link = new_link(testimonial)
    contact = testimonial.contact
    _email_client(
        testimonial,
        link,
        key=f"testimonial-page:{testimonial.pk}:{link.pk}",
        subject=f"Your words about {testimonial.workspace.name}",
        paragraphs=[
            f"Hello {contact.first_name},",
            f"Thank you for what you said about {testimonial.workspace.name}. On your page you "
            "can see your words, say whether we may show them and how your name appears, or "
            "withdraw your consent at any time.",
        ],
        button="Your testimonial",
    )
    return link


def _email_client(testimonial, link, *, key, subject, paragraphs, button) -> None:
    from rapport.outreach import compose
    from rapport.outreach.models import OutboundMessage

    contact = testimonial.contact
    if not contact.email:
        return
    marker = compose.link_marker(TestimonialLink.PURPOSE, link.pk)
    text, html = compose.client_email(
        testimonial.workspace, paragraphs=paragraphs, button=button, link=marker
    )
    compose.queue(
        testimonial.workspace,
        to=contact.email,
        subject=subject,
        text=text,
        html=html,
        kind=OutboundMessage.Kind.CONFIRMATION,
        idempotency_key=key,
        contact=contact,
    )


# -- review sites -----------------------------------------------------------------


def review_offer(workspace) -> list[ReviewSite]:
    """The review sites offered after a testimonial, an answer or a review
    request. It takes the workspace and nothing else — no client, no rating —
    so no page can offer a promoter something a detractor does not get."""
    return list(ReviewSite.objects.filter(workspace=workspace, active=True))


def review_url(site: ReviewSite, placement: str, ask_ref: str = "") -> str:
    from rapport.outreach.compose import absolute

    path = reverse("advocacy:review_go", args=[site.workspace.slug, site.pk])
    query = f"?from={placement}" + (f"&ask={ask_ref}" if ask_ref else "")
    return absolute(path + query)


def ask_reference(ask) -> str:
    """A signed reference to an ask, for a review link on its page: the click
    counts for that ask without putting the page's token in another URL."""
    from django.core import signing

    return signing.dumps(ask.pk, salt="review-ask", compress=True)


def ask_from_reference(value: str, workspace):
    from django.core import signing

    from rapport.outreach.models import Ask

    try:
        pk = signing.loads(value, salt="review-ask", max_age=dt.timedelta(days=60))
    except signing.BadSignature:
        return None
    return Ask.objects.filter(workspace=workspace, pk=pk).first()


def record_review_click(site: ReviewSite, placement: str, ask=None) -> None:
    """One insert per click; a review request clicked through is answered yes."""
    if placement not in ReviewClick.Placement.values:
        placement = ReviewClick.Placement.OTHER
    with transaction.atomic():
        ReviewClick.objects.create(
            workspace_id=site.workspace_id, site=site, placement=placement, ask=ask
        )
        if ask is not None and ask.kind == "review":
            from rapport.outreach.models import Ask, Outcome

            Ask.objects.filter(pk=ask.pk, outcome=Outcome.PENDING).update(
                outcome=Outcome.YES, outcome_at=timezone.now(), answered_at=timezone.now()
            )


def review_counts(workspace) -> dict[int, int]:
    return dict(
        ReviewClick.objects.filter(workspace=workspace)
        .order_by()
        .values_list("site")
        .annotate(n=Count("id"))
        .values_list("site", "n")
    )


# -- for Today (the agenda reads; it writes nothing) -------------------------------


def waiting(workspace) -> dict[str, int]:
    """What waits for the team in this loop, for Today or the digest to show:
    {"to_moderate": testimonials with consent waiting for a decision,
     "edits_with_client": suggested edits the client has not answered,
     "reference_requests": requests no reference has answered}. Three counts,
    one query each; a read."""
    from rapport.advocacy.models import ReferenceRequest

    rows = dict(
        Testimonial.objects.filter(
            workspace=workspace,
            contact__erased_at=None,
            status__in=[Status.PENDING, Status.EDIT_SUGGESTED],
        )
        .filter(consent_publish=True)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {
        "to_moderate": rows.get(Status.PENDING, 0),
        "edits_with_client": rows.get(Status.EDIT_SUGGESTED, 0),
        "reference_requests": ReferenceRequest.objects.filter(
            workspace=workspace, status=ReferenceRequest.Status.PENDING
        ).count(),
    }
