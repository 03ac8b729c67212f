"""The engine's own work: orchestration and ranking, one contact explained,
the stored agenda and the decisions that survive it, a fixed number of
queries. Each rule and gate has its own module (tests/agenda/rules/,
tests/agenda/gates/, tests/winback/rules/, tests/advocacy/rules/)."""

import datetime as dt

import pytest

from rapport.advocacy.actions import record_referral_given
from rapport.agenda import engine, store
from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.clients.models import Stage
from tests import factories

pytestmark = pytest.mark.django_db


def actions_for(workspace, contact, on):
    items, _, _ = engine.build(workspace, on, [contact.pk])
    return {item.action: item for item in items if item.contact_id == contact.pk}


def praised(workspace, today, on=None, **fields):
    with factories.batch():
        person = factories.client_with_history(workspace, today, **fields)
        factories.activity(
            person, on or today - dt.timedelta(days=1), signals=["praise"], text="Lovely visit"
        )
    return person


def test_readiness_has_its_reasons(acme, today):
    ann = factories.client_with_history(acme, today, relationship=9)
    record_referral_given(ann, "Introduced a new supplier", on=today)
    view = engine.explain(ann, today)
    assert view.reasons[0] == "relationship 9/10 (+32)"
    assert "we referred 1 client to them (+5)" in view.reasons
    assert 0 <= view.readiness <= 100


def test_workspace_scripts_replace_the_defaults(acme, today):
    from rapport.agenda.models import Script

    Script.objects.create(
        workspace=acme, key="moment_praise", body="Hi {first_name} from {business}!"
    )
    ann = praised(acme, today)
    assert actions_for(acme, ann, today)[Action.ASK_REFERRAL].script == "Hi Ann from Acme Dental!"


def test_refresh_stores_items_and_readiness_and_decisions_survive_it(acme, today, alice):
    from rapport.agenda import actions as agenda_actions
    from rapport.agenda.models import AgendaItem

    ann = praised(acme, today)
    store.refresh(acme, today)
    item = AgendaItem.objects.get(contact=ann, action=Action.ASK_REFERRAL)
    ann.refresh_from_db()
    assert ann.readiness == item.readiness > 0
    agenda_actions.snooze(item, today + dt.timedelta(days=3), by=alice)
    store.refresh(acme, today)
    assert not AgendaItem.objects.filter(contact=ann, action=Action.ASK_REFERRAL).exists()
    assert Action.ASK_REFERRAL in actions_for(acme, ann, today + dt.timedelta(days=3))


def test_the_whole_workspace_is_built_in_a_fixed_number_of_queries(
    acme, today, django_assert_max_num_queries
):
    for n in range(30):
        person = praised(acme, today, first_name=f"P{n}")
        actions.open_issue(person, "x", opened_on=today) if n % 5 == 0 else None
    with django_assert_max_num_queries(25):
        items, _, _ = engine.build(acme, today)
    assert len(items) >= 30


def test_items_are_ranked_most_important_first(acme, today):
    d = lambda n: today + dt.timedelta(days=n)  # noqa: E731
    with factories.batch():
        hurt = factories.client_with_history(acme, today, first_name="Hurt")
        actions.open_issue(hurt, "Charged twice", opened_on=today)
        due = factories.client_with_history(acme, today, first_name="Due")
        actions.record_permission(due, kind="both", ask_after=today, granted_on=d(-90))
        referrer = factories.client_with_history(acme, today, first_name="Referrer")
        factories.referral(referrer, today)
        fan = praised(acme, today, first_name="Fan")
        lapsed = factories.contact(acme, first_name="Lapsed")
        factories.purchases(lapsed, [d(-300 - 60 * k) for k in range(5)])
        prospect = factories.contact(acme, first_name="Pro", stage=Stage.PROSPECT)
        factories.activity(prospect, today, signals=["praise"])
    items, _, _ = engine.build(acme, today)
    priorities = [item.priority for item in items]
    assert priorities == sorted(priorities, reverse=True)
    first_of = {}
    for rank, item in enumerate(items):
        first_of.setdefault(item.action, rank)
    # Putting a problem right, and a follow-up the client dated, come before
    # thank-yous, asks made of a moment, win-back calls and earning the right.
    for first in (Action.RECOVER, Action.FOLLOW_UP_PERMISSION):
        for later in (Action.THANK, Action.ASK_REFERRAL, Action.REACTIVATE, Action.EARN_FIRST):
            assert first_of[first] < first_of[later]
    assert first_of[Action.ASK_MORE_NAMES] < first_of[Action.THANK]
    assert first_of[Action.ASK_REFERRAL] < first_of[Action.REACTIVATE] < first_of[Action.EARN_FIRST]
    assert {item.contact_id for item in items} >= {
        hurt.pk,
        due.pk,
        referrer.pk,
        fan.pk,
        lapsed.pk,
        prospect.pk,
    }


def test_a_fresher_moment_and_a_readier_client_rank_higher(acme, today):
    with factories.batch():
        fresh = praised(acme, today, first_name="Fresh", on=today)
        stale = praised(acme, today, first_name="Stale", on=today - dt.timedelta(days=12))
        cool = praised(acme, today, first_name="Cool", on=today, relationship=6)
    items, _, _ = engine.build(acme, today)
    by_contact = {i.contact_id: i.priority for i in items}
    assert by_contact[fresh.pk] > by_contact[cool.pk]
    assert by_contact[fresh.pk] > by_contact[stale.pk]


def test_explain_gives_readiness_moments_holds_and_the_items(acme, today):
    with factories.batch():
        ann = praised(acme, today)
        factories.ask(ann, today - dt.timedelta(days=10))
    view = engine.explain(ann, today)
    assert view.readiness == view.items[0].readiness
    assert [m.kind for m in view.moments] == ["praise"]
    # The referral ask cools down; the testimonial ask stands in its place.
    assert [i.action for i in view.items] == [Action.ASK_TESTIMONIAL]
    assert view.reasons[0] == "relationship 8/10 (+28)"


def test_explain_for_a_contact_who_was_erased(acme, today):
    from django.utils import timezone

    from rapport.clients.models import Contact

    ann = praised(acme, today)
    Contact.objects.filter(pk=ann.pk).update(erased_at=timezone.now())
    view = engine.explain(ann, today)
    assert (view.readiness, view.items, view.holds) == (0, [], [])
    assert engine.ask_blockers(ann, today) == ["the contact no longer exists"]
