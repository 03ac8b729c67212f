"""The private calendar feed, read back with an independent parser (vobject):
exact permission dates, stable UIDs, revocation, and workspace isolation."""

import datetime as dt
import hashlib
import re

import pytest
import vobject
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.agenda import actions as agenda_actions
from rapport.agenda import store
from rapport.agenda.models import Action, AgendaDecision, AgendaItem
from rapport.clients import actions
from rapport.clients.models import PermissionKind, Stage
from rapport.outreach import calendar, compose
from rapport.outreach.actions import start_ask
from rapport.outreach.models import Ask, RateBucket
from rapport.workspaces.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db


def permit(contact, ask_after, kind=PermissionKind.BOTH, granted_on=None):
    return actions.record_permission(
        contact,
        kind=kind,
        ask_after=ask_after,
        granted_on=granted_on or contact.workspace.today() - dt.timedelta(days=30),
    )


def make_feed(client) -> str:
    """Create the feed link through the settings page; returns its path."""
    response = client.post(reverse("outreach:feed_create"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    url = response.context["feed_url"]
    assert url in response.content.decode()
    assert url.startswith(settings.SITE_URL)
    return url.removeprefix(settings.SITE_URL)


def fetch(path: str):
    response = Client().get(path)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Referrer-Policy"] == "no-referrer"
    return vobject.readOne(response.content.decode())


def events(parsed) -> dict[str, object]:
    return {event.uid.value: event for event in parsed.contents.get("vevent", [])}


def summaries(parsed) -> str:
    return "\n".join(event.summary.value for event in parsed.contents.get("vevent", []))


@pytest.fixture
def people(acme, alice, charlie, today):
    return {
        "ann": factories.contact(acme, first_name="Ann", last_name="Mine", owner=alice),
        "una": factories.contact(acme, first_name="Una", last_name="Nobody"),
        "carl": factories.contact(acme, first_name="Carl", last_name="Theirs", owner=charlie),
    }


def test_each_permission_is_an_all_day_event_on_its_exact_date(alice_client, acme, people, today):
    on_ann = today + dt.timedelta(days=10)
    on_una = today + dt.timedelta(days=3)
    ann_permission = permit(people["ann"], on_ann)
    una_permission = permit(people["una"], on_una, kind=PermissionKind.TESTIMONIAL)
    parsed = fetch(make_feed(alice_client))

    assert parsed.prodid.value
    assert parsed.contents["x-wr-calname"][0].value == "Rapport: Acme Dental"
    found = events(parsed)
    domain = settings.EMAIL_MESSAGE_ID_DOMAIN
    for permission, day in ((ann_permission, on_ann), (una_permission, on_una)):
        event = found[f"permission-{permission.pk}@{domain}"]
        start = event.dtstart.value
        assert type(start) is dt.date and start == day  # a date, not a datetime
        assert event.dtend.value == day + dt.timedelta(days=1)
        assert isinstance(event.dtstamp.value, dt.datetime)
        assert event.url.value.endswith(f"/contacts/{permission.contact_id}/")
        assert str(permission.ask_after) in event.description.value
    assert "Follow up with Ann Mine: permission to ask" in summaries(parsed)


def test_permission_dates_hold_in_any_time_zone(bob_client, bright, bob):
    # New York: the date is the date, whatever the hour in UTC.
    ann = factories.contact(bright, first_name="Ann", owner=bob)
    day = bright.today() + dt.timedelta(days=1)
    permission = permit(ann, day)
    parsed = fetch(make_feed(bob_client))
    event = events(parsed)[calendar._uid("permission", permission.pk)]
    assert event.dtstart.value == day and type(event.dtstart.value) is dt.date


def test_followed_up_superseded_and_done_permissions_leave_the_feed(
    alice_client, acme, alice, people, today
):
    ann, una = people["ann"], people["una"]
    actions.change_stage(ann, "customer")  # a prospect is never followed up for an ask
    asked = permit(ann, today - dt.timedelta(days=5))
    ask = start_ask(ann, kind="referral", channel="phone")
    # Asked yesterday, after the date (and not today: one ask a day).
    Ask.objects.filter(pk=ask.pk).update(asked_on=today - dt.timedelta(days=1))
    ask.refresh_from_db()
    assert ask.asked_on >= asked.ask_after
    old = permit(una, today + dt.timedelta(days=5), granted_on=today - dt.timedelta(days=40))
    new = permit(una, today + dt.timedelta(days=20), granted_on=today - dt.timedelta(days=2))
    # A testimonial permission is not followed up by a referral ask...
    testimonial = permit(ann, today - dt.timedelta(days=1), kind=PermissionKind.TESTIMONIAL)
    store.refresh(acme, today)
    parsed = fetch(make_feed(alice_client))
    uids = set(events(parsed))
    assert calendar._uid("permission", asked.pk) not in uids
    assert calendar._uid("permission", old.pk) not in uids
    assert calendar._uid("permission", new.pk) in uids
    assert calendar._uid("permission", testimonial.pk) in uids
    # ...but marking the agenda item done is.
    item = AgendaItem.objects.get(key=f"permission:{testimonial.pk}")
    agenda_actions.mark_done(item, by=alice)
    path = make_feed(alice_client)
    assert calendar._uid("permission", testimonial.pk) not in events(fetch(path))


def test_uids_are_stable_across_fetches_and_dtstamp_is_present(alice_client, acme, people, today):
    permit(people["ann"], today + dt.timedelta(days=4))
    permit(people["una"], today + dt.timedelta(days=9))
    path = make_feed(alice_client)
    first, second = fetch(path), fetch(path)
    assert set(events(first)) == set(events(second)) and len(events(first)) == 2
    for event in events(second).values():
        assert event.dtstamp.value.tzinfo is not None


def test_scheduled_sends_are_timed_events_in_the_workspace_time_zone(
    alice_client, acme, alice, people, today
):
    ann = people["ann"]
    ann.email, ann.email_ok = "ann@example.com", True
    ann.save()
    send_at = timezone.now() + dt.timedelta(days=2)
    ask = start_ask(ann, kind="testimonial", channel="email", by=alice)
    message = compose.ask_email(ask, subject="Hello", body="Words", send_at=send_at, by=alice)
    path = make_feed(alice_client)
    parsed = fetch(path)
    event = events(parsed)[calendar._uid("message", message.pk)]
    start = event.dtstart.value
    assert isinstance(start, dt.datetime)
    assert start == send_at.replace(microsecond=0)
    local = timezone.localtime(send_at, acme.tzinfo)
    assert start.utcoffset() == local.utcoffset()
    assert parsed.vtimezone.tzid.value == "Europe/London"
    raw = Client().get(path).content.decode()
    assert f"DTSTART;TZID=Europe/London:{local:%Y%m%dT%H%M%S}" in raw
    assert "Email to Ann Mine: testimonial ask" in summaries(parsed)
    assert "Hello" not in summaries(parsed)  # the subject is not in the calendar


def test_recalls_and_snoozed_items(alice_client, acme, alice, people, today):
    acme.recall_interval_days = 183
    acme.save()
    due_soon = factories.contact(acme, first_name="Rita", stage=Stage.CUSTOMER, owner=alice)
    factories.purchases(due_soon, [today - dt.timedelta(days=170)])
    overdue = factories.contact(acme, first_name="Olga", stage=Stage.CUSTOMER, owner=alice)
    factories.purchases(overdue, [today - dt.timedelta(days=190)])
    long_gone = factories.contact(acme, first_name="Lena", stage=Stage.CUSTOMER, owner=alice)
    factories.purchases(long_gone, [today - dt.timedelta(days=400)])
    own = factories.contact(acme, first_name="Otto", stage=Stage.CUSTOMER, recall_interval_days=30)
    factories.purchases(own, [today - dt.timedelta(days=10)])
    store.refresh(acme, today)

    item = AgendaItem.objects.get(contact=overdue, action=Action.RECALL)
    parsed = fetch(make_feed(alice_client))
    found = events(parsed)
    starts = {uid: event.dtstart.value for uid, event in found.items()}
    assert starts[_recall_uid(due_soon, today, 13)] == today + dt.timedelta(days=13)
    assert starts[_recall_uid(overdue, today, -7)] == today - dt.timedelta(days=7)
    assert starts[_recall_uid(own, today, 20)] == today + dt.timedelta(days=20)
    assert not any(f"-{long_gone.pk}-" in uid for uid in starts if uid.startswith("recall-"))
    call = calendar._uid("agenda", overdue.pk, item.action, item.key)
    assert starts[call] == today and "Recall call: Olga Jones" in summaries(parsed)

    agenda_actions.snooze(item, today + dt.timedelta(days=4), by=alice)
    parsed = fetch(make_feed(alice_client))
    decision = AgendaDecision.objects.get(contact=overdue)
    found = events(parsed)
    assert call not in found  # snoozed: not on today's agenda
    reminder = found[calendar._uid("snooze", decision.pk)]
    assert reminder.dtstart.value == today + dt.timedelta(days=4)
    assert type(reminder.dtstart.value) is dt.date
    assert "Back on the agenda: Olga Jones" in reminder.summary.value


def _recall_uid(contact, today, offset):
    return calendar._uid(
        "recall", contact.pk, (today + dt.timedelta(days=offset)).strftime("%Y%m%d")
    )


def test_the_token_is_random_stored_hashed_and_rotates(alice_client, acme, alice):
    path = make_feed(alice_client)
    token = re.search(r"/calendar/([^/]+)\.ics$", path).group(1)
    assert len(token) >= 32  # 192 bits in url-safe base64
    membership = Membership.objects.get(user=alice, workspace=acme)
    assert membership.feed_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Membership.objects.filter(pk=membership.pk).values().get())
    # The settings page does not show it again.
    page = alice_client.get(reverse("outreach:personal_settings")).content.decode()
    assert token not in page and "Make a new link" in page

    rotated = make_feed(alice_client)
    assert rotated != path
    assert Client().get(path).status_code == 404
    fetch(rotated)


def test_turning_the_feed_off_makes_it_404(alice_client, acme):
    path = make_feed(alice_client)
    fetch(path)
    response = alice_client.post(reverse("outreach:feed_off"))
    assert response.status_code == 302
    gone = Client().get(path)
    assert gone.status_code == 404 and gone["Referrer-Policy"] == "no-referrer"
    assert Client().get(reverse("outreach:calendar_feed", args=["nonsense"])).status_code == 404
    # An empty hash never matches anything.
    assert calendar.membership_for("") is None


def test_a_feed_shows_only_its_own_workspace_and_scope(
    alice_client, charlie_client, bob_client, acme, bright, bob, people, today
):
    for person in people.values():
        permit(person, today + dt.timedelta(days=6))
    theirs = factories.contact(bright, first_name="Zed", last_name="Elsewhere", owner=bob)
    unowned = factories.contact(bright, first_name="Yan", last_name="Elsewhere")
    permit(theirs, today + dt.timedelta(days=6))
    permit(unowned, today + dt.timedelta(days=6))

    alice_feed = summaries(fetch(make_feed(alice_client)))
    assert "Ann Mine" in alice_feed and "Una Nobody" in alice_feed
    assert "Carl Theirs" not in alice_feed and "Elsewhere" not in alice_feed

    charlie_feed = summaries(fetch(make_feed(charlie_client)))
    assert "Carl Theirs" in charlie_feed and "Una Nobody" in charlie_feed
    assert "Ann Mine" not in charlie_feed and "Elsewhere" not in charlie_feed

    bob_feed = summaries(fetch(make_feed(bob_client)))
    assert "Zed Elsewhere" in bob_feed and "Yan Elsewhere" in bob_feed
    assert "Acme" not in bob_feed and "Ann" not in bob_feed and "Una" not in bob_feed


def test_a_removed_member_feed_stops(alice_client, charlie_client, acme, charlie):
    path = make_feed(charlie_client)
    fetch(path)
    Membership.objects.filter(user=charlie, workspace=acme).delete()
    assert Client().get(path).status_code == 404


def test_the_feed_is_rate_limited_per_ip(db):
    RateBucket.objects.all().delete()
    url = reverse("outreach:calendar_feed", args=["unknown-token"])
    client = Client()
    codes = [client.get(url).status_code for _ in range(31)]
    assert codes[:30] == [404] * 30 and codes[30] == 429


def test_the_settings_page_explains_how_to_subscribe(alice_client, acme):
    page = alice_client.get(reverse("outreach:personal_settings")).content.decode()
    assert "Create feed link" in page and "Your feed is <strong>off</strong>" in page
    shown = alice_client.post(reverse("outreach:feed_create")).content.decode()
    for words in ("From URL", "Subscribe from web", "shown only this once", "webcal://"):
        assert words in shown


def test_only_get_builds_a_feed(alice_client, acme):
    path = make_feed(alice_client)
    assert Client().head(path).status_code == 405
    assert Client().post(path).status_code == 405
