"""Automation rules: opt-in per workspace, and each one passes every gate.

A workspace turns rules on in `Workspace.automation` (rule name →
{"enabled": bool, "days": int}); all are off until an owner turns them on.
A scheduler job enqueues `run_rules` for every workspace with a rule on,
every ten minutes. One run is set-based: one query finds each rule's
candidates in the workspace, one engine `Snapshot` (a fixed number of
queries) judges all of them, and only then is anything written.

Every email to a client passes the gates of DESIGN.md, the same ones the
agenda applies (`agenda.gates.why_not`, the very same functions): no open
issue for the contact or its organization and no unhandled complaint;
readiness at or above the workspace's threshold and a customer or above for
a referral or testimonial; the cooldown per kind, the decline hold-back, a
permission's "not before" date, one ask a day. Outreach adds its own: email
consent and an address that is not suppressed, no automated email to a
client already emailed today, and at most one per client per run.

Each fact acts once: an automated ask carries `Ask.automation_key` (unique),
e.g. `auto:testimonial:deal:42`, and a follow-up or a reminder has its
outbox idempotency key, so a rule run twice — or by two workers at once —
asks once.
"""

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from rapport.agenda import gates as agenda_gates
from rapport.agenda.actions import decide
from rapport.agenda.engine import fill_scripts
from rapport.agenda.facts import Snapshot
from rapport.agenda.models import AgendaDecision
from rapport.agenda.rules import Run
from rapport.agenda.scripts import bodies_for, render
from rapport.clients.actions import changing
from rapport.clients.models import ConsentRecord, Contact, Deal, DealStage, Purchase
from rapport.kinds import Channel
from rapport.outreach import compose
from rapport.outreach.actions import start_ask
from rapport.outreach.calendar import PERMISSION_WORDS, open_permissions
from rapport.outreach.models import (
    Ask,
    AskKind,
    OutboundMessage,
    Outcome,
    Suppression,
    address_hash,
)
from rapport.workspaces.models import Membership, Role, Workspace

log = logging.getLogger(__name__)

# A rule looks back this many days past its own delay, so a worker that was
# down for a day or two catches up; older facts are left alone.
CATCH_UP_DAYS = 3
# A follow-up is sent only while the original link stays open this long.
FOLLOW_UP_LINK_DAYS = 2


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    default_days: int
    max_days: int
    days_label: str
    explanation: str  # plain words; {days} is the rule's delay
    to_client: bool = True


RULES = (
    Rule(
        "testimonial_after_project",
        "Ask for a testimonial after a project",
        2,
        60,
        "Days after the deal is completed",
        "{days} days after a deal is marked completed, the client gets an email asking for a "
        "few words about the project, with a link to a page where they write them and choose "
        "how their name is shown. Nothing is published without their consent.",
    ),
    Rule(
        "questionnaire_after_purchase",
        "Send a questionnaire after a purchase",
        7,
        60,
        "Days after the purchase or visit",
        "{days} days after a purchase or visit, the client gets a short questionnaire: how "
        "likely they are to recommend you (0 to 10) and what could have been better. A low "
        "score opens an issue and tells the contact's owner at once.",
    ),
    Rule(
        "permission_reminder",
        "Remind us before a permission comes due",
        7,
        60,
        "Days before the date",
        "{days} days before a client's permission to ask comes due, the contact's owner (or, "
        "for a contact nobody owns, the workspace owners) gets a reminder email, so the "
        "follow-up does not come as a surprise. Nothing is sent to the client.",
        to_client=False,
    ),
    Rule(
        "follow_up_non_responders",
        "Follow up once when a client does not answer",
        5,
        21,
        "Days without an answer",
        "{days} days after an ask by email that got no answer, the client gets one short "
        "reminder with the same link. Never a second one, and none after they answered, "
        "declined or unsubscribed.",
    ),
)
RULES_BY_NAME = {rule.name: rule for rule in RULES}


@dataclass(frozen=True)
class Setting:
    enabled: bool
    days: int


