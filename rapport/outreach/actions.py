"""Asks and the answers clients give on their pages: one path for every
entry point (Today, the contact page, automation rules, the client pages)."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.advocacy.actions import receive_names, record_testimonial
from rapport.agenda.actions import ask_kind_for, decide
from rapport.agenda.engine import fill_scripts
from rapport.agenda.models import AgendaDecision, AgendaItem
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
    normalize_address,
)
from rapport.workspaces import audit

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
        ask.outcome, ask.outcome_at = Outcome.ANSWERED, timezone.now()
        ask.save(update_fields=["outcome", "outcome_at"])
        if answer.band == "detractor":
            # The issue quotes what went wrong (their experience), not what
            # they would improve; the suggestion follows when there is one.
            words = experience.strip() or "no comment"
            if improve.strip():
                words += f" — would improve: {improve.strip()}"
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
            about=contact,
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


def suppress(workspace, channel: str, address: str, reason: str, *, request=None) -> Suppression:
    """Add an address to the suppression list and withdraw the matching
    contacts' consent, at once, with a consent record each; queued messages
    to it will not go out. The address is compared in its one normal form
    (a phone number as E.164), however it was typed or sent. A new entry is
    written to the security log (by whom, when `request` is given)."""
    key = normalize_address(channel, address, workspace.phone_region)
    with changing():
        suppression, created = Suppression.objects.get_or_create(
            workspace=workspace,
            channel=channel,
            address_hash=address_hash(channel, key),
            defaults={"address": key, "reason": reason},
        )
        if created:
            # The entry's id, never the address: the log outlives an erasure.
            audit.record(
                audit.Kind.SUPPRESSED,
                workspace=workspace,
                target=audit.target(suppression),
                detail={"channel": channel, "reason": reason},
                request=request,
            )
        for contact in _contacts_at(workspace, channel, key):
            if getattr(contact, f"{channel}_ok"):
                label = Suppression.Reason(reason).label if reason in Suppression.Reason else reason
                record_consent(contact, channel, False, f"{label}: {key}", reason)
        OutboundMessage.objects.filter(
            workspace=workspace,
            channel=channel,
            to_client=True,
            to_address__in=_stored_forms(channel, key),
            status=OutboundMessage.Status.QUEUED,
        ).update(status=OutboundMessage.Status.SUPPRESSED, last_error=f"suppressed: {reason}")
    return suppression


def _stored_forms(channel: str, key: str) -> list[str]:
    # Emails were always compared without regard to case; an outbox row
    # written before numbers were normalised may still hold the raw form.
    return [key] if channel == "sms" else [key, key.upper()]


def _contacts_at(workspace, channel: str, key: str):
    contacts = Contact.objects.filter(workspace=workspace)
    if channel == "sms":
        return contacts.filter(phone=key)
    return contacts.filter(email__iexact=key)


def unsubscribe(message: OutboundMessage) -> Suppression:
    return suppress(
        message.workspace, message.channel, message.to_address, Suppression.Reason.UNSUBSCRIBED
    )


# -- text replies ----------------------------------------------------------


def sms_reply(
    workspace, from_number: str, body: str, *, meaning: str | None = None, confirm: bool = True
) -> str:
    """An inbound text, by what it asks (sms.read_reply, unless the provider
    already said): an opt-out ends all texts to the number at once, with one
    confirmation (none if it had already opted out); START, UNSTOP or YES
    from a number that opted out by text rejoins, with a consent record and
    one confirmation; HELP answers who is writing and how to stop.
    `confirm=False` when the provider has answered the keyword itself.
    Returns the reply's meaning (an sms.Reply)."""
    from rapport.outreach.sms import Reply, read_reply

    number = normalize_address("sms", from_number, workspace.phone_region)
    meaning = Reply(meaning) if meaning else read_reply(body)
    if meaning == Reply.OPT_OUT:
        _opt_out(workspace, number, confirm)
    elif meaning == Reply.OPT_IN:
        if not _opt_in(workspace, number, body, confirm):
            return Reply.OTHER  # a "yes" from a number that never opted out
    elif meaning == Reply.HELP and confirm:
        _help(workspace, number)
    return meaning


