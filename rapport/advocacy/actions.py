"""Referrals, introductions, codes, thank-yous and gives: one path for every
entry point (the board, the contact page, the client pages, the landing
page, the desk, the CSV import, later the API). Rewards live in
`rewards.py`, merging two contacts in `merge.py`; both are called from here.
"""

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.advocacy import matching, seal
from rapport.advocacy.codes import REFERRAL_LENGTH, new_code
from rapport.advocacy.models import (
    GiveOutcome,
    Introduction,
    MergeSuggestion,
    Referral,
    ReferralCode,
    ReferralEvent,
    ReferralGiven,
    ReferralProgram,
    ReferrerUpdate,
    RewardRule,
    Testimonial,
    ThankYou,
)
from rapport.clients.actions import (
    changing,
    create_contact,
    facts_changed,
    log_activity,
    promote,
    record_consent,
)
from rapport.clients.models import (
    ActivityKind,
    Contact,
    Deal,
    DealStage,
    Direction,
    Issue,
    Purchase,
    Stage,
)

Status = Referral.Status
Via = ReferralEvent.Via


class Refused(ValueError):
    """A change the rules do not allow; the message says why, for the user."""


class SelfReferral(Refused):
    pass


def referral_source(referrer: Contact, how: str = "") -> str:
    # Within the column: a long name must not make the whole answer fail.
    limit = Contact._meta.get_field("source").max_length
    prefix = {
        Referral.How.LINK: "referral link of",
        Referral.How.CODE: "referral code of",
    }.get(how, "referred by")
    return f"{prefix} {referrer.name}"[:limit]


def _check_not_self(referrer: Contact, referred: Contact) -> None:
    if referrer.pk == referred.pk or matching.is_self_referral(
        referrer, email=referred.email, phone=referred.phone
    ):
        raise SelfReferral("A client cannot refer themselves.")


# -- the pipeline ------------------------------------------------------------


def record_referral(
    referrer: Contact,
    referred: Contact,
    *,
    on: dt.date,
    how: str = Referral.How.UNKNOWN,
    unsolicited: bool = False,
    status: str = Status.NEW,
    note: str = "",
    may_mention: bool = False,
    wants_intro: bool = False,
    code: ReferralCode | None = None,
    by=None,
    via: str = Via.CONTACT,
    arrived: bool = True,
    lost_reason: str = "",
) -> Referral:
    """A referral arrives. The referrer is promoted (advocate, then raving
    fan), thanked (a thank-you task) and, where a rule says so, rewarded;
    the agenda asks them for the other names. `arrived=False`: the friend is
    still to accept an introduction, and rewards on arrival wait for that.
    A status other than new is reached through `move_referral`, as on the
    board."""
    from rapport.advocacy import rewards

    _check_not_self(referrer, referred)
    with changing():
        referral, created = Referral.objects.get_or_create(
            workspace_id=referrer.workspace_id,
            referrer=referrer,
            referred=referred,
            defaults={
                "date": on,
                "how": how,
                "unsolicited": unsolicited,
                "status": Status.NEW,
                "note": note,
                "may_mention": may_mention,
                "wants_intro": wants_intro,
                "code": code,
                "touched_on": on,
            },
        )
        if created:
            ReferralEvent.objects.create(
                workspace_id=referral.workspace_id,
                referral=referral,
                to_status=Status.NEW,
                on=on,
                via=via,
                by=by,
            )
            thank_for_referral(referral)
            if via != Via.IMPORT and arrived:
                rewards.issue_for(referral, RewardRule.Trigger.ARRIVAL, on=on)
        if referred.referred_by_id is None:
            referred.referred_by = referrer
            referred.save(update_fields=["referred_by", "updated_at"])
        if status != Status.NEW and referral.status != status:
            # A referral recorded as already lost, with no reason given: "other".
            reason = lost_reason or (Referral.LostReason.OTHER if status == Status.LOST else "")
            move_referral(referral, status, on=on, by=by, via=via, lost_reason=reason)
        promote(referrer.workspace, [referrer.pk])
        facts_changed(referrer.workspace, [referrer.pk, referred.pk])
    return referral