def rule_settings(workspace) -> dict[str, Setting]:
    """Each rule's setting, defaults filled in; anything malformed in the
    stored JSON reads as "off" or as the default delay."""
    stored = workspace.automation if isinstance(workspace.automation, dict) else {}
    found = {}
    for rule in RULES:
        entry = stored.get(rule.name)
        entry = entry if isinstance(entry, dict) else {}
        try:
            days = int(entry.get("days", rule.default_days))
        except (TypeError, ValueError):
            days = rule.default_days
        if not 1 <= days <= rule.max_days:
            days = rule.default_days
        found[rule.name] = Setting(entry.get("enabled") is True, days)
    return found


def save_settings(workspace, settings: dict[str, Setting]) -> None:
    stored = dict(workspace.automation) if isinstance(workspace.automation, dict) else {}
    for name, setting in settings.items():
        if name in RULES_BY_NAME:
            stored[name] = {"enabled": bool(setting.enabled), "days": int(setting.days)}
    workspace.automation = stored
    Workspace.objects.filter(pk=workspace.pk).update(automation=stored)


def any_enabled(workspace) -> bool:
    return any(setting.enabled for setting in rule_settings(workspace).values())


# -- the gates ---------------------------------------------------------------


def _midnight(day: dt.date, tz) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=tz)


class Gates:
    """Every gate of DESIGN.md for a set of candidate contacts, judged from one
    engine Snapshot and two more queries, whatever their number."""

    def __init__(self, workspace, on: dt.date, contacts: list[Contact]):
        ids = sorted({contact.pk for contact in contacts})
        self.workspace, self.on = workspace, on
        self.snapshot = Snapshot(workspace, on, ids)
        self.run = Run(self.snapshot)
        hashes = {address_hash("email", contact.email) for contact in contacts if contact.email}
        self.suppressed = set(
            Suppression.objects.filter(
                workspace=workspace, channel="email", address_hash__in=hashes
            ).values_list("address_hash", flat=True)
        )
        # The consent log's latest word for each, in one query.
        self.consent_on_record = ConsentRecord.objects.granted_ids("email", ids)
        self.emailed_today = set(
            OutboundMessage.objects.filter(
                workspace=workspace,
                to_client=True,
                contact_id__in=ids,
                created_at__gte=_midnight(on, workspace.tzinfo),
            ).values_list("contact_id", flat=True)
        )

    def problem(self, contact: Contact, ask_kind: str, *, cooldown: bool = True) -> str | None:
        """Why this contact may not be emailed this ask now, or None."""
        i = self.snapshot.index.get(contact.pk)
        if i is None:
            return "the contact was erased"
        if not self.workspace.postal_address.strip():
            return "the workspace has no postal address (required in every email to clients)"
        if not contact.email:
            return "no email address"
        if not contact.email_ok:
            return "no consent to email"
        if contact.pk not in self.consent_on_record:
            return "no consent to email on record"
        if address_hash("email", contact.email) in self.suppressed:
            return "the address is on the suppression list"
        if contact.pk in self.emailed_today:
            return "already emailed today"
        skip = () if cooldown else ("cooldown",)
        return agenda_gates.why_not(self.run, i, ask_kind, skip=skip)

    def gave_testimonial(self, contact: Contact) -> bool:
        i = self.snapshot.index.get(contact.pk)
        return i is not None and bool(self.snapshot.testimonials[i])


# -- the candidates: one query per rule --------------------------------------


@dataclass
class Candidate:
    rule: str
    contact: Contact
    ask_kind: str
    key: str
    fact: str  # what it is about, in plain words (for the log)
    ask: Ask | None = None  # a follow-up: the ask it follows up
    subject: str = ""  # a follow-up: the subject of the first email
    sent_on: dt.date | None = None


def _key(prefix: str, column: str = "pk"):
    return Concat(Value(prefix), Cast(column, CharField()))


def _not_yet_asked(queryset, prefix: str):
    return queryset.annotate(auto_key=_key(prefix)).filter(
        ~Exists(Ask.objects.filter(automation_key=OuterRef("auto_key")))
    )


