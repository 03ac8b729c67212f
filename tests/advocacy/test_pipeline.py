import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from rapport.advocacy import actions, facts
from rapport.advocacy.models import Referral, ReferralEvent
from rapport.clients import actions as clients
from rapport.clients.models import Deal, Stage
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today, first_name="Ann", email="ann@example.com")


@pytest.fixture
def referral(ann, today):
    bob = factories.contact(ann.workspace, first_name="Bob", last_name="Stone")
    return factories.referral(ann, today, referred=bob)


def test_a_card_moves_through_every_step_and_each_move_is_recorded(alice_client, referral, today):
    for step in ("contacted", "meeting", "lost"):
        data = {"status": step, "lost_reason": "price" if step == "lost" else ""}
        response = alice_client.post(reverse("advocacy:move", args=[referral.pk]), data)
        assert response.status_code == 302
    referral.refresh_from_db()
    assert (referral.status, referral.lost_reason, referral.closed_on) == ("lost", "price", today)
    moves = list(referral.events.order_by("at", "pk").values_list("from_status", "to_status"))
    assert moves == [
        ("", "new"),
        ("new", "contacted"),
        ("contacted", "meeting"),
        ("meeting", "lost"),
    ]


def test_lost_without_a_reason_is_refused_and_changes_nothing(alice_client, referral):
    response = alice_client.post(reverse("advocacy:move", args=[referral.pk]), {"status": "lost"})
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "new" and referral.events.count() == 1
    with pytest.raises(actions.Refused, match="why"):
        actions.move_referral(referral, "lost", on=referral.date)


def test_won_links_the_won_deal_and_credits_its_value_to_the_referrer(referral, today, ann):
    deal = clients.save_deal(
        Deal(
            workspace=ann.workspace,
            contact=referral.referred,
            title="Implants",
            stage="won",
            won_on=today,
            value=Decimal("2400"),
        )
    )
    referral.refresh_from_db()
    # Winning the deal made Bob a client: his referral was won by itself.
    assert referral.status == "won" and referral.won_deal == deal
    assert referral.value == Decimal("2400.00")
    assert referral.events.filter(to_status="won", via=ReferralEvent.Via.AUTO).exists()
    assert facts.referrer_credit(ann.workspace, [ann.pk])[ann.pk] == (1, 1, Decimal("2400.00"))


def test_won_by_hand_takes_the_first_purchase_after_the_referral(referral, today, ann):
    bob = referral.referred
    clients.change_stage(bob, Stage.CUSTOMER)  # by hand: no automatic win
    clients.record_purchase(bob, today - dt.timedelta(days=40), Decimal("50"))  # before
    clients.record_purchase(bob, today, Decimal("180"))
    referral.refresh_from_db()
    assert referral.status == "new"
    moved = actions.move_referral(referral, "won", on=today)
    assert moved.won_purchase.date == today and moved.value == Decimal("180.00")
    # Back to open: the credit goes with it.
    reopened = actions.move_referral(moved, "meeting", on=today)
    assert reopened.value is None and reopened.won_purchase is None and reopened.closed_on is None


def test_a_first_purchase_by_import_wins_the_referral_too(referral, acme, today, ann):
    from rapport.clients.imports import import_files

    bob = referral.referred
    csv = f"contact,date,amount\n{bob.external_id},{today},95\n"
    reports = import_files(acme, [("purchases.csv", csv)])
    assert reports[0].imported
    referral.refresh_from_db()
    assert referral.status == "won" and referral.value == Decimal("95.00")


def test_import_status_goes_through_the_same_move(acme, ann, today):
    from rapport.clients.imports import import_files

    bob = factories.contact(acme, first_name="Bob", last_name="Stone", external_id="B-1")
    ann.external_id = "A-1"
    ann.save()
    csv = f"referrer,referred,date,status\nA-1,B-1,{today},meeting\n"
    assert import_files(acme, [("referrals.csv", csv)])[0].imported
    referral = Referral.objects.get(referrer=ann, referred=bob)
    assert referral.status == "meeting" and referral.how == "imported"
    assert list(referral.events.order_by("at", "pk").values_list("to_status", "via")) == [
        ("new", "import"),
        ("meeting", "import"),
    ]
    csv = f"referrer,referred,date,status\nA-1,B-1,{today},lost\n"
    assert import_files(acme, [("referrals.csv", csv)])[0].imported
    referral.refresh_from_db()
    # The file has no column for the reason: it says where it came from.
    assert (referral.status, referral.lost_reason) == ("lost", "other")
    assert referral.lost_note == "Marked lost in an import"


