"""The Today page and its one-click outcomes."""

import datetime as dt

import pytest
from django.urls import reverse

from rapport.agenda import engine, store
from rapport.agenda.models import Action, AgendaDecision, AgendaItem
from rapport.clients.models import Contact, Permission
from rapport.outreach.models import Ask, Outcome
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    ann = factories.client_with_history(acme, today)
    factories.activity(ann, today, signals=["praise"], text="Loved the new crown")
    store.refresh(acme, today)
    return ann


def item_of(contact, action=Action.ASK_REFERRAL):
    return AgendaItem.objects.get(contact=contact, action=action)


def test_today_shows_why_and_the_script(alice_client, ann):
    response = alice_client.get(reverse("agenda:today"))
    page = response.content.decode()
    assert "Ask for a referral" in page
    assert "relationship 8/10" in page
    assert "Loved the new crown" in page or "praised us" in page
    assert "Who else do you know" in page


def test_today_is_built_when_the_morning_job_did_not_run(alice_client, acme, today):
    ann = factories.client_with_history(acme, today)
    factories.activity(ann, today, signals=["praise"])
    AgendaItem.objects.all().delete()
    acme.__class__.objects.filter(pk=acme.pk).update(agenda_date=today - dt.timedelta(days=1))
    assert "Ask for a referral" in alice_client.get(reverse("agenda:today")).content.decode()


def test_today_page_query_count_does_not_grow_with_items(
    alice_client, acme, today, django_assert_max_num_queries
):
    for n in range(40):
        person = factories.client_with_history(acme, today, first_name=f"P{n}", count=3)
        factories.activity(person, today, signals=["praise"])
    store.refresh(acme, today)
    assert AgendaItem.objects.count() >= 40
    with django_assert_max_num_queries(14):
        response = alice_client.get(reverse("agenda:today"))
    page = response.content.decode()
    # A day's work: the capacity (25), the rest one click away.
    assert page.count('class="item action-') == 25
    assert f"{AgendaItem.objects.count() - 25} more waiting" in page
    with django_assert_max_num_queries(14):
        response = alice_client.get(reverse("agenda:today") + "?page=2")
    assert response.content.decode().count('class="item action-') == AgendaItem.objects.count() - 25


def test_said_yes_records_the_ask_and_clears_the_item(alice_client, alice, ann):
    item = item_of(ann)
    response = alice_client.post(
        reverse("outreach:item_outcome", args=[item.pk]), {"outcome": "yes", "channel": "in_person"}
    )
    assert response.status_code == 302
    ask = Ask.objects.get(contact=ann)
    assert (ask.kind, ask.channel, ask.outcome, ask.asked_by) == (
        "referral",
        "in_person",
        "yes",
        alice,
    )
    assert "Who else do you know" in ask.script
    assert not AgendaItem.objects.filter(contact=ann, action=Action.ASK_REFERRAL).exists()