def won_fact(referral: Referral) -> tuple[Deal | None, Purchase | None]:
    """What made the friend a client: their first deal won on or after the
    referral, else their first purchase on or after it (else ever)."""
    deals = Deal.objects.filter(
        workspace_id=referral.workspace_id,
        contact_id=referral.referred_id,
        stage__in=[DealStage.WON, DealStage.COMPLETED],
    ).order_by("won_on", "pk")
    deal = deals.filter(won_on__gte=referral.date).first() or deals.first()
    if deal:
        return deal, None
    purchases = Purchase.objects.filter(
        workspace_id=referral.workspace_id, contact_id=referral.referred_id
    ).order_by("date", "pk")
    return None, purchases.filter(date__gte=referral.date).first() or purchases.first()


def move_referral(
    referral: Referral,
    to: str,
    *,
    on: dt.date,
    by=None,
    via: str = Via.BOARD,
    lost_reason: str = "",
    lost_note: str = "",
    deal: Deal | None = None,
    purchase: Purchase | None = None,
    value: Decimal | None = None,
    note: str = "",
) -> Referral:
    """Move a referral on the pipeline — the one way, for the board, the
    contact page, the import and the API. Won links the deal or the first
    purchase that made the friend a client and credits its value to the
    referrer; lost needs a reason. Returns the referral as it now is."""
    from rapport.advocacy import rewards

    if to not in Status.values:
        raise Refused(f"{to!r} is not a step of the pipeline.")
    if to == Status.LOST and lost_reason not in Referral.LostReason.values:
        raise Refused("Say why it was lost.")
    for fact in (deal, purchase):
        if fact is not None and fact.contact_id != referral.referred_id:
            raise Refused("That deal or purchase is not the referred person's.")
    with changing():
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        before = referral.status
        unchanged = before == to and to != Status.WON
        if unchanged and not (to == Status.LOST and lost_reason != referral.lost_reason):
            return referral
        referral.status = to
        referral.touched_on = max(on, referral.touched_on or on)
        referral.closed_on = on if to in (Status.WON, Status.LOST) else None
        referral.lost_reason = lost_reason if to == Status.LOST else ""
        referral.lost_note = lost_note[:300] if to == Status.LOST else ""
        if to == Status.WON:
            if deal is None and purchase is None:
                deal, purchase = won_fact(referral)
            referral.won_deal, referral.won_purchase = deal, purchase
            fact_value = deal.value if deal else purchase.amount if purchase else None
            referral.value = value if value is not None else fact_value
        else:
            referral.won_deal = referral.won_purchase = None
            referral.value = None
        referral.save()
        ReferralEvent.objects.create(
            workspace_id=referral.workspace_id,
            referral=referral,
            from_status=before,
            to_status=to,
            on=on,
            via=via,
            by=by,
            note=(note or lost_note)[:300],
        )
        if to == Status.WON and before != Status.WON and via != Via.IMPORT:
            rewards.issue_for(referral, RewardRule.Trigger.WON, on=on)
        workspace = referral.referrer.workspace
        promote(workspace, [referral.referrer_id])
        facts_changed(workspace, [referral.referrer_id, referral.referred_id])
    return referral


def became_clients(workspace, contact_ids, *, on: dt.date) -> int:
    """Friends who just became clients (a first purchase or deal won, by any
    path): their open referrals are won. Returns how many moved."""
    moved = 0
    for referral in Referral.objects.filter(
        workspace=workspace, referred_id__in=list(contact_ids), status__in=Referral.OPEN_STATUSES
    ).select_related("referrer__workspace"):
        move_referral(referral, Status.WON, on=on, via=Via.AUTO)
        moved += 1
    return moved


def touch_referral(referral: Referral, on: dt.date) -> None:
    Referral.objects.filter(pk=referral.pk).filter(
        Q(touched_on=None) | Q(touched_on__lt=on)
    ).update(touched_on=on)


# -- names that come in ------------------------------------------------------


def _person_contact(referrer: Contact, person: dict, *, source: str, intro: bool, by=None):
    """The contact a given name stands for, and the likely duplicates to offer
    for merge. A known person is reused; an introduced one is created with
    their name only (their details are sealed on the introduction)."""
    workspace = referrer.workspace
    email = matching.normal_email(person.get("email", ""))
    phone = (person.get("phone") or "").strip()
    found = matching.find_match(
        workspace,
        first_name=person["first_name"],
        last_name=person.get("last_name", ""),
        email=email,
        phone=phone,
        exclude={referrer.pk},
    )
    if found.contact is not None:
        return found.contact, [], False
    details = {} if intro else {"email": email, "phone": phone}
    contact = create_contact(
        workspace,
        by=by,
        first_name=person["first_name"][:100],
        last_name=(person.get("last_name") or "")[:100],
        source=source,
        referred_by=referrer,
        notes=person.get("note", "") if not intro else "",
        stage=Stage.PROSPECT,
        owner=referrer.owner,
        **details,
    )
    return contact, found.likely, True


