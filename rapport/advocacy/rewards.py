"""Rewards: the workspace's rules, the codes they issue, redemption at the desk.

A reward follows a referral — its arrival or the friend becoming a client —
never a rating, a review or a testimonial (16 CFR 465.4). It is issued once
per rule, referral and side (a unique constraint), within the rule's cap per
referrer and period, shown at once and emailed. Redemption is one
conditional UPDATE, so twenty clicks at once redeem it once.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.advocacy import profiles, testimonials
from rapport.advocacy.codes import REWARD_LENGTH, new_code, normalise
from rapport.advocacy.models import Referral, ReferralProgram, Reward, RewardRule
from rapport.clients.models import Contact


class RuleRefused(ValueError):
    def __init__(self, reasons: list[tuple[str, str]]):
        self.reasons = reasons
        super().__init__("; ".join(reason for _, reason in reasons))


def check_rule(rule: RewardRule, program: ReferralProgram) -> None:
    """Raise RuleRefused with every reason the workspace's profile refuses it."""
    problems = []
    if rule.kind == RewardRule.Kind.PERCENTAGE and not rule.percent:
        problems.append(("percent", "Give the percentage."))
    if rule.kind == RewardRule.Kind.AMOUNT and not rule.amount:
        problems.append(("amount", "Give the amount."))
    problems += profiles.refusals(program.profile, rule)
    if problems:
        raise RuleRefused(problems)


def save_rule(rule: RewardRule) -> RewardRule:
    check_rule(rule, ReferralProgram.for_workspace(rule.workspace))
    if rule.kind != RewardRule.Kind.PERCENTAGE:
        rule.percent = None
    rule.paused_reason = ""
    rule.save()
    return rule


def set_profile(program: ReferralProgram, profile: str) -> list[RewardRule]:
    """Change the profile; active rules it forbids are paused, with the reason."""
    program.profile = profile
    program.updated_at = timezone.now()
    paused = []
    with transaction.atomic():
        program.save()
        for rule in RewardRule.objects.filter(workspace_id=program.workspace_id, active=True):
            found = profiles.refusals(profile, rule)
            if found:
                rule.active = False
                rule.paused_reason = " ".join(reason for _, reason in found)[:300]
                rule.save(update_fields=["active", "paused_reason"])
                paused.append(rule)
    return paused


