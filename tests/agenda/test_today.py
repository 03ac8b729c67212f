"""Today is a day's work: the user's capacity (25 by default) grouped by
action, the rest a page away in order; one ask a day; no "other names" right
after the names page; the last ask on each item; win-back calls beyond the
day sent as one gated batch; a query count that does not grow with the day."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from rapport.agenda import actions as agenda_actions
from rapport.agenda import store
from rapport.agenda.models import Action, AgendaItem
from rapport.clients import actions
from rapport.clients.models import Contact
from rapport.outreach import actions as outreach
from rapport.outreach.models import Ask, AskKind, OutboundMessage, Outcome
from rapport.workspaces.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db

ITEM = re.compile(r'<li class="item action-(\w+)" id="item-(\d+)"')


def many(workspace, today, n: int) -> None:
    """n contacts with something to do today, of several kinds, as one change."""
    d = lambda k: today - dt.timedelta(days=k)  # noqa: E731
    with factories.batch():
        people = [
            factories.contact(
                workspace, first_name=f"P{k}", relationship=8, relationship_on=today, owner=None
            )
            for k in range(n)
        ]
        rows = []
        for k, person in enumerate(people):
            kind = k % 4
            if kind == 0:  # praised: an ask
                rows += [actions.PurchaseRow(person.pk, d(20 + 60 * j), 90, "") for j in range(3)]
            elif kind == 1:  # lapsed: a win-back call
                rows += [actions.PurchaseRow(person.pk, d(300 + 45 * j), 90, "") for j in range(4)]
            elif kind == 2:  # a referral: thank and ask for the other names
                rows += [actions.PurchaseRow(person.pk, d(10 + 90 * j), 90, "") for j in range(2)]
        actions.record_purchases(workspace, rows)
        for k, person in enumerate(people):
            if k % 4 == 0:
                factories.activity(person, d(1), signals=["praise"])
                if k % 8 == 0:
                    factories.ask(person, d(120), kind=AskKind.TESTIMONIAL)
            elif k % 4 == 2:
                factories.referral(person, d(2), referred=people[(k + 1) % n])
    # The rest (k % 4 == 3, and the referred) are members nobody touched: the plan.
    Contact.objects.filter(workspace=workspace).update(
        created_at=timezone.now() - dt.timedelta(days=400)
    )
    store.refresh(workspace, today)


def shown(response) -> list[tuple[str, int]]:
    return [(action, int(pk)) for action, pk in ITEM.findall(response.content.decode())]


def ranked(workspace) -> list[int]:
    return list(
        AgendaItem.objects.filter(workspace=workspace)
        .order_by("-priority", "id")
        .values_list("pk", flat=True)
    )


def test_today_shows_the_capacity_grouped_by_action_and_the_rest_in_order(
    acme, today, alice_client
):
    many(acme, today, 48)
    order = ranked(acme)
    assert len(order) > 50
    rank = {pk: n for n, pk in enumerate(order)}
    for page, expected in ((1, order[:25]), (2, order[25:50])):
        found = shown(alice_client.get(reverse("agenda:today") + f"?page={page}"))
        assert sorted(pk for _, pk in found) == sorted(expected)
        # Grouped by action, the strongest group first, each group in rank order.
        groups = list(dict.fromkeys(action for action, _ in found))
        firsts = [min(rank[pk] for a, pk in found if a == action) for action in groups]
        assert firsts == sorted(firsts)
        assert found == sorted(found, key=lambda x: (groups.index(x[0]), rank[x[1]]))
    page = alice_client.get(reverse("agenda:today")).content.decode()
    assert f"{len(order) - 25} more waiting" in page
    assert f"Show the next 25 of {len(order) - 25}" in page


def test_changing_the_capacity_takes_effect_at_once(acme, today, alice, alice_client):
    many(acme, today, 16)
    total = AgendaItem.objects.count()
    response = alice_client.post(reverse("agenda:capacity"), {"daily_capacity": "7"})
    assert response.status_code == 302
    assert Membership.objects.get(user=alice, workspace=acme).daily_capacity == 7
    page = alice_client.get(reverse("agenda:today"))
    assert len(shown(page)) == 7
    assert f"{total - 7} more waiting" in page.content.decode()
    # Only this user's day changes.
    charlie = Client()
    charlie.force_login(Membership.objects.get(workspace=acme, role="member").user)
    assert len(shown(charlie.get(reverse("agenda:today") + "?scope=all"))) == min(total, 25)


@pytest.mark.parametrize("capacity", ["0", "501", "many"])
def test_a_capacity_out_of_bounds_is_refused_and_nothing_changes(
    acme, alice, alice_client, capacity
):
    alice_client.post(reverse("agenda:capacity"), {"daily_capacity": capacity})
    assert Membership.objects.get(user=alice, workspace=acme).daily_capacity == 25


def test_after_an_ask_today_no_ask_of_another_kind_appears(acme, today, alice, alice_client):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.activity(ann, today, signals=["praise"])
    store.refresh(acme, today)
    item = AgendaItem.objects.get(contact=ann, action=Action.ASK_REFERRAL)
    alice_client.post(
        reverse("outreach:item_outcome", args=[item.pk]), {"outcome": "yes", "channel": "phone"}
    )
    actions_left = set(AgendaItem.objects.filter(contact=ann).values_list("action", flat=True))
    assert not actions_left & {Action.ASK_TESTIMONIAL, Action.ASK_REFERRAL}
    page = alice_client.get(reverse("agenda:today")).content.decode()
    assert 'class="item action-ask_testimonial"' not in page
    assert 'class="item action-ask_referral"' not in page


def test_after_the_names_page_no_ask_for_the_other_names(acme, today, alice_client):
    ann = factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)
    ask = outreach.start_ask(ann, kind="referral", channel="email")
    response = Client().post(
        reverse("outreach:page", args=[ask.token()]),
        {"name_1": "Bea Smith", "reach_1": "bea@example.com", "name_2": "Cal Ng", "reach_2": ""},
    )
    assert response.status_code in (200, 302)
    assert Contact.objects.filter(referred_by=ann).count() == 2
    found = set(AgendaItem.objects.filter(contact=ann).values_list("action", flat=True))
    assert Action.THANK in found and Action.ASK_MORE_NAMES not in found
    page = alice_client.get(reverse("agenda:today")).content.decode()
    assert 'class="item action-thank"' in page
    assert 'class="item action-ask_more_names"' not in page


def test_each_item_shows_the_last_ask_and_how_it_went(acme, today, alice_client):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.ask(
            ann, today - dt.timedelta(days=100), kind=AskKind.TESTIMONIAL, outcome=Outcome.LATER
        )
        factories.ask(
            ann, today - dt.timedelta(days=40), kind=AskKind.REFERRAL, outcome=Outcome.DECLINED
        )
        factories.activity(ann, today, signals=["praise"])
    store.refresh(acme, today)
    page = alice_client.get(reverse("agenda:today")).content.decode()
    asked_on = formats.date_format(today - dt.timedelta(days=40))
    assert f"last asked: referral, {asked_on}" in page
    assert "— declined" in page


def lapsed(workspace, today, name, *, visits=4, **fields):
    person = factories.contact(workspace, first_name=name, relationship=7, **fields)
    days = [today - dt.timedelta(days=300 + 45 * j) for j in range(visits)]
    return factories.purchases(person, sorted(days))


def test_win_back_calls_beyond_the_day_go_as_one_gated_batch(acme, alice, today, alice_client):
    agenda_actions.set_capacity(Membership.objects.get(user=alice, workspace=acme), 3)
    with factories.batch():
        # The day's calls: the most regular clients rank first.
        calls = [
            lapsed(acme, today, f"Call{n}", visits=9, email=f"c{n}@x.com", email_ok=True)
            for n in range(3)
        ]
        emailed = [
            lapsed(acme, today, f"Mail{n}", email=f"m{n}@x.com", email_ok=True) for n in range(2)
        ]
        no_consent = lapsed(acme, today, "NoConsent", email="nc@x.com")
        no_email = lapsed(acme, today, "NoEmail", email_ok=False)
        declined = lapsed(acme, today, "Declined", email="d@x.com", email_ok=True)
        factories.ask(
            declined, today - dt.timedelta(days=20), kind=AskKind.REFERRAL, outcome=Outcome.DECLINED
        )
    store.refresh(acme, today)
    assert {i.contact_id for i in AgendaItem.objects.filter(action=Action.REACTIVATE)} == {
        p.pk for p in [*calls, *emailed, no_consent, no_email, declined]
    }
    page = alice_client.get(reverse("agenda:today"))
    assert len(shown(page)) == 3
    assert "5 more clients to win back" in page.content.decode()

    response = alice_client.post(reverse("outreach:winback_batch"), follow=True)
    message = response.content.decode()
    assert "2 win-back emails on their way" in message
    sent = OutboundMessage.objects.filter(to_client=True)
    assert sorted(sent.values_list("to_address", flat=True)) == ["m0@x.com", "m1@x.com"]
    assert set(
        Ask.objects.filter(kind=AskKind.REACTIVATION).values_list("contact_id", flat=True)
    ) == {p.pk for p in emailed}
    left = set(
        AgendaItem.objects.filter(action=Action.REACTIVATE).values_list("contact_id", flat=True)
    )
    assert left == {p.pk for p in [*calls, no_consent, no_email, declined]}
    for why in ("no consent to email", "no email address", "declined on"):
        assert why in message


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_today_s_queries_do_not_grow_with_the_day(
    acme, bright, today, alice_client, bob, bob_client
):
    # The same page at 30 items and at 300: the same number of queries.
    many(acme, today, 24)
    many(bright, bright.today(), 240)
    small = AgendaItem.objects.filter(workspace=acme).count()
    large = AgendaItem.objects.filter(workspace=bright).count()
    assert 25 < small <= 40 and large >= 300
    for url in (reverse("agenda:today"), reverse("agenda:today") + "?page=2"):
        assert queries_for(alice_client, url) == queries_for(bob_client, url)
    assert queries_for(bob_client, reverse("agenda:today")) <= 14