def offer_merges(contact: Contact, likely) -> None:
    for other, reasons in likely:
        first, second = sorted([contact, other], key=lambda c: c.pk)
        MergeSuggestion.objects.get_or_create(
            workspace_id=contact.workspace_id,
            contact=second,
            candidate=first,
            defaults={"reasons": reasons},
        )


def receive_names(
    referrer: Contact,
    people: list[dict],
    *,
    on: dt.date,
    how=Referral.How.NAMES_GIVEN,
    by=None,
    via: str = Via.CONTACT,
    unsolicited: bool = False,
) -> list[Contact]:
    """Names given by a client. Each becomes a prospect referred by them —
    or, when we already know the person, the referral points at them. A
    person the client will introduce gets a double-opt-in introduction.
    Someone whose email or phone is the client's own is skipped."""
    received = []
    with changing():
        for person in people:
            if matching.is_self_referral(
                referrer, email=person.get("email", ""), phone=person.get("phone", "")
            ):
                continue
            intro = bool(person.get("wants_intro"))
            contact, likely, new = _person_contact(
                referrer, person, source=referral_source(referrer, how), intro=intro, by=by
            )
            if contact.pk == referrer.pk:
                continue
            referral = record_referral(
                referrer,
                contact,
                on=on,
                how=Referral.How.INTRO if intro and new else how,
                unsolicited=unsolicited,
                note=person.get("note", ""),
                may_mention=person.get("may_mention", False),
                wants_intro=intro,
                by=by,
                via=via,
                arrived=not (intro and new),
            )
            if intro and new and not hasattr(referral, "introduction"):
                start_introduction(
                    referral, {"email": person.get("email", ""), "phone": person.get("phone", "")}
                )
            offer_merges(contact, likely)
            contact.was_known = not new  # for the caller's message
            received.append(contact)
    return received


# -- double-opt-in introductions -----------------------------------------------


def start_introduction(referral: Referral, details: dict) -> Introduction:
    from rapport.outreach import tokens

    with transaction.atomic():
        intro = Introduction.objects.create(
            workspace_id=referral.workspace_id,
            referral=referral,
            sealed=seal.seal(details),
            token_salt=tokens.new_salt(),
            token_hash=f"pending:{tokens.new_salt()}",
            token_expires_at=timezone.now() + dt.timedelta(days=Introduction.TOKEN_DAYS),
        )
        intro.token_hash = tokens.hash_token(introduction_token(intro))
        intro.save(update_fields=["token_hash"])
        if referral.how != Referral.How.INTRO:
            Referral.objects.filter(pk=referral.pk).update(how=Referral.How.INTRO)
    return intro


def introduction_token(intro: Introduction) -> str:
    from rapport.outreach import tokens

    return tokens.derive("intro", intro.pk, intro.token_salt)


def introduction_by_token(token: str) -> Introduction | None:
    from rapport.outreach import tokens

    return (
        Introduction.objects.select_related("referral__referrer", "referral__referred", "workspace")
        .filter(token_hash=tokens.hash_token(token))
        .first()
    )


def mark_introduction_sent(intro: Introduction, *, on: dt.date, via: str, by=None) -> None:
    if intro.state != Introduction.State.DRAFTED:
        return
    with changing():
        Introduction.objects.filter(pk=intro.pk, state=Introduction.State.DRAFTED).update(
            state=Introduction.State.SENT, sent_on=on, sent_via=via[:40]
        )
        touch_referral(intro.referral, on)
        facts_changed(intro.referral.referrer.workspace, [intro.referral.referrer_id])


def _claim_introduction(intro: Introduction) -> bool:
    # Single use: of twenty answers at once, one gets True.
    return bool(
        Introduction.objects.filter(
            pk=intro.pk,
            answered_at=None,
            state__in=[Introduction.State.DRAFTED, Introduction.State.SENT],
        ).update(answered_at=timezone.now())
    )


