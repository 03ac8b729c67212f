import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from rapport.advocacy import actions, profiles, rewards
from rapport.advocacy.models import ReferralProgram, Reward, RewardRule
from rapport.outreach.models import OutboundMessage
from tests import factories


def rule(workspace, **fields):
    defaults = {
        "name": "Thank you",
        "wording": "10% off your next visit",
        "recipient": "both",
        "trigger": "arrival",
        "kind": "percentage",
        "percent": 10,
    }
    return rewards.save_rule(RewardRule(workspace=workspace, **{**defaults, **fields}))


@pytest.fixture
def ann(acme, today):
    person = factories.client_with_history(acme, today, first_name="Ann", email="ann@example.com")
    from rapport.clients.actions import record_consent

    record_consent(person, "email", True, "test", "test")
    return person


def friend(ann, today, name="Bob"):
    return actions.receive_names(ann, [{"first_name": name, "last_name": "Friend"}], on=today)[0]


@pytest.mark.django_db
def test_a_rule_rewards_both_sides_on_arrival_and_emails_the_code(ann, acme, today):
    rule(acme, valid_days=30)
    bob = friend(ann, today)
    issued = {r.role: r for r in Reward.objects.all()}
    assert set(issued) == {"referrer", "friend"}
    assert issued["referrer"].contact == ann and issued["friend"].contact == bob
    assert issued["referrer"].expires_on == today + dt.timedelta(days=30)
    message = OutboundMessage.objects.get(idempotency_key=f"reward:{issued['referrer'].pk}")
    assert issued["referrer"].display in message.body_text
    # The friend gave no email consent: shown at once, not emailed.
    assert not OutboundMessage.objects.filter(contact=bob).exists()


@pytest.mark.django_db
def test_on_won_rewards_wait_for_the_win_and_come_once(ann, acme, today):
    rule(acme, trigger="won", recipient="referrer")
    bob = friend(ann, today)
    referral = bob.referrals_received.get()
    assert not Reward.objects.exists()
    actions.move_referral(referral, "won", on=today)
    actions.move_referral(referral, "meeting", on=today)
    actions.move_referral(referral, "won", on=today)
    assert Reward.objects.count() == 1


@pytest.mark.django_db
def test_caps_per_referrer_per_period_hold(ann, acme, today):
    rule(acme, recipient="referrer", cap_count=2, cap_period="year")
    for name in ("Bob", "Cy", "Di"):
        friend(ann, today, name)
    assert Reward.objects.filter(contact=ann).count() == 2
    assert rewards.period_start("quarter", dt.date(2026, 8, 14)) == dt.date(2026, 7, 1)


@pytest.mark.django_db
def test_expiry_is_honoured_at_the_desk(alice_client, ann, acme, today):
    rule(acme, recipient="referrer", valid_days=10)
    friend(ann, today)
    reward = Reward.objects.get()
    late = rewards.redeem(reward, on=today + dt.timedelta(days=11))
    assert not late.ok and "Expired" in late.message
    on_time = rewards.redeem(reward, on=today + dt.timedelta(days=10))
    assert on_time.ok
    again = rewards.redeem(reward, on=today)
    assert not again.ok and "Already redeemed" in again.message


@pytest.mark.django_db
def test_the_desk_finds_a_code_however_it_is_typed_and_redeems_in_one_click(
    alice_client, ann, acme, today
):
    rule(acme, recipient="referrer")
    friend(ann, today)
    reward = Reward.objects.get()
    typed = f" {reward.display.lower()} "
    page = alice_client.get(reverse("advocacy:desk"), {"code": typed}).content.decode()
    assert "10% off your next visit" in page and "Redeem now" in page
    response = alice_client.post(reverse("advocacy:redeem", args=[reward.pk]))
    assert response.status_code == 302
    reward.refresh_from_db()
    assert reward.redeemed_at and reward.redeemed_by.email == "alice@example.com"
    page = alice_client.get(reverse("advocacy:desk"), {"code": reward.code}).content.decode()
    assert "Already redeemed" in page and "Redeem now" not in page


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_redemptions_of_one_code_make_one(acme, alice, today):
    ann = factories.client_with_history(acme, today, first_name="Ann")
    rule(acme, recipient="referrer")
    friend(ann, today)
    reward = Reward.objects.get()
    results, barrier = [], threading.Barrier(20)

    def attempt():
        try:
            barrier.wait()
            results.append(rewards.redeem(Reward.objects.get(pk=reward.pk), by=alice, on=today).ok)
        finally:
            connection.close()  # each thread's own connection

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 19 + [True]
    reward.refresh_from_db()
    assert reward.redeemed_at is not None


