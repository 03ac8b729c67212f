import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.advocacy import actions
from rapport.advocacy.merge import MergeRefused, merge_contacts, undo_merge
from rapport.advocacy.models import ContactMerge, MergeSuggestion, Referral
from rapport.clients import actions as clients
from rapport.clients.models import Activity, Contact, Deal, Purchase, Tag
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(acme, today):
    """Bob as an old client, and "Bobby" as a name given today by Ann."""
    ann = factories.client_with_history(acme, today, first_name="Ann", email="ann@example.com")
    bob = factories.client_with_history(
        acme,
        today,
        first_name="Bob",
        last_name="Stone",
        email="bob@work.example",
        external_id="B-OLD",
    )
    bob.tags.add(Tag.objects.create(workspace=acme, name="vip"))
    (bobby,) = actions.receive_names(
        ann,
        [
            {
                "first_name": "Bob",
                "last_name": "Stone",
                "email": "bobby@home.example",
                "phone": "+1 415 555 0100",
                "note": "my cousin",
            }
        ],
        on=today,
    )
    clients.record_purchase(bobby, today, Decimal("80"))
    factories.activity(bobby, today, text="Called to book", kind="call")
    bobby.tags.add(Tag.objects.create(workspace=acme, name="new"))
    return ann, bob, bobby


def facts_of(contact_ids):
    return {
        "purchases": sorted(
            Purchase.objects.filter(contact_id__in=contact_ids).values_list("pk", flat=True)
        ),
        "activities": sorted(
            Activity.objects.filter(contact_id__in=contact_ids).values_list("pk", flat=True)
        ),
        "referrals": sorted(
            Referral.objects.filter(referred_id__in=contact_ids).values_list("pk", flat=True)
        ),
    }


def test_merge_keeps_every_fact_of_both_and_can_be_undone(alice_client, pair, today):
    ann, bob, bobby = pair
    suggestion = MergeSuggestion.objects.get()
    all_facts = facts_of([bob.pk, bobby.pk])
    bob_purchases = set(bob.purchases.values_list("pk", flat=True))
    response = alice_client.post(reverse("advocacy:merge", args=[suggestion.pk]))
    assert response.status_code == 302
    record = ContactMerge.objects.get()
    assert not Contact.objects.filter(pk=bobby.pk).exists()
    bob.refresh_from_db()
    # Every fact now on Bob; his own details kept, the other ones not lost.
    assert facts_of([bob.pk]) == all_facts
    assert bob.email == "bob@work.example" and bob.phone == "+14155550100"  # stored as E.164
    assert "bobby@home.example" in bob.notes and "my cousin" in bob.notes
    assert set(bob.tags.values_list("name", flat=True)) == {"vip", "new"}
    assert Referral.objects.get(referrer=ann).referred == bob
    page = alice_client.get(reverse("advocacy:merge_record", args=[record.pk])).content.decode()
    assert "Undo this merge" in page

    response = alice_client.post(reverse("advocacy:undo_merge", args=[record.pk]))
    assert response.status_code == 302
    restored = Contact.objects.get(pk=bobby.pk)
    bob.refresh_from_db()
    assert (restored.email, restored.external_id) == ("bobby@home.example", bobby.external_id)
    assert set(bob.purchases.values_list("pk", flat=True)) == bob_purchases
    assert facts_of([bob.pk, restored.pk]) == all_facts
    assert Referral.objects.get(referrer=ann).referred == restored
    assert (bob.phone, bob.notes) == ("", "")
    assert set(bob.tags.values_list("name", flat=True)) == {"vip"}
    assert set(restored.tags.values_list("name", flat=True)) == {"new"}
    with pytest.raises(MergeRefused, match="undone already"):
        undo_merge(ContactMerge.objects.get(), now=timezone.now())


def test_a_fact_added_after_the_merge_stays_with_the_kept_contact(pair, today):
    _, bob, bobby = pair
    record = merge_contacts(bob, bobby)
    later = clients.record_purchase(bob, today, Decimal("10"))
    undo_merge(record)
    assert Purchase.objects.get(pk=later.pk).contact_id == bob.pk


def test_the_same_fact_twice_is_set_aside_and_restored(acme, pair, today):
    ann, bob, bobby = pair
    factories.referral(ann, today, referred=bob)  # Ann referred both records
    record = merge_contacts(bob, bobby)
    assert len(record.dropped) == 1
    assert Referral.objects.filter(referrer=ann).count() == 1
    undo_merge(record)
    assert set(Referral.objects.filter(referrer=ann).values_list("referred_id", flat=True)) == {
        bob.pk,
        bobby.pk,
    }


def test_a_merge_older_than_30_days_cannot_be_undone(pair):
    _, bob, bobby = pair
    record = merge_contacts(bob, bobby)
    with pytest.raises(MergeRefused, match="30 days"):
        undo_merge(record, now=record.merged_at + dt.timedelta(days=30, seconds=1))
    assert not Contact.objects.filter(pk=bobby.pk).exists()


def test_merging_a_referrer_with_their_own_referral_is_refused(pair):
    ann, _, bobby = pair
    with pytest.raises(MergeRefused, match="referred"):
        merge_contacts(ann, bobby)


def test_a_won_deal_moves_with_the_merge(acme, pair, today):
    _, bob, bobby = pair
    deal = clients.save_deal(Deal(workspace=acme, contact=bobby, title="Plan", stage="won"))
    merge_contacts(bob, bobby)
    deal.refresh_from_db()
    assert deal.contact_id == bob.pk