def period_start(period: str, on: dt.date) -> dt.date | None:
    if period == RewardRule.Period.MONTH:
        return on.replace(day=1)
    if period == RewardRule.Period.QUARTER:
        return on.replace(month=3 * ((on.month - 1) // 3) + 1, day=1)
    if period == RewardRule.Period.YEAR:
        return on.replace(month=1, day=1)
    return None


def _within_cap(rule: RewardRule, referral: Referral, role: str, on: dt.date) -> bool:
    if not rule.cap_count:
        return True
    issued = Reward.objects.filter(rule=rule, role=role, referral__referrer_id=referral.referrer_id)
    start = period_start(rule.cap_period, on)
    if start:
        issued = issued.filter(issued_on__gte=start)
    return issued.count() < rule.cap_count


def issue_for(referral: Referral, trigger: str, *, on: dt.date) -> list[Reward]:
    """Issue what the active rules give for this referral at this step."""
    rules = list(
        RewardRule.objects.filter(workspace_id=referral.workspace_id, active=True, trigger=trigger)
    )
    if not rules:
        return []
    program = ReferralProgram.for_workspace(referral.referrer.workspace)
    issued = []
    with transaction.atomic():
        # Serialise rewards per referrer, so two referrals at once respect a cap.
        Contact.objects.select_for_update().filter(pk=referral.referrer_id).first()
        for rule in rules:
            if profiles.refusals(program.profile, rule):
                continue  # a rule the profile forbids gives nothing, even if left on
            for role, contact_id in (
                (Reward.Role.REFERRER, referral.referrer_id),
                (Reward.Role.FRIEND, referral.referred_id),
            ):
                if not rule.rewards(role) or not _within_cap(rule, referral, role, on):
                    continue
                reward = _create(rule, referral, role, contact_id, on)
                if reward:
                    issued.append(reward)
        # A reward is a material connection: every testimonial of the person
        # rewarded now says so beside the words (16 CFR 255.5), in the same
        # transaction as the reward, so no page shows one without the other.
        rewarded = {reward.contact_id for reward in issued}
        for person in (referral.referrer, referral.referred):
            if person.pk in rewarded:
                testimonials.mark_rewarded(person)
    for reward in issued:
        _email(reward)
    return issued


def _create(rule, referral, role, contact_id, on) -> Reward | None:
    for _ in range(5):
        try:
            with transaction.atomic():
                return Reward.objects.create(
                    workspace_id=referral.workspace_id,
                    rule=rule,
                    referral=referral,
                    contact_id=contact_id,
                    role=role,
                    code=new_code(REWARD_LENGTH),
                    wording=rule.wording,
                    kind=rule.kind,
                    amount=rule.amount,
                    percent=rule.percent,
                    issued_on=on,
                    expires_on=on + dt.timedelta(days=rule.valid_days) if rule.valid_days else None,
                )
        except IntegrityError:
            if Reward.objects.filter(rule=rule, referral=referral, role=role).exists():
                return None  # issued already: once per rule, referral and side
    return None


def _email(reward: Reward) -> None:
    from rapport.outreach import compose
    from rapport.outreach.models import OutboundMessage

    contact = Contact.objects.select_related("workspace").get(pk=reward.contact_id)
    if not (contact.email and contact.email_ok):
        return  # shown on the page or at the desk; the outbox checks consent again anyway
    expiry = f" It is valid until {reward.expires_on:%-d %B %Y}." if reward.expires_on else ""
    why = (
        "Thank you for recommending us."
        if reward.role == Reward.Role.REFERRER
        else "Welcome — a friend of yours recommended us."
    )
    text, html = compose.client_email(
        contact.workspace,
        paragraphs=[
            f"Dear {contact.first_name},",
            f"{why} Here is your reward: {reward.wording}.",
            f"Your code: {reward.display}. Just show or tell it to us — nothing to print, "
            f"nothing to send.{expiry}",
        ],
    )
    compose.queue(
        contact.workspace,
        to=contact.email,
        subject=f"Your reward from {contact.workspace.name}: {reward.wording}",
        text=text,
        html=html,
        kind=OutboundMessage.Kind.CONFIRMATION,
        idempotency_key=f"reward:{reward.pk}",
        contact=contact,
    )


@dataclass
class Redemption:
    ok: bool
    reward: Reward | None
    message: str


def find_reward(workspace, typed: str) -> Reward | None:
    code = normalise(typed)
    if not code:
        return None
    return (
        Reward.objects.filter(workspace=workspace, code=code)
        .select_related("contact", "redeemed_by", "referral__referrer", "referral__referred")
        .first()
    )


def redeem(reward: Reward, *, by=None, on: dt.date, now: dt.datetime | None = None) -> Redemption:
    """Redeem once: one conditional UPDATE, so concurrent attempts make one."""
    now = now or timezone.now()
    won = Reward.objects.unredeemed(on).filter(pk=reward.pk).update(redeemed_at=now, redeemed_by=by)
    reward.refresh_from_db()
    if won:
        return Redemption(True, reward, f"Redeemed: {reward.wording} for {reward.contact.name}.")
    if reward.redeemed_at:
        when = timezone.localtime(reward.redeemed_at, reward.contact.workspace.tzinfo)
        return Redemption(False, reward, f"Already redeemed on {when:%-d %B %Y at %H:%M}.")
    return Redemption(False, reward, f"Expired on {reward.expires_on:%-d %B %Y}.")


def rewarded_contact_ids(workspace, contact_ids=None) -> set[int]:
    """Contacts who received any reward — a material connection that a
    testimonial of theirs must disclose (16 CFR 255)."""
    rewards = Reward.objects.filter(workspace=workspace)
    if contact_ids is not None:
        rewards = rewards.filter(contact_id__in=list(contact_ids))
    return set(rewards.values_list("contact_id", flat=True).distinct())
