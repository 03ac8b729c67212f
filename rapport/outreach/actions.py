"""Asks and the answers clients give on their pages: one path for every
entry point (Today, the contact page, automation rules, the client pages)."""

import datetime as dt

from django.utils import timezone

from rapport.advocacy.actions import receive_names, record_testimonial
from rapport.clients.actions import (
    changing,
    facts_changed,
    open_issue,
    record_consent,
    record_permission,
)
from rapport.clients.models import Contact, Permission, PermissionKind
from rapport.outreach import compose
from rapport.outreach.models import (
    SCRIPT_FOR_KIND,
    Ask,
    AskKind,
    OutboundMessage,
    Outcome,
    QuestionnaireAnswer,
    Suppression,
    address_hash,
)

# The exact words shown next to each consent box on the testimonial page;
# the consent record keeps them verbatim, with the time.
CONSENT_PUBLISH_TEXT = (
    "{business} may publish my words, with my name shown as I chose above, on its website "
    "and in its materials."
)
CONSENT_PHOTO_TEXT = "{business} may show my photo next to my words."
CONSENT_REFERENCE_TEXT = (
    "{business} may give my name to people considering working with them, so they can ask "
    "me about my experience."
)


def start_ask(
    contact: Contact,
    *,
    kind: str,
    channel: str,
    script: str = "",
    by=None,
    page: bool = True,
    automation_key: str | None = None,
    issue=None,
    outcome: str = Outcome.PENDING,
    note: str = "",
    script_key: str = "",
    moment: str = "",
) -> Ask:
    """Record an ask; with a client page (email, SMS, QR/link) it gets a
    token. An ask made in person or by phone is recorded with its outcome.

    The script and the moment are kept for the insights; when the caller
    does not know them they are read from the contact's agenda item for this
    kind of ask (the one Today showed), else the kind's default script."""
    workspace = contact.workspace
    if not script_key or not moment:
        item_script, item_moment = _agenda_context(contact, kind)
        script_key = script_key or item_script or SCRIPT_FOR_KIND.get(kind, "")
        moment = moment or item_moment
    with changing():
        ask = Ask(
            workspace=workspace,
            contact=contact,
            kind=kind,
            channel=channel,
            script=script,
            asked_on=workspace.today(),
            asked_by=by,
            automation_key=automation_key,
            issue=issue,
            outcome=outcome,
            outcome_at=None if outcome == Outcome.PENDING else timezone.now(),
            note=note,
            script_key=script_key[:40],
            moment=moment[:24],
        )
        if page:
            ask.open_page()
        ask.save()
        if page:
            from rapport.outreach.tokens import hash_token

            ask.token_hash = hash_token(ask.token())
            ask.save(update_fields=["token_hash"])
        facts_changed(workspace, [contact.pk])
    return ask


def _agenda_context(contact: Contact, kind: str) -> tuple[str, str]:
    """(script key, first moment) of the contact's current agenda item that
    proposes this kind of ask, or ("", "")."""
    from rapport.agenda.models import ASK_ACTIONS, AgendaItem

    actions_for_kind = [action for action, k in ASK_ACTIONS.items() if k == kind]
    if not actions_for_kind:
        return "", ""
    item = (
        AgendaItem.objects.filter(contact=contact, action__in=actions_for_kind)
        .order_by("-priority", "id")
        .values("script_key", "moments")
        .first()
    )
    if item is None:
        return "", ""
    moments = item["moments"] or []
    return item["script_key"] or "", (moments[0] if moments else "")


def record_outcome(ask: Ask, outcome: str) -> None:
    with changing():
        ask.outcome = outcome
        ask.outcome_at = timezone.now()
        ask.save(update_fields=["outcome", "outcome_at"])
        facts_changed(ask.workspace, [ask.contact_id])


def _claim_answer(ask: Ask) -> bool:
    """Mark the ask answered, once. A conditional UPDATE inside the answer's
    transaction: of twenty identical submits at once, one gets True."""
    return bool(Ask.objects.filter(pk=ask.pk, answered_at=None).update(answered_at=timezone.now()))


class AlreadyAnswered(Exception):
    pass


