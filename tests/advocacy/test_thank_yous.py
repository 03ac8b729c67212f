import pytest
from django.urls import reverse

from rapport.advocacy import actions, facts
from rapport.advocacy.models import ThankYou
from rapport.agenda import store
from rapport.agenda.actions import mark_done
from rapport.agenda.models import AgendaItem
from rapport.outreach.models import OutboundMessage
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(
        acme, today, first_name="Ann", email="ann@example.com", address="1 High St, Bath BA1 1AA"
    )


def test_names_given_together_are_thanked_with_one_card(ann, today):
    actions.receive_names(ann, [{"first_name": "Bob"}, {"first_name": "Cy"}], on=today)
    (thank_you,) = ThankYou.objects.all()
    assert (thank_you.kind, thank_you.what_for) == ("card", "referring Bob and Cy")
    assert "Bob and Cy" in thank_you.message
    rows = facts.open_thank_yous(ann.workspace, today)
    assert [(r.contact_id, r.kind, r.what_for) for r in rows] == [
        (ann.pk, "card", "referring Bob and Cy")
    ]


def test_every_testimonial_is_thanked(ann, today):
    words = actions.record_testimonial(ann, "Thank you!", on=today)
    assert ThankYou.objects.get(testimonial=words).source_key == f"testimonial:{words.pk}"


def test_marking_a_card_sent_is_a_touch_and_completes_the_thanks(alice_client, ann, today):
    actions.receive_names(ann, [{"first_name": "Bob"}], on=today)
    thank_you = ThankYou.objects.get()
    sheet = alice_client.get(reverse("advocacy:cards")).content.decode()
    assert "1 High St, Bath BA1 1AA" in sheet and "Thank you so much for introducing Bob" in sheet
    alice_client.post(reverse("advocacy:card_sent", args=[thank_you.pk]))
    alice_client.post(reverse("advocacy:card_sent", args=[thank_you.pk]))  # once
    card = ann.activities.get(kind="card")
    assert card.direction == "out" and card.text == "Thank-you card for referring Bob"
    assert facts.open_thank_yous(ann.workspace, today) == []
    referral = ann.referrals_made.get()
    assert facts.thanked_sources(ann.workspace) == {(ann.pk, f"referral:{referral.pk}")}


def test_a_thank_you_email_is_done_when_the_outbox_sent_it(alice_client, ann, today):
    from rapport.clients.actions import record_consent

    record_consent(ann, "email", True, "test", "test")
    words = actions.record_testimonial(ann, "Lovely", on=today)
    thank_you = ThankYou.objects.get(testimonial=words)
    response = alice_client.post(
        reverse("advocacy:thank_you_email", args=[thank_you.pk]),
        {"subject": "Thank you, Ann", "body": "Dear Ann,\n\nThank you."},
    )
    assert response.status_code == 302
    message = OutboundMessage.objects.get(idempotency_key=f"thank-you:{thank_you.pk}")
    assert facts.open_thank_yous(ann.workspace, today)  # queued is not sent
    OutboundMessage.objects.filter(pk=message.pk).update(status="sent")
    assert facts.open_thank_yous(ann.workspace, today) == []
    assert (ann.pk, f"testimonial:{words.pk}") in facts.thanked_sources(ann.workspace)


def test_the_thank_item_done_on_today_completes_the_task(ann, today, alice):
    actions.receive_names(ann, [{"first_name": "Bob"}], on=today)
    store.refresh(ann.workspace, today)
    item = AgendaItem.objects.get(contact=ann, action="thank")
    mark_done(item, by=alice)
    assert facts.open_thank_yous(ann.workspace, today) == []


def test_history_from_an_import_is_not_thanked_now(ann, today, days_ago):
    factories.referral(ann, days_ago(200))
    assert not ThankYou.objects.exists()