def test_a_referral_nobody_touched_for_a_week_is_stale(referral, today, ann):
    workspace = ann.workspace
    old = today - dt.timedelta(days=12)
    Referral.objects.filter(pk=referral.pk).update(date=old, touched_on=old)
    ReferralEvent.objects.filter(referral=referral).update(on=old)
    stale = facts.stale_referrals(workspace, today)
    assert [(s.referral_id, s.days, s.contact_id) for s in stale] == [
        (referral.pk, 12, referral.referred_id)
    ]
    # A call with the friend is a touch; and the past is replayable.
    factories.activity(referral.referred, today - dt.timedelta(days=2), kind="call")
    assert facts.stale_referrals(workspace, today) == []
    three_days_ago = today - dt.timedelta(days=3)
    assert [s.days for s in facts.stale_referrals(workspace, three_days_ago)] == [9]


def test_the_board_shows_every_step_filters_and_stays_within_its_queries(
    alice_client, ann, today, django_assert_max_num_queries
):
    workspace = ann.workspace
    for n, step in enumerate(["new", "contacted", "meeting", "won", "lost"] * 4):
        friend = factories.contact(workspace, first_name=f"F{n}", last_name="Friend")
        r = factories.referral(ann, today - dt.timedelta(days=n * 3), referred=friend)
        if step != "new":
            actions.move_referral(r, step, on=today, lost_reason="timing")
    with django_assert_max_num_queries(20):
        response = alice_client.get(reverse("advocacy:board"))
    page = response.content.decode()
    for label in ("New", "Contacted", "Meeting", "Won", "Lost"):
        assert f">{label} <small" in page
    assert "F19 Friend" in page
    response = alice_client.get(reverse("advocacy:board"), {"age": "week"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert "F0 Friend" in page and "F19 Friend" not in page and "<html" not in page
    response = alice_client.get(reverse("advocacy:board"), {"referrer": "nobody"})
    assert "F0 Friend" not in response.content.decode()


def test_a_move_from_the_board_by_htmx_returns_the_board(alice_client, referral):
    response = alice_client.post(
        reverse("advocacy:move", args=[referral.pk]),
        {"status": "contacted", "age": "week"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert 'id="board"' in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == "contacted"


def test_the_referrer_is_told_in_one_click_by_email_or_call(alice_client, referral, today, ann):
    from rapport.outreach.models import OutboundMessage

    clients.record_consent(ann, "email", True, "test", "test")
    url = reverse("advocacy:tell_referrer", args=[referral.pk])
    alice_client.post(url, {"channel": "email"})
    assert not OutboundMessage.objects.filter(contact=ann).exists()  # not won yet: refused
    actions.move_referral(referral, "won", on=today)
    assert facts.referrer_updates_due(ann.workspace, today)[0].referral_id == referral.pk
    alice_client.post(url, {"channel": "email"})
    message = OutboundMessage.objects.get(
        contact=ann, idempotency_key=f"referrer-update:{referral.pk}"
    )
    assert "Bob is with us" in message.subject
    alice_client.post(url, {"channel": "email"})  # once
    assert (
        OutboundMessage.objects.filter(idempotency_key__startswith="referrer-update").count() == 1
    )
    assert facts.referrer_updates_due(ann.workspace, today) == []


def test_a_confidential_profession_needs_the_friends_agreement_first(referral, today, ann):
    from rapport.advocacy.models import ReferralProgram

    ReferralProgram.objects.create(workspace=ann.workspace, profile="healthcare")
    actions.move_referral(referral, "won", on=today)
    with pytest.raises(actions.Refused, match="confidential"):
        actions.tell_referrer(referral, channel="call")
    update = actions.tell_referrer(referral, channel="call", friend_agreed=True)
    assert update.done_at is None
    assert actions.call_made(update, on=today)
    assert ann.activities.filter(kind="call", direction="out").exists()


def test_the_referred_persons_page_moves_their_referral_the_same_way(alice_client, referral):
    bob = referral.referred
    page = alice_client.get(reverse("clients:detail", args=[bob.pk])).content.decode()
    assert "Their referral" in page
    response = alice_client.post(
        reverse("advocacy:move", args=[referral.pk]),
        {"status": "contacted", "from": "contact", "next": f"/contacts/{bob.pk}/"},
    )
    assert response.status_code == 302 and response["Location"] == f"/contacts/{bob.pk}/"
    event = referral.events.latest("at")
    assert (event.to_status, event.via) == ("contacted", "contact")