def answer_names(ask: Ask, people: list[dict]) -> list[Contact]:
    """The give-names page: each person becomes a prospect referred by the client."""
    with changing():
        if not _claim_answer(ask):
            raise AlreadyAnswered
        created = receive_names(ask.contact, people, on=ask.workspace.today())
        ask.outcome, ask.outcome_at = Outcome.GAVE_NAMES, timezone.now()
        ask.save(update_fields=["outcome", "outcome_at"])
    return created


def answer_testimonial(
    ask: Ask,
    *,
    text: str,
    rating: int | None,
    display_name: str,
    consent_publish: bool,
    consent_reference: bool,
    photo=None,
    consent_photo: bool = False,
):
    """The testimonial page: the words, the consents (each recorded with its
    exact words), and a thank-you email carrying the link to change or
    withdraw consent later."""
    from rapport.advocacy.testimonials import thank_for_testimonial

    contact = ask.contact
    business = ask.workspace.name
    with changing():
        if not _claim_answer(ask):
            raise AlreadyAnswered
        testimonial = record_testimonial(
            contact,
            text,
            on=ask.workspace.today(),
            rating=rating,
            display_name=display_name,
            consent_publish=consent_publish,
            consent_reference=consent_reference,
            consent_photo=bool(photo is not None and consent_photo and consent_publish),
            unsolicited=False,
        )
        if photo is not None:
            testimonial.photo.save(photo.name, photo, save=True)
        consents = [
            ("publish", consent_publish, CONSENT_PUBLISH_TEXT),
            ("reference", consent_reference, CONSENT_REFERENCE_TEXT),
        ]
        if photo is not None:
            consents.append(("publish", testimonial.consent_photo, CONSENT_PHOTO_TEXT))
        for channel, granted, words in consents:
            record_consent(
                contact, channel, granted, words.format(business=business), "testimonial page"
            )
        thank_for_testimonial(testimonial)
        ask.outcome, ask.outcome_at = Outcome.YES, timezone.now()
        ask.save(update_fields=["outcome", "outcome_at"])
    return testimonial


def answer_questionnaire(ask: Ask, *, nps: int, experience: str, improve: str, would_refer: str):
    """NPS 9–10 is a promoter moment; 0–6 opens an issue (recovery blocks asks)
    and tells the contact's owner; 7–8 proposes a touch."""
    contact = ask.contact
    workspace = ask.workspace
    today = workspace.today()
    with changing():
        if not _claim_answer(ask):
            raise AlreadyAnswered
        answer = QuestionnaireAnswer.objects.create(
            workspace=workspace,
            contact=contact,
            ask=ask,
            nps=nps,
            experience=experience,
            improve=improve,
            would_refer=would_refer,
            answered_on=today,
        )
        ask.outcome, ask.outcome_at = Outcome.YES, timezone.now()
        ask.save(update_fields=["outcome", "outcome_at"])
        if answer.band == "detractor":
            words = improve or experience or "no comment"
            open_issue(contact, f"Rated us {nps}/10: {words}"[:1000], opened_on=today)
            _notify_owner(contact, answer)
        facts_changed(workspace, [contact.pk])
    return answer


def _owner_addresses(contact: Contact) -> list[str]:
    from rapport.workspaces.models import Membership, Role

    if contact.owner and contact.owner.email:
        return [contact.owner.email]
    return list(
        Membership.objects.filter(workspace=contact.workspace, role=Role.OWNER)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )


def _notify_owner_text(contact: Contact, *, subject: str, text: str, key: str) -> None:
    link = compose.absolute(f"/contacts/{contact.pk}/")
    for email in _owner_addresses(contact):
        compose.team_email(
            contact.workspace,
            to=email,
            subject=subject,
            text=f"{text}\n{link}\n",
            key=f"{key}:{email}",
        )


def _notify_owner(contact: Contact, answer: QuestionnaireAnswer) -> None:
    _notify_owner_text(
        contact,
        subject=f"{contact.name} rated you {answer.nps}/10",
        text=(
            f"{contact.name} rated {contact.workspace.name} {answer.nps}/10.\n\n"
            f"How they experienced the service: {answer.experience or '-'}\n"
            f"What could have been better: {answer.improve or '-'}\n\n"
            "An issue was opened; no ask will be made until it is put right."
        ),
        key=f"detractor:{answer.pk}",
    )