ACCEPT_TEXT = "{business} may contact me by {channel} about what {referrer} suggested."


class AlreadyAnswered(Exception):
    pass


def accept_introduction(
    intro: Introduction, *, email: str, phone: str, use_sealed: bool, on: dt.date
) -> Contact:
    """They chose to hear from the business: only now does it get their
    details (those they confirmed or typed), with their consent recorded."""
    referral = intro.referral
    contact = referral.referred
    sealed = seal.unseal(intro.sealed)
    if use_sealed:
        email = email or sealed.get("email", "")
        phone = phone or sealed.get("phone", "")
    business = intro.workspace.name
    with changing():
        if not _claim_introduction(intro):
            raise AlreadyAnswered
        fields = {"email": matching.normal_email(email)[:254], "phone": phone.strip()[:40]}
        for name, value in fields.items():
            if value:
                setattr(contact, name, value)
        contact.save(update_fields=["email", "phone", "updated_at"])
        for channel, address in (("email", fields["email"]), ("sms", fields["phone"])):
            if address:
                words = ACCEPT_TEXT.format(
                    business=business,
                    channel="email" if channel == "email" else "text message",
                    referrer=referral.referrer.first_name,
                )
                record_consent(contact, channel, True, words, "introduction")
        Introduction.objects.filter(pk=intro.pk).update(
            state=Introduction.State.ACCEPTED, sealed="", sent_on=intro.sent_on or on
        )
        ReferralEvent.objects.create(
            workspace_id=referral.workspace_id,
            referral=referral,
            from_status=referral.status,
            to_status=referral.status,
            on=on,
            via=Via.INTRO,
            note="Accepted the introduction",
        )
        touch_referral(referral, on)
        from rapport.advocacy import rewards

        # They have arrived now: rewards on arrival are issued (and emailed).
        rewards.issue_for(referral, RewardRule.Trigger.ARRIVAL, on=on)
        _tell_owner(
            referral,
            subject=f"{contact.name} would like to hear from you",
            text=f"{contact.name}, introduced by {referral.referrer.name}, accepted the "
            "introduction. Please get in touch soon.",
        )
        facts_changed(intro.workspace, [contact.pk, referral.referrer_id])
    return contact


def decline_introduction(intro: Introduction, *, on: dt.date) -> None:
    """No thanks: the sealed details are wiped, the referral is lost, and the
    address is suppressed so no import can bring automated mail to it."""
    from rapport.outreach.actions import suppress
    from rapport.outreach.models import Suppression

    referral = intro.referral
    sealed = seal.unseal(intro.sealed)
    with changing():
        if not _claim_introduction(intro):
            raise AlreadyAnswered
        Introduction.objects.filter(pk=intro.pk).update(
            state=Introduction.State.DECLINED, sealed=""
        )
        for channel, key in (("email", "email"), ("sms", "phone")):
            if sealed.get(key):
                suppress(intro.workspace, channel, sealed[key], Suppression.Reason.UNSUBSCRIBED)
        move_referral(
            referral,
            Status.LOST,
            on=on,
            via=Via.INTRO,
            lost_reason=Referral.LostReason.DECLINED_INTRO,
        )


def introduction_draft(intro: Introduction, link: str) -> dict[str, str]:
    """The note the referrer sends, as text to copy, a mailto: link and
    message links (SMS, WhatsApp)."""
    from urllib.parse import quote

    referral = intro.referral
    friend, referrer = referral.referred.first_name, referral.referrer.first_name
    business = intro.workspace.name
    subject = f"{referrer} thought you'd like to meet {business}"
    text = (
        f"Hi {friend}, I've been going to {business} and thought of you. "
        f"If you'd like to hear from them, tap here and say yes (or no thanks) — "
        f"they won't contact you otherwise: {link}\n{referrer}"
    )
    return {
        "subject": subject,
        "text": text,
        "link": link,
        "mailto": f"mailto:?subject={quote(subject)}&body={quote(text)}",
        "sms": f"sms:?&body={quote(text)}",
        "whatsapp": f"https://wa.me/?text={quote(text)}",
    }