@pytest.mark.django_db
def test_a_profile_refuses_a_forbidden_rule_with_its_reason(alice_client, acme):
    ReferralProgram.objects.create(workspace=acme, profile="healthcare")
    response = alice_client.post(
        reverse("advocacy:rule_new"),
        {
            "name": "Cash",
            "wording": "$50 for every patient you send",
            "recipient": "referrer",
            "trigger": "arrival",
            "kind": "amount",
            "amount": "50",
            "cap_period": "year",
            "active": "on",
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "no cash or cash-equivalent reward for referring patients" in page
    assert "anti-kickback" in page
    assert not RewardRule.objects.exists()
    # A nominal gift passes; one over the nominal value does not.
    ok = RewardRule(
        workspace=acme,
        name="Flowers",
        wording="A bunch of flowers",
        recipient="referrer",
        trigger="arrival",
        kind="gift",
        amount=Decimal("12"),
    )
    rewards.save_rule(ok)
    ok.amount = Decimal("40")
    with pytest.raises(rewards.RuleRefused, match="nominal"):
        rewards.save_rule(ok)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "profile,fields,reason",
    [
        ("legal", {"kind": "percentage", "percent": 10}, "ABA Model Rule 7.2"),
        (
            "legal",
            {"kind": "gift", "amount": Decimal("20"), "trigger": "won", "wording": "Wine"},
            "expected as payment",
        ),
        ("financial", {"kind": "percentage", "percent": 5}, "FINRA Rule 2040"),
        (
            "healthcare",
            {"kind": "gift", "amount": Decimal("10"), "wording": "A gift card"},
            "cash equivalent",
        ),
    ],
)
def test_each_profession_profile_says_why(acme, profile, fields, reason):
    program = ReferralProgram(workspace=acme, profile=profile)
    candidate = RewardRule(
        workspace=acme,
        name="x",
        wording=fields.pop("wording", "A thank-you"),
        recipient="referrer",
        trigger=fields.pop("trigger", "arrival"),
        **fields,
    )
    with pytest.raises(rewards.RuleRefused) as refused:
        rewards.check_rule(candidate, program)
    assert reason in str(refused.value)


@pytest.mark.django_db
def test_no_reward_is_ever_conditioned_on_a_rating_or_a_review(ann, acme, today):
    for wording in ("10% off for a 5-star review", "A gift for rating us on Google"):
        with pytest.raises(rewards.RuleRefused, match="465.4"):
            rule(acme, wording=wording)
    # Nothing a rule can say ties it to one: the triggers are referral steps.
    assert set(RewardRule.Trigger.values) == {"arrival", "won"}
    rule(acme, recipient="referrer")
    happy = factories.client_with_history(acme, today, first_name="Hap")
    unhappy = factories.client_with_history(acme, today, first_name="Unh")
    actions.record_testimonial(happy, "Wonderful", on=today, rating=5)
    actions.record_testimonial(unhappy, "Poor", on=today, rating=1)
    for person in (happy, unhappy):
        friend(person, today, f"Friend of {person.first_name}")
    assert Reward.objects.filter(contact=happy).count() == 1
    assert Reward.objects.filter(contact=unhappy).count() == 1


@pytest.mark.django_db
def test_changing_profile_pauses_the_rules_it_forbids(acme):
    cash = rule(acme, kind="amount", amount=Decimal("25"), percent=None, wording="$25 credit")
    program = ReferralProgram.for_workspace(acme)
    paused = rewards.set_profile(program, "legal")
    cash.refresh_from_db()
    assert paused == [cash] and not cash.active and "7.2(b)" in cash.paused_reason


@pytest.mark.django_db
def test_rewarded_contacts_are_known_for_the_disclosure(ann, acme, today):
    rule(acme, recipient="referrer")
    other = factories.contact(acme, first_name="Zed")
    friend(ann, today)
    assert rewards.rewarded_contact_ids(acme) == {ann.pk}
    assert rewards.rewarded_contact_ids(acme, [other.pk]) == set()


@pytest.mark.django_db
def test_the_settings_page_says_a_profile_is_not_legal_advice(alice_client):
    page = alice_client.get(reverse("advocacy:settings")).content.decode()
    assert profiles.NOT_LEGAL_ADVICE.split(";")[0] in page
    response = alice_client.post(
        reverse("advocacy:settings"),
        {"profile": "legal", "headline": "Welcome", "pitch": "We help.", "currency": "gbp"},
    )
    assert response.status_code == 302
    assert ReferralProgram.objects.get().currency == "GBP"