def _window(on: dt.date, days: int) -> tuple[dt.date, dt.date]:
    return on - dt.timedelta(days=days + CATCH_UP_DAYS), on - dt.timedelta(days=days)


def testimonial_candidates(workspace, on: dt.date, days: int) -> list[Candidate]:
    deals = _not_yet_asked(
        Deal.objects.filter(
            workspace=workspace,
            completed_on__range=_window(on, days),
            contact__erased_at=None,
        ).exclude(stage=DealStage.LOST),
        "auto:testimonial:deal:",
    )
    return [
        Candidate(
            "testimonial_after_project",
            deal.contact,
            AskKind.TESTIMONIAL,
            deal.auto_key,
            f"deal {deal.pk} completed on {deal.completed_on}",
        )
        for deal in deals.select_related("contact", "contact__owner").order_by("completed_on", "pk")
    ]


def questionnaire_candidates(workspace, on: dt.date, days: int) -> list[Candidate]:
    purchases = _not_yet_asked(
        Purchase.objects.filter(
            workspace=workspace, date__range=_window(on, days), contact__erased_at=None
        ),
        "auto:questionnaire:purchase:",
    )
    return [
        Candidate(
            "questionnaire_after_purchase",
            purchase.contact,
            AskKind.FEEDBACK,
            purchase.auto_key,
            f"purchase {purchase.pk} on {purchase.date}",
        )
        for purchase in purchases.select_related("contact", "contact__owner").order_by("date", "pk")
    ]


def follow_up_candidates(workspace, on: dt.date, days: int, now: dt.datetime) -> list[Candidate]:
    """Asks by email, sent `days` days ago (or a little more), not answered,
    with their link still open, and not followed up yet."""
    tz = workspace.tzinfo
    first, last = _window(on, days)
    sent = OutboundMessage.objects.filter(
        ask=OuterRef("pk"),
        channel="email",
        kind=OutboundMessage.Kind.ASK,
        status=OutboundMessage.Status.SENT,
    ).order_by("sent_at", "pk")
    asks = (
        Ask.objects.filter(
            workspace=workspace,
            channel=Channel.EMAIL,
            outcome=Outcome.PENDING,
            answered_at=None,
            token_expires_at__gt=now + dt.timedelta(days=FOLLOW_UP_LINK_DAYS),
            contact__erased_at=None,
        )
        # "Is it fixed for you?" has its own timing (silence counts as yes).
        .exclude(kind="recovery")
        .annotate(
            first_sent_at=Subquery(sent.values("sent_at")[:1]),
            first_subject=Subquery(sent.values("subject")[:1]),
            follow_up_key=_key("auto:follow_up:ask:"),
        )
        .filter(
            first_sent_at__gte=_midnight(first, tz),
            first_sent_at__lt=_midnight(last + dt.timedelta(days=1), tz),
        )
        .filter(~Exists(OutboundMessage.objects.filter(idempotency_key=OuterRef("follow_up_key"))))
        .select_related("contact", "contact__owner", "workspace")
        .order_by("first_sent_at", "pk")
    )
    return [
        Candidate(
            "follow_up_non_responders",
            ask.contact,
            ask.kind,
            ask.follow_up_key,
            f"ask {ask.pk} sent on {timezone.localtime(ask.first_sent_at, tz).date()}",
            ask=ask,
            subject=ask.first_subject or "",
            sent_on=timezone.localtime(ask.first_sent_at, tz).date(),
        )
        for ask in asks
    ]


# -- acting ------------------------------------------------------------------

SCRIPT_FOR_RULE = {
    "testimonial_after_project": "ask_testimonial",
    "questionnaire_after_purchase": "feedback",
}
SUBJECT_FOR_RULE = {
    "testimonial_after_project": "Would you share a few words, {first_name}?",
    "questionnaire_after_purchase": "How did we do, {first_name}?",
}


def _fields(contact: Contact, workspace) -> dict[str, str]:
    owner = contact.owner.first_name if contact.owner_id and contact.owner else ""
    return {
        "first_name": contact.first_name,
        "name": contact.name,
        "business": workspace.name,
        "me": owner or "the team",
    }