def email_introduction_to_referrer(intro: Introduction, *, by=None):
    """Send the referrer the ready-made note to forward. Rapport never writes
    to the friend itself: they have not agreed to hear from anyone yet."""
    from rapport.outreach import compose
    from rapport.outreach.models import OutboundMessage

    referrer = intro.referral.referrer
    if not (referrer.email and referrer.email_ok):
        raise Refused(f"{referrer.first_name} has no email consent: give them the note in person.")
    link = compose.absolute(f"/i/{introduction_token(intro)}/")
    draft = introduction_draft(intro, "[[intro_link]]")
    text, html = compose.client_email(
        intro.workspace,
        paragraphs=[
            f"Thank you for offering to introduce {intro.referral.referred.first_name} to us, "
            f"{referrer.first_name}.",
            "Here is a short note you can forward or paste into a message. It has a link where "
            "they can say yes or no thanks; we will not contact them unless they say yes.",
            draft["text"],
        ],
    )
    # The friend's link is personal but not secret from the referrer: it is
    # written into the message here (an intro link grants no private data).
    text, html = text.replace("[[intro_link]]", link), html.replace("[[intro_link]]", link)
    message, _ = compose.queue(
        intro.workspace,
        to=referrer.email,
        subject=draft["subject"],
        text=text,
        html=html,
        kind=OutboundMessage.Kind.CONFIRMATION,
        idempotency_key=f"intro:{intro.pk}:to-referrer",
        contact=referrer,
        by=by,
    )
    mark_introduction_sent(
        intro, on=intro.workspace.today(), via="emailed to the referrer to forward", by=by
    )
    return message