def _confirm(workspace, number: str, text: str, key: str) -> None:
    # A message to the number itself, outside the consent rules: a reply it
    # asked for. Its idempotency key makes it one, however often asked.
    compose.queue(
        workspace,
        to=number,
        subject="",
        text=text,
        kind=OutboundMessage.Kind.CONFIRMATION,
        idempotency_key=key,
        channel="sms",
        to_client=False,
    )


def _opt_out(workspace, number: str, confirm: bool = True) -> None:
    already = Suppression.objects.covers(workspace, "sms", number)
    suppression = suppress(workspace, "sms", number, Suppression.Reason.SMS_STOP)
    if confirm and not already:
        # One confirmation, within minutes, and nothing else in it (FCC 24-24).
        _confirm(
            workspace,
            number,
            f"{workspace.name}: you will receive no more texts from us. Reply START to rejoin.",
            f"sms-stop:{workspace.pk}:{suppression.pk}",
        )


def _opt_in(workspace, number: str, words: str, confirm: bool = True) -> bool:
    """Lift an opt-out made by text. Other suppressions (an erasure, an entry
    made by hand) are not the sender's to lift by text."""
    with changing():
        stop = Suppression.objects.filter(
            workspace=workspace,
            channel="sms",
            address_hash=address_hash("sms", number),
            reason=Suppression.Reason.SMS_STOP,
        ).first()
        if stop is None:
            return False
        stop_id = stop.pk
        stop.delete()
        for contact in _contacts_at(workspace, "sms", number):
            record_consent(
                contact,
                "sms",
                True,
                f"Replied {words.strip()[:40]!r} from {number} to rejoin texts from "
                f"{workspace.name}",
                "sms reply",
            )
    if confirm:
        _confirm(
            workspace,
            number,
            f"{workspace.name}: you will receive our texts again. "
            "Reply STOP to opt out, HELP for help.",
            f"sms-start:{workspace.pk}:{stop_id}",
        )
    return True


def record_item_outcome(
    item: AgendaItem,
    outcome: str,
    *,
    by,
    channel: str,
    ask_after: dt.date | None = None,
    names: list[dict] | None = None,
    note: str = "",
) -> Ask:
    """The contact was asked, from an agenda item; record how it went, in one
    step (the ask, a permission granted, names received, the decision)."""
    contact = item.contact
    workspace = contact.workspace
    today = workspace.today()
    kind = ask_kind_for(item)
    fill_scripts(workspace, [item])
    with changing():
        ask = start_ask(
            contact,
            kind=kind,
            channel=channel,
            script=item.script,
            by=by,
            page=False,
            outcome=outcome,
            note=note,
        )
        granted = outcome == Outcome.LATER or (
            kind == AskKind.PERMISSION and outcome == Outcome.YES
        )
        if granted:
            record_permission(
                contact,
                kind=PermissionKind.BOTH if kind == AskKind.PERMISSION else kind,
                ask_after=ask_after or today + dt.timedelta(days=90),
                granted_on=today,
                source=(
                    Permission.Source.UPFRONT_CONTRACT
                    if kind == AskKind.PERMISSION
                    else Permission.Source.ASK_ME_LATER
                ),
                note=note,
                by=by,
            )
        if outcome == Outcome.GAVE_NAMES and names:
            receive_names(contact, names, on=today)
        decide(item, AgendaDecision.Status.DONE, by=by)
        facts_changed(workspace, [contact.pk])
    return ask