def test_gave_names_creates_prospects_referred_by_the_client(alice_client, ann, today):
    item = item_of(ann)
    response = alice_client.post(
        reverse("outreach:item_outcome", args=[item.pk]),
        {
            "outcome": "gave_names",
            "channel": "phone",
            "name_1": "Bea Smith",
            "reach_1": "bea@example.com",
            "name_2": "Cal",
            "reach_2": "+44 7700 900123",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "2 new prospect(s)" in response.content.decode()
    prospects = Contact.objects.filter(referred_by=ann).order_by("first_name")
    assert [(p.first_name, p.last_name, p.email, p.phone, p.stage) for p in prospects] == [
        ("Bea", "Smith", "bea@example.com", "", "prospect"),
        ("Cal", "", "", "+447700900123", "prospect"),
    ]
    actions = set(AgendaItem.objects.filter(contact=ann).values_list("action", flat=True))
    # Thanked; not asked for "the other names" right after giving them.
    assert Action.THANK in actions and Action.ASK_MORE_NAMES not in actions
    ann.refresh_from_db()
    assert ann.stage == "raving_fan"  # a second referral


def test_ask_me_later_records_a_permission_due_on_that_date(alice_client, ann, today):
    item = item_of(ann)
    later = today + dt.timedelta(days=90)
    alice_client.post(
        reverse("outreach:item_outcome", args=[item.pk]),
        {"outcome": "later", "channel": "phone", "ask_after": later.isoformat()},
    )
    permission = Permission.objects.get(contact=ann)
    assert (permission.ask_after, permission.source, permission.kind) == (
        later,
        "ask_me_later",
        "referral",
    )
    items, _, _ = engine.build(ann.workspace, later, [ann.pk])
    assert Action.FOLLOW_UP_PERMISSION in {i.action for i in items}


def test_ask_me_later_without_a_date_is_refused_with_a_message(alice_client, ann):
    item = item_of(ann)
    response = alice_client.post(
        reverse("outreach:item_outcome", args=[item.pk]),
        {"outcome": "later", "channel": "phone"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 422
    assert "On which date may we ask again?" in response.content.decode()
    assert not Ask.objects.exists()


def test_declined_holds_the_contact_back(alice_client, ann, today):
    item = item_of(ann)
    alice_client.post(
        reverse("outreach:item_outcome", args=[item.pk]),
        {"outcome": "declined", "channel": "phone"},
    )
    assert Ask.objects.get().outcome == Outcome.DECLINED
    factories.activity(ann, today, signals=["saved_us"])
    assert not AgendaItem.objects.filter(contact=ann, action__startswith="ask_").exists()


def test_snooze_hides_the_item_until_the_day(alice_client, ann, today):
    item = item_of(ann)
    alice_client.post(reverse("agenda:snooze", args=[item.pk]), {"days": "7"})
    decision = AgendaDecision.objects.get(contact=ann)
    assert decision.until == today + dt.timedelta(days=7)
    assert not AgendaItem.objects.filter(contact=ann, action=Action.ASK_REFERRAL).exists()


def test_done_on_a_touch_records_the_touch(alice_client, acme, today):
    from rapport.clients.models import Stage

    quiet = factories.contact(acme, first_name="Quinn", stage=Stage.MEMBER)
    Contact.objects.filter(pk=quiet.pk).update(created_at=quiet.created_at - dt.timedelta(days=300))
    store.refresh(acme, today)
    item = item_of(quiet, Action.TOUCH)
    alice_client.post(reverse("agenda:done", args=[item.pk]))
    assert quiet.activities.get().direction == "out"
    assert not AgendaItem.objects.filter(contact=quiet, action=Action.TOUCH).exists()


def test_an_outcome_on_a_non_ask_item_is_refused(alice_client, acme, today):
    ann = factories.client_with_history(acme, today)
    factories.referral(ann, today)
    item = item_of(ann, Action.THANK)
    response = alice_client.post(
        reverse("outreach:item_outcome", args=[item.pk]), {"outcome": "yes", "channel": "phone"}
    )
    assert response.status_code == 404


def test_scripts_are_edited_validated_and_reset(alice_client, acme, ann):
    url = reverse("agenda:script_edit", args=["moment_praise"])
    response = alice_client.post(url, {"body": "Dear {first_nme}"})
    assert response.status_code == 200
    assert "Unknown merge field {first_nme}" in response.content.decode()
    alice_client.post(url, {"body": "Thank you {first_name}!"})
    # An edited script applies at once, without rebuilding the agenda.
    assert "Thank you Ann!" in alice_client.get(reverse("agenda:today")).content.decode()
    alice_client.post(url, {"reset": "1", "body": ""})
    page = alice_client.get(reverse("agenda:today")).content.decode()
    assert "Who else do you know" in page and "Thank you Ann!" not in page


def test_a_member_may_read_but_not_change_scripts(charlie_client, acme):
    url = reverse("agenda:script_edit", args=["apology"])
    assert charlie_client.get(url).status_code == 200
    charlie_client.post(url, {"body": "Changed"})
    from rapport.agenda.models import Script

    assert not Script.objects.exists()


def test_mine_shows_my_contacts_and_unassigned_ones(charlie_client, alice, charlie, acme, today):
    mine = factories.client_with_history(acme, today, first_name="Mine", owner=charlie)
    hers = factories.client_with_history(acme, today, first_name="Hers", owner=alice)
    for person in (mine, hers):
        factories.activity(person, today, signals=["praise"])
    store.refresh(acme, today)
    page = charlie_client.get(reverse("agenda:today")).content.decode()
    assert "Mine Jones" in page and "Hers Jones" not in page
    page = charlie_client.get(reverse("agenda:today") + "?scope=all").content.decode()
    assert "Hers Jones" in page


def test_agenda_json_command_prints_the_design_format(acme, today, capsys):
    import json

    from django.core.management import call_command

    ann = factories.client_with_history(acme, today, external_id="C-1042")
    factories.activity(ann, today - dt.timedelta(days=2), signals=["praise"])
    call_command("agenda", "--workspace", acme.slug, "--json")
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"workspace", "date", "items"}
    assert payload["workspace"] == acme.slug and payload["date"] == today.isoformat()
    item = next(i for i in payload["items"] if i["action"] == "ask_referral")
    assert set(item) == {
        "contact",
        "name",
        "action",
        "moments",
        "priority",
        "readiness",
        "why",
        "script",
    }
    assert (item["contact"], item["name"], item["moments"]) == ("C-1042", "Ann Jones", ["praise"])
    assert isinstance(item["priority"], float) and isinstance(item["readiness"], int)
    priorities = [i["priority"] for i in payload["items"]]
    assert priorities == sorted(priorities, reverse=True)

    call_command(
        "agenda",
        "--workspace",
        acme.slug,
        "--json",
        "--date",
        (today + dt.timedelta(days=30)).isoformat(),
    )
    later = json.loads(capsys.readouterr().out)
    assert "ask_referral" not in {i["action"] for i in later["items"]}


def test_agenda_command_rejects_an_unknown_workspace_or_bad_date(acme):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="No workspace"):
        call_command("agenda", "--workspace", "nope")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("agenda", "--workspace", acme.slug, "--date", "23/11/2026")


def test_a_complaint_item_opens_its_issue_in_one_click(alice_client, acme, today):
    from rapport.clients.models import Issue

    ann = factories.contact(acme)
    activity = factories.activity(ann, today, text="Really unhappy: the bill was wrong again.")
    page = alice_client.get(reverse("agenda:today") + "?scope=all").content.decode()
    assert f'name="activity" value="{activity.pk}"' in page
    item = AgendaItem.objects.get(contact=ann, action=Action.RECOVER)
    alice_client.post(
        reverse("clients:open_issue", args=[ann.pk]),
        {
            "issue-summary": item.fields["issue"],
            "issue-opened_on": today.isoformat(),
            "activity": activity.pk,
        },
    )
    issue = Issue.objects.get(contact=ann)
    assert issue.source_activity == activity and not issue.summary.endswith(".")
    assert (
        AgendaItem.objects.get(contact=ann, action=Action.RECOVER).key
        == f"issue:{issue.pk}:apologise"
    )