def _tell_owner(referral: Referral, *, subject: str, text: str) -> None:
    from rapport.outreach import compose
    from rapport.workspaces.models import Membership, Role

    contact = referral.referred
    addresses = (
        [referral.referrer.owner.email]
        if referral.referrer.owner and referral.referrer.owner.email
        else list(
            Membership.objects.filter(workspace_id=referral.workspace_id, role=Role.OWNER)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    link = compose.absolute(f"/contacts/{contact.pk}/")
    for address in addresses:
        compose.team_email(
            contact.workspace,
            to=address,
            subject=subject,
            text=f"{text}\n{link}\n",
            key=f"referral-notice:{referral.pk}:{subject[:60]}:{address}",
        )


# -- referral links and codes --------------------------------------------------


def may_refer(contact: Contact) -> str:
    """ "" when the contact may be given a referral code; else why not."""
    if contact.erased_at:
        return "This contact was erased."
    if Stage.rank(contact.stage) < Stage.rank(Stage.CUSTOMER):
        return f"{contact.first_name} is not a client yet: codes are for customers and above."
    blocking = Issue.objects.blocking().filter(workspace_id=contact.workspace_id)
    org = Q(contact=contact)
    if contact.organization_id:
        org |= Q(contact__organization_id=contact.organization_id)
    if blocking.filter(org).exists():
        return "An issue is open: put it right before asking for referrals."
    return ""


def issue_code(contact: Contact) -> ReferralCode:
    """The contact's live code, made if they have none."""
    problem = may_refer(contact)
    if problem:
        raise Refused(problem)
    live = ReferralCode.objects.live().filter(contact=contact).first()
    if live:
        return live
    for _ in range(5):  # a collision in 6.6e11 is rare; retry rather than fail
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(
                    workspace_id=contact.workspace_id,
                    contact=contact,
                    code=new_code(REFERRAL_LENGTH),
                )
        except IntegrityError:  # the code, or a live one for them, exists
            live = ReferralCode.objects.live().filter(contact=contact).first()
            if live:
                return live
    raise Refused("Could not make a unique code; please try again.")


def issue_codes(workspace) -> int:
    """A code for everyone who may refer and has none, in bulk."""
    blocked = Issue.objects.blocking().filter(workspace=workspace)
    eligible = (
        Contact.objects.in_workspace(workspace)
        .active()
        .customers()
        .exclude(pk__in=blocked.values("contact_id"))
        .exclude(
            organization_id__in=blocked.exclude(contact__organization=None).values(
                "contact__organization_id"
            )
        )
        .exclude(
            pk__in=ReferralCode.objects.live().filter(workspace=workspace).values("contact_id")
        )
        .values_list("pk", flat=True)
    )
    ids = list(eligible)
    codes = [
        ReferralCode(workspace=workspace, contact_id=pk, code=new_code(REFERRAL_LENGTH))
        for pk in ids
    ]
    ReferralCode.objects.bulk_create(codes, batch_size=1000, ignore_conflicts=True)
    return len(codes)


def revoke_code(code: ReferralCode) -> None:
    ReferralCode.objects.filter(pk=code.pk, revoked_at=None).update(revoked_at=timezone.now())


def live_code(typed: str, workspace=None) -> ReferralCode | None:
    from rapport.advocacy.codes import normalise

    code = normalise(typed)
    if not code:
        return None
    queryset = ReferralCode.objects.live().select_related("contact", "workspace")
    if workspace is not None:
        queryset = queryset.filter(workspace=workspace)
    found = next(iter(queryset.filter(code=code).order_by()[:1]), None)
    return found if found and not found.contact.erased_at else None


def count_click(code: ReferralCode, now=None) -> bool:
    """One atomic UPDATE: a burst of clicks loses none. False when the code
    was revoked (or its owner erased) meanwhile."""
    from django.db.models import F

    return bool(
        ReferralCode.objects.filter(pk=code.pk, revoked_at=None).update(
            clicks=F("clicks") + 1, last_click_at=now or timezone.now()
        )
    )


def click(typed: str, now=None) -> bool:
    """A visit to `/r/<code>`: the click counted, in one statement that also
    says whether the code is live (unknown and revoked codes change nothing)."""
    from django.db.models import F

    from rapport.advocacy.codes import normalise

    code = normalise(typed)
    return bool(code) and bool(
        ReferralCode.objects.filter(code=code, revoked_at=None).update(
            clicks=F("clicks") + 1, last_click_at=now or timezone.now()
        )
    )


def record_lead(
    code: ReferralCode,
    *,
    first_name: str,
    last_name: str = "",
    email: str = "",
    phone: str = "",
    note: str = "",
    email_ok: bool = False,
    on: dt.date,
    how: str = Referral.How.LINK,
    by=None,
):
    """A lead through a personal link (the landing page) or a code typed at the
    desk: a prospect referred by the code's owner, the source recorded."""
    referrer = code.contact
    if matching.is_self_referral(referrer, email=email, phone=phone):
        raise SelfReferral("This is your own code: share it with a friend.")
    person = {"first_name": first_name, "last_name": last_name, "email": email, "phone": phone}
    with changing():
        contact, likely, new = _person_contact(
            referrer,
            {**person, "note": note},
            source=referral_source(referrer, how),
            intro=False,
            by=by,
        )
        if contact.pk == referrer.pk:
            raise SelfReferral("This is your own code: share it with a friend.")
        if email_ok and contact.email and not contact.email_ok:
            record_consent(
                contact,
                "email",
                True,
                f"Asked {code.workspace.name} to get in touch (referral {how})",
                f"referral {how}",
            )
        referral = record_referral(
            referrer,
            contact,
            on=on,
            how=how,
            note=note[:1000],
            code=code,
            by=by,
            via=Via.CONTACT if by else Via.API,
        )
        offer_merges(contact, likely)
        if by is None:
            _tell_owner(
                referral,
                subject=f"New lead from {referrer.name}'s referral link",
                text=f"{contact.name} came through {referrer.name}'s referral link"
                + (f" and wrote: {note}" if note else "."),
            )
    return referral


# -- thank-yous ----------------------------------------------------------------


def _kind_for(contact: Contact) -> str:
    if contact.address:
        return ThankYou.Kind.CARD
    if contact.email and contact.email_ok:
        return ThankYou.Kind.EMAIL
    return ThankYou.Kind.CARD


def thank_for_referral(referral: Referral) -> ThankYou | None:
    """Every referral is thanked; names given while a thank-you is still open
    share it ("thank you for Bob and Carla"). History brought in by an import
    (older than the referral moment's window) is not thanked now."""
    workspace = referral.referrer.workspace
    today = workspace.today()
    if (today - referral.date).days > workspace.window_for("referral"):
        return None
    referrer = referral.referrer
    open_one = (
        ThankYou.objects.open()
        .filter(workspace=workspace, contact=referrer, testimonial=None)
        .order_by("pk")
        .first()
    )
    if open_one:
        names = list(open_one.referrals.values_list("referred__first_name", flat=True))
        names.append(referral.referred.first_name)
        open_one.what_for = f"referring {_and(names)}"[:300]
        open_one.message = _referral_message(referrer, names)
        open_one.save(update_fields=["what_for", "message"])
        Referral.objects.filter(pk=referral.pk).update(thank_you=open_one)
        return open_one
    names = [referral.referred.first_name]
    thank_you = ThankYou.objects.create(
        workspace=workspace,
        contact=referrer,
        kind=_kind_for(referrer),
        source_key=f"referral:{referral.pk}",
        what_for=f"referring {_and(names)}"[:300],
        message=_referral_message(referrer, names),
        created_on=today,
    )
    Referral.objects.filter(pk=referral.pk).update(thank_you=thank_you)
    return thank_you


def thank_for_testimonial(testimonial: Testimonial) -> ThankYou | None:
    contact = testimonial.contact
    workspace = contact.workspace
    if (workspace.today() - testimonial.received_on).days > workspace.window_for("testimonial"):
        return None
    return ThankYou.objects.create(
        workspace_id=testimonial.workspace_id,
        contact=contact,
        kind=_kind_for(contact),
        source_key=f"testimonial:{testimonial.pk}",
        what_for="their testimonial",
        message=(
            f"Dear {contact.first_name},\n\nThank you for your kind words about "
            f"{contact.workspace.name}. They mean a great deal to all of us.\n\nWith thanks,"
        ),
        testimonial=testimonial,
        created_on=contact.workspace.today(),
    )


def _and(names: list[str]) -> str:
    names = list(dict.fromkeys(n for n in names if n))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _referral_message(referrer: Contact, names: list[str]) -> str:
    return (
        f"Dear {referrer.first_name},\n\nThank you so much for introducing {_and(names)} to us. "
        "We will look after them with the same care you have had.\n\nWith warm thanks,"
    )


def mark_card_sent(thank_you: ThankYou, *, by=None, on: dt.date) -> bool:
    """The card went out: a touch (an outgoing card activity) and the task done.
    Marked once: a second click changes nothing."""
    with changing():
        claimed = ThankYou.objects.filter(pk=thank_you.pk, done_at=None).update(
            done_at=timezone.now(), done_by=by, kind=ThankYou.Kind.CARD
        )
        if not claimed:
            return False
        activity = log_activity(
            thank_you.contact,
            by=by,
            occurred_on=on,
            kind=ActivityKind.CARD,
            direction=Direction.OUT,
            text=f"Thank-you card for {thank_you.what_for}",
            read_text=False,
        )
        ThankYou.objects.filter(pk=thank_you.pk).update(activity=activity)
    return True


def send_thank_you_email(thank_you: ThankYou, *, subject: str, body: str, by=None):
    """A thank-you by email through the outbox; the task is done when it is sent."""
    from rapport.outreach import compose
    from rapport.outreach.models import OutboundMessage

    contact = thank_you.contact
    if not (contact.email and contact.email_ok):
        raise Refused(f"{contact.first_name} has no email consent: send a card instead.")
    text, html = compose.client_email(contact.workspace, paragraphs=body.split("\n\n"))
    with changing():
        message, _ = compose.queue(
            contact.workspace,
            to=contact.email,
            subject=subject,
            text=text,
            html=html,
            kind=OutboundMessage.Kind.CONFIRMATION,
            idempotency_key=f"thank-you:{thank_you.pk}",
            contact=contact,
            by=by,
        )
        ThankYou.objects.filter(pk=thank_you.pk).update(email=message, kind=ThankYou.Kind.EMAIL)
        facts_changed(contact.workspace, [contact.pk])
    return message


def thank_you_done_elsewhere(workspace, contact_id: int, source: str, *, by=None) -> int:
    """The agenda's `thank` item was marked done on Today (a card activity was
    logged there): the thank-you task covering that moment is done too."""
    covering = ThankYou.objects.filter(workspace=workspace, contact_id=contact_id, done_at=None)
    kind, _, pk = source.partition(":")
    if kind == "referral" and pk.isdigit():
        covering = covering.filter(Q(source_key=source) | Q(referrals__pk=int(pk)))
    else:
        covering = covering.filter(source_key=source)
    return ThankYou.objects.filter(pk__in=covering.values("pk")).update(
        done_at=timezone.now(), done_by=by
    )


# -- telling the referrer --------------------------------------------------------


CONFIDENTIAL_PROFILES = {
    ReferralProgram.Profile.HEALTHCARE,
    ReferralProgram.Profile.LEGAL,
    ReferralProgram.Profile.FINANCIAL,
}


def tell_referrer(referral: Referral, *, channel: str, by=None, friend_agreed: bool = False):
    """One click: the referrer hears their friend became a client — an email
    through the outbox, or a call on the list. In a confidential profession
    the friend's agreement comes first (being a patient or client is private)."""
    from rapport.outreach import compose
    from rapport.outreach.models import OutboundMessage

    referral = Referral.objects.select_related("referrer__workspace", "referred").get(
        pk=referral.pk
    )
    workspace = referral.referrer.workspace
    if referral.status != Status.WON:
        raise Refused("Tell the referrer once their friend has become a client.")
    program = ReferralProgram.for_workspace(workspace)
    if program.profile in CONFIDENTIAL_PROFILES and not friend_agreed:
        raise Refused(
            f"{referral.referred.first_name} must agree first: in a {program.get_profile_display()}"
            " practice, being a client is confidential."
        )
    referrer = referral.referrer
    if channel == ReferrerUpdate.Channel.EMAIL and not (referrer.email and referrer.email_ok):
        raise Refused(f"{referrer.first_name} has no email consent: call them instead.")
    with changing():
        update, created = ReferrerUpdate.objects.get_or_create(
            referral=referral,
            defaults={
                "workspace": workspace,
                "channel": channel,
                "created_on": workspace.today(),
                "created_by": by,
            },
        )
        if not created:
            return update
        if channel == ReferrerUpdate.Channel.EMAIL:
            text, html = compose.client_email(
                workspace,
                paragraphs=[
                    f"Dear {referrer.first_name},",
                    f"Good news: {referral.referred.first_name} is now with us, thanks to you. "
                    "Thank you for thinking of us — it means a great deal.",
                ],
            )
            message, _ = compose.queue(
                workspace,
                to=referrer.email,
                subject=f"Thanks to you, {referral.referred.first_name} is with us",
                text=text,
                html=html,
                kind=OutboundMessage.Kind.CONFIRMATION,
                idempotency_key=f"referrer-update:{referral.pk}",
                contact=referrer,
                by=by,
            )
            ReferrerUpdate.objects.filter(pk=update.pk).update(
                email=message, done_at=timezone.now()
            )
        touch_referral(referral, workspace.today())
        facts_changed(workspace, [referrer.pk])
    return update


def call_made(update: ReferrerUpdate, *, by=None, on: dt.date) -> bool:
    with changing():
        if not ReferrerUpdate.objects.filter(pk=update.pk, done_at=None).update(
            done_at=timezone.now()
        ):
            return False
        log_activity(
            update.referral.referrer,
            by=by,
            occurred_on=on,
            kind=ActivityKind.CALL,
            direction=Direction.OUT,
            text=f"Told them {update.referral.referred.first_name} became a client",
            read_text=False,
        )
    return True


# -- give to get -----------------------------------------------------------------


def record_referral_given(
    contact: Contact, description: str, *, on: dt.date, by=None, introduced: str = ""
) -> ReferralGiven:
    """Give to get: a referral the business gave the client raises readiness."""
    with changing():
        given = ReferralGiven.objects.create(
            workspace_id=contact.workspace_id,
            contact=contact,
            description=description,
            introduced=introduced,
            given_on=on,
            created_by=by,
        )
        facts_changed(contact.workspace, [contact.pk])
    return given


def set_give_outcome(given: ReferralGiven, outcome: str, *, on: dt.date) -> None:
    if outcome not in GiveOutcome.values:
        raise Refused(f"{outcome!r} is not an outcome.")
    with changing():
        given.outcome = outcome
        given.outcome_on = None if outcome == GiveOutcome.WAITING else on
        given.save(update_fields=["outcome", "outcome_on"])
        facts_changed(given.contact.workspace, [given.contact_id])


# -- testimonials (moderation and the wall are the testimonials work) -------------


def record_testimonial(contact: Contact, text: str, *, on: dt.date, **fields) -> Testimonial:
    with changing():
        testimonial = Testimonial.objects.create(
            workspace_id=contact.workspace_id, contact=contact, text=text, received_on=on, **fields
        )
        thank_for_testimonial(testimonial)
        promote(contact.workspace, [contact.pk])
        facts_changed(contact.workspace, [contact.pk])
    return testimonial