def _help(workspace, number: str) -> None:
    from rapport.workspaces.models import Membership, Role

    owner = (
        Membership.objects.filter(workspace=workspace, role=Role.OWNER)
        .exclude(user__email="")
        .order_by("created_at", "pk")
        .values_list("user__email", flat=True)
        .first()
    )
    reach = f" Questions: {owner}." if owner else ""
    _confirm(
        workspace,
        number,
        f"{workspace.name}: texts about your visits and our service.{reach} Reply STOP to opt out.",
        # At most one answer a day: a HELP loop with another robot ends there.
        f"sms-help:{workspace.pk}:{address_hash('sms', number)[:16]}:{workspace.today()}",
    )


# -- sending paused by the sender's fault ----------------------------------


def pause_sending(workspace, channel: str, reason: str, message=None):
    """Stop sending to clients on this channel for the workspace: the server
    or the account refused (authentication, relay, policy, server error).
    Nobody's consent changes; messages wait. The owners are told once per
    pause, in the app (a banner) and by email when mail can still go out.
    Returns the new pause, or None when one was already on."""
    from rapport.outreach.models import DeliveryPause

    try:
        with transaction.atomic():
            pause = DeliveryPause.objects.create(
                workspace=workspace, channel=channel, reason=reason[:2000], message=message
            )
    except IntegrityError:
        return None  # already paused (by another worker a moment ago, perhaps)
    audit.record(
        audit.Kind.SENDING_PAUSED,
        workspace=workspace,
        target=audit.target(pause),
        detail={"channel": channel, "message": getattr(message, "pk", None)},
    )
    what = "Emails" if channel == "email" else "Texts"
    link = compose.absolute("/outbox/")
    for email in _workspace_owner_emails(workspace):
        compose.team_email(
            workspace,
            to=email,
            subject=f"{what} to your clients are paused: the server refused",
            text=(
                f"{what} from {workspace.name} to clients are paused, because the "
                f"{'mail server' if channel == 'email' else 'SMS provider'} refused a message "
                f"for a reason that is not the client's:\n\n{reason}\n\n"
                "Nobody was unsubscribed and no consent was changed. Messages wait in the "
                "outbox. Fix the cause (the server's password, the sending domain, the "
                'account), then press "Resume sending" in Rapport:\n'
                f"{link}\n"
            ),
            key=f"pause:{pause.pk}:{email}",
        )
    return pause


def resume_sending(workspace, channel: str, by=None) -> int:
    """Lift the pause: what waited goes out, and messages that failed through
    the sender's fault are queued again. Returns how many were re-queued."""
    from rapport.outreach.models import DeliveryPause

    now = timezone.now()
    with changing():
        active = DeliveryPause.objects.active().filter(workspace=workspace, channel=channel)
        for pause in active:
            # An alert not delivered yet is news no longer.
            OutboundMessage.objects.filter(
                workspace=workspace,
                idempotency_key__startswith=f"pause:{pause.pk}:",
                status=OutboundMessage.Status.QUEUED,
            ).update(status=OutboundMessage.Status.CANCELLED)
        lifted = list(active.values_list("pk", flat=True))
        active.update(lifted_at=now, lifted_by=by)
        requeued = OutboundMessage.objects.filter(
            workspace=workspace,
            channel=channel,
            to_client=True,
            status=OutboundMessage.Status.FAILED,
            failure=OutboundMessage.Failure.SENDER,
        ).update(
            status=OutboundMessage.Status.QUEUED,
            failure="",
            attempts=0,
            next_attempt_at=now,
        )
        for pk in lifted:
            audit.record(
                audit.Kind.SENDING_RESUMED,
                workspace=workspace,
                actor=by,
                target=f"deliverypause:{pk}",
                detail={"channel": channel, "requeued": requeued},
            )
    from rapport.outreach.tasks import deliver_due

    transaction.on_commit(deliver_due.enqueue)
    return requeued


def _workspace_owner_emails(workspace) -> list[str]:
    from rapport.workspaces.models import Membership, Role

    return list(
        Membership.objects.filter(workspace=workspace, role=Role.OWNER, user__is_active=True)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