def _ask(candidate: Candidate, workspace, bodies: dict[str, str]) -> None:
    fields = _fields(candidate.contact, workspace)
    body = render(bodies.get(SCRIPT_FOR_RULE[candidate.rule], ""), fields)
    ask = start_ask(
        candidate.contact,
        kind=candidate.ask_kind,
        channel=Channel.EMAIL,
        script=body,
        automation_key=candidate.key,
    )
    compose.ask_email(ask, subject=render(SUBJECT_FOR_RULE[candidate.rule], fields), body=body)


def _follow_up(candidate: Candidate, workspace) -> None:
    ask, contact = candidate.ask, candidate.contact
    subject = candidate.subject or f"{workspace.name}"
    if not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    text, html = compose.client_email(
        workspace,
        paragraphs=[
            f"{contact.first_name}, a short follow-up to our message of {candidate.sent_on}, "
            "in case it got buried.",
            *ask.script.split("\n\n"),
            "If now isn't a good time, there is no need to reply: this is the only reminder "
            "we will send about it.",
        ],
        button=compose.BUTTON_FOR_PAGE.get(ask.page, "Open"),
        link=compose.PAGE_LINK,
    )
    compose.queue(
        workspace,
        to=contact.email,
        subject=subject[:250],
        text=text,
        html=html,
        kind=OutboundMessage.Kind.ASK,
        idempotency_key=candidate.key,
        contact=contact,
        ask=ask,
    )


@dataclass
class RunReport:
    sent: Counter = field(default_factory=Counter)
    held: list[tuple[str, int, str]] = field(default_factory=list)  # rule, contact, why

    @property
    def total(self) -> int:
        return sum(self.sent.values())


def run(workspace, on: dt.date | None = None, now: dt.datetime | None = None) -> RunReport:
    """Run the workspace's rules that are on, once."""
    now = now or timezone.now()
    on = on or workspace.today(now)
    config = rule_settings(workspace)
    report = RunReport()

    candidates: list[Candidate] = []
    # A conversation already started comes first; then the new asks.
    if config["follow_up_non_responders"].enabled:
        days = config["follow_up_non_responders"].days
        candidates += follow_up_candidates(workspace, on, days, now)
    if config["testimonial_after_project"].enabled:
        candidates += testimonial_candidates(
            workspace, on, config["testimonial_after_project"].days
        )
    if config["questionnaire_after_purchase"].enabled:
        candidates += questionnaire_candidates(
            workspace, on, config["questionnaire_after_purchase"].days
        )

    if candidates:
        gates = Gates(workspace, on, [candidate.contact for candidate in candidates])
        bodies = bodies_for(workspace)
        emailed: set[int] = set()
        # One change: the agenda of the contacts asked is refreshed once, at the end.
        with changing():
            for candidate in candidates:
                contact = candidate.contact
                is_follow_up = candidate.ask is not None
                why = (
                    "one automated email per client at a time"
                    if contact.pk in emailed
                    else gates.problem(contact, candidate.ask_kind, cooldown=not is_follow_up)
                )
                if not why and candidate.rule == "testimonial_after_project":
                    why = "already gave a testimonial" if gates.gave_testimonial(contact) else None
                if why:
                    report.held.append((candidate.rule, contact.pk, why))
                    continue
                try:
                    with transaction.atomic():
                        if is_follow_up:
                            _follow_up(candidate, workspace)
                        else:
                            _ask(candidate, workspace, bodies)
                except IntegrityError:
                    # Another worker ran the same rule at the same moment and won.
                    continue
                emailed.add(contact.pk)
                report.sent[candidate.rule] += 1
                log.info(
                    "%s: %s for %s (%s)", workspace.slug, candidate.rule, contact.pk, candidate.fact
                )

    if config["permission_reminder"].enabled:
        report.sent["permission_reminder"] += remind_permissions(
            workspace, on, config["permission_reminder"].days
        )
    return report


