"""Profession profiles: which reward rules a workspace may create.

A profile limits; it does not give legal advice, and the product says so
where it is chosen. Each refusal carries its reason, in words an owner can
check with their own adviser. The strict side is the default where the law
varies (DESIGN notes: /shared/notes/advocacy.md).

Whatever the profile, no reward is ever conditioned on a rating or a review
(16 CFR 465.4; the review platforms forbid it too): a rule cannot be tied to
one, and wording that tries is refused.
"""

import re
from decimal import Decimal

from rapport.advocacy.models import ReferralProgram, RewardRule

Profile = ReferralProgram.Profile
Kind = RewardRule.Kind

NOT_LEGAL_ADVICE = (
    "A profile limits the reward rules you can create; it is not legal advice. "
    "Check the rules of your profession and state with your own adviser."
)

DESCRIPTIONS = {
    Profile.GENERAL: "Any reward: a gift, an amount or a percentage, for either side.",
    Profile.HEALTHCARE: (
        "No cash or cash-equivalent reward (money, credit, gift cards) for referring patients; "
        "only a nominal thank-you gift (at most 15 in your currency, the US OIG's nominal value), "
        "given whatever the friend decides. A new patient may be offered a discount on their "
        "own care."
    ),
    Profile.LEGAL: (
        "Nothing of value for recommending the practice except a nominal thank-you gift "
        "(at most 50 in your currency) that is neither intended nor expected as payment "
        "(ABA Model Rule 7.2(b)); never conditioned on the friend becoming a client."
    ),
    Profile.FINANCIAL: (
        "No cash and no percentage (transaction-based) reward for the referrer: paying "
        "unregistered people for referrals is restricted (FINRA Rule 2040), and a paid "
        "referral is an endorsement to disclose (SEC Marketing Rule). A non-cash gift "
        "(at most 100 in your currency) is allowed; the friend may get a fee discount."
    ),
}

NOMINAL_LIMIT = {
    Profile.HEALTHCARE: Decimal("15"),
    Profile.LEGAL: Decimal("50"),
    Profile.FINANCIAL: Decimal("100"),
}

# Words that tie a reward to a review, a rating or a testimonial.
_REVIEW_WORDS = re.compile(
    r"\b(review|reviews|reviewing|rating|ratings|rate us|stars|testimonials?|five.star|5.star"
    r"|feedback|google|yelp|trustpilot)\b",
    re.IGNORECASE,
)
_CASH_WORDS = re.compile(
    r"\b(cash|money|gift ?cards?|vouchers?|credit|paypal|venmo|bank transfer)\b", re.IGNORECASE
)

REVIEW_REASON = (
    "A reward can never depend on a review, a rating or a testimonial: incentives conditioned "
    "on what a review says are unlawful (16 CFR 465.4), and review platforms forbid rewards "
    "for reviews altogether. Rewards here follow referrals only."
)


def refusals(profile: str, rule: RewardRule) -> list[tuple[str, str]]:
    """(field, reason) for each way the rule breaks the profile; [] if it fits."""
    found: list[tuple[str, str]] = []
    words = f"{rule.name} {rule.wording}"
    if _REVIEW_WORDS.search(words):
        found.append(("wording", REVIEW_REASON))
    if profile == Profile.GENERAL:
        return found
    for_referrer = rule.rewards(RewardRule.Recipient.REFERRER)
    limit = NOMINAL_LIMIT[profile]
    gift_too_big = rule.kind == Kind.GIFT and (rule.amount is None or rule.amount > limit)
    if profile == Profile.HEALTHCARE and for_referrer:
        if rule.kind != Kind.GIFT:
            found.append(
                (
                    "kind",
                    "Healthcare: no cash or cash-equivalent reward for referring patients. The "
                    "federal anti-kickback statute (for patients of federal programmes) and many "
                    "state boards forbid paying for patient referrals; a nominal gift is the "
                    "strict side of what is allowed.",
                )
            )
        elif gift_too_big:
            found.append(("amount", _nominal(profile, limit)))
        if rule.kind == Kind.GIFT and _CASH_WORDS.search(words):
            found.append(
                ("wording", "Healthcare: a gift card, voucher or credit is a cash equivalent.")
            )
    if profile == Profile.LEGAL and for_referrer:
        if rule.kind != Kind.GIFT:
            found.append(
                (
                    "kind",
                    "Legal: nothing of value may be given for recommending a lawyer except a "
                    "nominal gift of appreciation (ABA Model Rule 7.2(b)); an amount or a "
                    "percentage is payment.",
                )
            )
        elif gift_too_big:
            found.append(("amount", _nominal(profile, limit)))
        if rule.trigger == RewardRule.Trigger.WON:
            found.append(
                (
                    "trigger",
                    "Legal: a gift given only when the friend becomes a client is expected as "
                    "payment for the recommendation; thank on arrival, whatever they decide.",
                )
            )
        if rule.kind == Kind.GIFT and _CASH_WORDS.search(words):
            found.append(("wording", "Legal: cash, credit or a gift card is not a nominal gift."))
    if profile == Profile.FINANCIAL and for_referrer:
        if rule.kind == Kind.PERCENTAGE:
            found.append(
                (
                    "kind",
                    "Financial: a percentage is transaction-based compensation, which may not be "
                    "paid to people who are not registered (FINRA Rule 2040).",
                )
            )
        if rule.kind == Kind.AMOUNT:
            found.append(
                (
                    "kind",
                    "Financial: cash for referrals is restricted (FINRA Rule 2040) and makes the "
                    "referrer a paid promoter to disclose (SEC Marketing Rule); offer a "
                    "non-cash gift.",
                )
            )
        elif gift_too_big:
            found.append(("amount", _nominal(profile, limit)))
    return found


def _nominal(profile: str, limit: Decimal) -> str:
    label = Profile(profile).label.split(" (")[0]
    return (
        f"{label}: a thank-you gift must be nominal — give its value, at most {limit:.0f} in "
        "your currency."
    )