def answer_later(ask: Ask, ask_after: dt.date) -> Permission:
    """'Not now — ask me again after …': a permission due on that date."""
    kind = ask.kind if ask.kind in (AskKind.REFERRAL, AskKind.TESTIMONIAL) else PermissionKind.BOTH
    with changing():
        if not _claim_answer(ask):
            raise AlreadyAnswered
        permission = record_permission(
            ask.contact,
            kind=kind,
            ask_after=ask_after,
            granted_on=ask.workspace.today(),
            source=Permission.Source.CLIENT_PAGE,
        )
        ask.outcome, ask.outcome_at = Outcome.LATER, timezone.now()
        ask.save(update_fields=["outcome", "outcome_at"])
    return permission


def answer_fixed(ask: Ask, *, fixed: bool, words: str) -> None:
    """The client's answer to "is it fixed for you?"."""
    from rapport.clients.actions import confirm_issue, reopen_issue

    issue = ask.issue
    with changing():
        if not _claim_answer(ask):
            raise AlreadyAnswered
        if fixed:
            confirm_issue(issue, on=ask.workspace.today())
        else:
            reopen_issue(issue, words=words or "(no details given)")
            _notify_owner_text(
                ask.contact,
                subject=f"{ask.contact.name}: not fixed yet",
                text=f"{ask.contact.name} says the problem is not fixed.\n\n"
                f"The issue: {issue.summary}\n\nTheir words: {words or '-'}\n",
                key=f"not-fixed:{ask.pk}",
            )
        ask.outcome = Outcome.YES if fixed else Outcome.PROBLEM
        ask.outcome_at = timezone.now()
        ask.save(update_fields=["outcome", "outcome_at"])


# -- unsubscribe, suppression, erasure -----------------------------------


def suppress(workspace, channel: str, address: str, reason: str) -> Suppression:
    """Add an address to the suppression list and withdraw the matching
    contacts' consent, at once; queued messages to it will not go out."""
    with changing():
        suppression, _ = Suppression.objects.get_or_create(
            workspace=workspace,
            channel=channel,
            address_hash=address_hash(address),
            defaults={"address": address.strip().lower(), "reason": reason},
        )
        field = "email" if channel == "email" else "phone"
        for contact in Contact.objects.filter(
            workspace=workspace, **{f"{field}__iexact": address.strip()}
        ):
            if getattr(contact, f"{channel}_ok"):
                record_consent(contact, channel, False, f"{reason}: {address}", reason)
        OutboundMessage.objects.filter(
            workspace=workspace,
            channel=channel,
            to_client=True,
            to_address__iexact=address.strip(),
            status=OutboundMessage.Status.QUEUED,
        ).update(status=OutboundMessage.Status.SUPPRESSED, last_error=f"suppressed: {reason}")
    return suppression


def unsubscribe(message: OutboundMessage) -> Suppression:
    return suppress(
        message.workspace, message.channel, message.to_address, Suppression.Reason.UNSUBSCRIBED
    )


def sms_reply(workspace, from_number: str, body: str) -> bool:
    """An inbound text. An opt-out word ends all texts to that number, with at
    most one confirmation (none if the number was already opted out)."""
    from rapport.outreach.sms import is_opt_out

    if not is_opt_out(body):
        return False
    already = Suppression.objects.covers(workspace, "sms", from_number)
    suppress(workspace, "sms", from_number, Suppression.Reason.SMS_STOP)
    if not already:
        # The confirmation itself must not be blocked by the suppression just
        # made: it is sent as a message to the team's own channel rules.
        compose.queue(
            workspace,
            to=from_number,
            subject="",
            text=f"{workspace.name}: you will receive no more texts from us.",
            kind=OutboundMessage.Kind.CONFIRMATION,
            idempotency_key=f"sms-stop:{workspace.pk}:{address_hash(from_number)}",
            channel="sms",
            to_client=False,
        )
    return True