def remind_permissions(workspace, on: dt.date, days: int) -> int:
    """A reminder to the team for each permission coming due within `days`
    days, once (idempotency key per permission and recipient)."""
    prefix = "auto:permission_reminder:permission:"
    reminded = OutboundMessage.objects.filter(
        workspace=workspace,
        kind=OutboundMessage.Kind.REMINDER,
        idempotency_key__startswith=OuterRef("reminder_prefix"),
    )
    permissions = list(
        open_permissions(workspace)
        .filter(ask_after__gt=on, ask_after__lte=on + dt.timedelta(days=days))
        .annotate(reminder_prefix=Concat(_key(prefix), Value(":")))
        .filter(~Exists(reminded))
        .select_related("contact")
        .order_by("ask_after", "pk")
    )
    if not permissions:
        return 0
    members = {}
    owners = []
    for user_id, email, role in Membership.objects.filter(
        workspace=workspace, user__is_active=True
    ).values_list("user_id", "user__email", "role"):
        if email:
            members[user_id] = email
            if role == Role.OWNER:
                owners.append((user_id, email))
    count = 0
    for permission in permissions:
        contact = permission.contact
        owner = contact.owner_id
        # Only a current member hears about the workspace's clients.
        recipients = [(owner, members[owner])] if owner in members else owners
        left = (permission.ask_after - on).days
        when = "tomorrow" if left == 1 else f"in {left} days"
        link = compose.absolute(reverse("clients:detail", args=[contact.pk]))
        text = (
            f"{contact.name} agreed on {permission.granted_on} to be asked for "
            f"{PERMISSION_WORDS[permission.kind]} on or after {permission.ask_after}: "
            f"{when}.\n\n"
            "The follow-up will be on your agenda that day, and in your calendar feed. "
            "Until then, a touch keeps the relationship warm: a call, a note, something "
            f"useful.\n\n{link}\n"
        )
        for user_id, email in recipients:
            compose.team_email(
                workspace,
                to=email,
                subject=f"{when.capitalize()}: you may ask {contact.name}",
                text=text,
                key=f"{prefix}{permission.pk}:{user_id}",
                kind=OutboundMessage.Kind.REMINDER,
                about=contact,
            )
            count += 1
    return count


# -- the scheduler's side ------------------------------------------------------


@task()
def run_rules(workspace_id: int) -> int:
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None or not any_enabled(workspace):
        return 0
    return run(workspace).total


def schedule() -> int:
    """Scheduler job (every ten minutes): enqueue the rules of every workspace
    with one turned on. Running twice is harmless: each fact acts once."""
    count = 0
    for workspace in Workspace.objects.only("pk", "automation"):
        if any_enabled(workspace):
            run_rules.enqueue(workspace.pk)
            count += 1
    return count


# -- a batch from Today ------------------------------------------------------

WINBACK_SUBJECT = "We miss you, {first_name}"


def send_winback_batch(workspace, items, *, by) -> tuple[int, Counter]:
    """Win-back calls beyond a day's capacity, sent as emails instead: the
    reactivation words and a link to the facilitative questions. Each passes
    every gate (consent, suppression, postal address, an open issue, one ask
    a day...); the others stay on the agenda, with the count of why."""
    items = list(items)
    if not items:
        return 0, Counter()
    on = workspace.today()
    gates = Gates(workspace, on, [item.contact for item in items])
    fill_scripts(workspace, items)
    sent, skipped = 0, Counter()
    for item in items:
        problem = gates.problem(item.contact, AskKind.REACTIVATION)
        if problem:
            skipped[problem] += 1
            continue
        fields = _fields(item.contact, workspace)
        with changing():
            ask = start_ask(
                item.contact,
                kind=AskKind.REACTIVATION,
                channel=Channel.EMAIL,
                script=item.script,
                by=by,
                automation_key=f"batch:{item.key}:{item.contact_id}",
            )
            compose.ask_email(ask, subject=render(WINBACK_SUBJECT, fields), body=item.script)
            decide(item, AgendaDecision.Status.DONE, by=by)
        gates.emailed_today.add(item.contact_id)  # one per client, even twice in a batch
        sent += 1
    return sent, skipped
