"""The agenda engine on hand-made scenarios, and the invariants of DESIGN.md."""

import datetime as dt

import pytest
from django.utils import timezone

from rapport.advocacy.actions import record_referral_given, record_testimonial
from rapport.agenda import engine, store
from rapport.agenda.models import Action
from rapport.clients import actions
from rapport.clients.models import Contact, Stage
from rapport.kinds import Channel
from rapport.outreach.models import Ask, AskKind, Outcome
from tests import factories

pytestmark = pytest.mark.django_db

ASKS = {
    Action.ASK_REFERRAL,
    Action.ASK_TESTIMONIAL,
    Action.ASK_MORE_NAMES,
    Action.FOLLOW_UP_PERMISSION,
}


def actions_for(workspace, contact, on):
    items, _, _ = engine.build(workspace, on, [contact.pk])
    return {item.action: item for item in items if item.contact_id == contact.pk}


def praised(workspace, today, **fields):
    person = factories.client_with_history(workspace, today, **fields)
    factories.activity(
        person, today - dt.timedelta(days=1), signals=["praise"], text="Lovely visit"
    )
    return person


def test_praise_from_a_ready_customer_proposes_a_referral_ask(acme, today):
    ann = praised(acme, today)
    found = actions_for(acme, ann, today)
    item = found[Action.ASK_REFERRAL]
    assert item.moments == ["praise"]
    assert "relationship 8/10" in item.why
    assert "no open issues" in item.why
    assert "Ann" in item.script and "{first_name}" not in item.script


def test_a_marked_signal_counts_even_when_the_text_says_nothing(acme, today):
    ann = factories.client_with_history(acme, today)
    factories.activity(ann, today, text="Booked next appointment.", signals=["saved_us"])
    assert actions_for(acme, ann, today)[Action.ASK_REFERRAL].moments == ["saved_us"]


def test_praise_read_in_the_text_counts_without_a_marked_signal(acme, today):
    ann = factories.client_with_history(acme, today)
    factories.activity(ann, today, text="She said you are the best dentist she has ever had!")
    assert Action.ASK_REFERRAL in actions_for(acme, ann, today)


def test_open_issue_blocks_every_ask_and_a_resolved_one_no_longer_does(acme, today):
    ann = praised(acme, today)
    actions.record_permission(
        ann, kind="both", ask_after=today, granted_on=today - dt.timedelta(days=90)
    )
    factories.referral(ann, today)
    issue = actions.open_issue(
        ann, "Invoice charged twice", opened_on=today - dt.timedelta(days=60)
    )

    blocked = actions_for(acme, ann, today)
    assert not ASKS & set(blocked)
    assert Action.UPFRONT_CONTRACT not in blocked
    assert blocked[Action.RECOVER].script_key == "apology"
    assert Action.THANK in blocked  # gratitude is not an ask

    # Put right, confirmed by the client, and the waiting period over.
    actions.resolve_issue(issue, on=today - dt.timedelta(days=50))
    actions.confirm_issue(issue, on=today - dt.timedelta(days=40))
    unblocked = actions_for(acme, ann, today)
    assert Action.RECOVER not in unblocked
    # One ask a day: the permission they gave comes first.
    assert Action.FOLLOW_UP_PERMISSION in unblocked
    assert Action.ASK_MORE_NAMES not in unblocked


def test_an_open_issue_at_the_organization_blocks_colleagues_too(acme, today):
    ann = praised(acme, today, organization=actions_org(acme))
    colleague = factories.contact(acme, first_name="Cole", organization=ann.organization)
    actions.open_issue(colleague, "Report delivered late", opened_on=today)
    found = actions_for(acme, ann, today)
    assert not ASKS & set(found)


def actions_org(workspace):
    from rapport.clients.models import Organization

    return Organization.objects.create(workspace=workspace, name="Globex")


def test_a_complaint_in_the_text_blocks_asks_and_proposes_an_issue(acme, today):
    ann = praised(acme, today)
    activity = factories.activity(
        ann, today, text="Really disappointed: the invoice was wrong again and nobody called back."
    )
    found = actions_for(acme, ann, today)
    assert not ASKS & set(found)
    assert found[Action.RECOVER].key == f"complaint:activity:{activity.pk}"
    # Opening an issue for it handles the complaint; the issue then blocks.
    actions.open_issue(ann, "Invoice wrong", opened_on=today, source_activity=activity)
    found = actions_for(acme, ann, today)
    assert [
        i.key for i in engine.build(acme, today, [ann.pk])[0] if i.action == Action.RECOVER
    ] == [f"issue:{ann.issues.get().pk}:apologise"]


@pytest.mark.parametrize("stage", [Stage.SUSPECT, Stage.PROSPECT])
def test_prospects_and_suspects_are_never_asked_for_a_referral(acme, today, stage):
    person = factories.contact(acme, stage=stage, relationship=10, relationship_on=today)
    for kind in ["praise", "saved_us", "partner_association"]:
        factories.activity(person, today, signals=[kind])
    found = actions_for(acme, person, today)
    assert Action.ASK_REFERRAL not in found
    assert Action.ASK_TESTIMONIAL not in found
    assert "is not asked for a referral" in " ".join(found[Action.EARN_FIRST].why)


def test_low_readiness_turns_an_ask_into_earn_it_first(acme, today):
    acme.readiness_threshold = 90
    acme.save()
    ann = praised(acme, today, relationship=3)
    found = actions_for(acme, ann, today)
    assert Action.ASK_REFERRAL not in found
    assert "below the threshold of 90" in " ".join(found[Action.EARN_FIRST].why)


def test_a_moment_past_its_window_is_gone(acme, today):
    ann = factories.client_with_history(acme, today)
    factories.activity(ann, today - dt.timedelta(days=14), signals=["praise"])
    assert Action.ASK_REFERRAL in actions_for(acme, ann, today)
    assert Action.ASK_REFERRAL not in actions_for(acme, ann, today + dt.timedelta(days=1))
    # The window is the workspace's to set.
    acme.moment_windows = {"praise": 30}
    acme.save()
    assert Action.ASK_REFERRAL in actions_for(acme, ann, today + dt.timedelta(days=10))


def test_a_moment_in_the_future_does_not_count_yet(acme, today):
    ann = factories.client_with_history(acme, today)
    factories.activity(ann, today + dt.timedelta(days=2), signals=["praise"])
    assert Action.ASK_REFERRAL not in actions_for(acme, ann, today)


def test_a_referral_received_yields_thank_and_ask_more_names(acme, today):
    ann = factories.client_with_history(acme, today)
    factories.referral(ann, today)
    found = actions_for(acme, ann, today)
    assert found[Action.THANK].script_key == "thank_you"
    assert "Rita Referred" in found[Action.THANK].script
    assert "Rita Referred" in found[Action.ASK_MORE_NAMES].script
    assert found[Action.ASK_MORE_NAMES].priority > found[Action.THANK].priority


def test_no_other_names_right_after_an_ask_that_brought_names(acme, today):
    # They were just asked and gave names: thank them; "who else?" was that ask.
    ann = factories.client_with_history(acme, today)
    Ask.objects.create(
        workspace=acme,
        contact=ann,
        kind=AskKind.REFERRAL,
        channel=Channel.EMAIL,
        asked_on=today,
        outcome=Outcome.GAVE_NAMES,
    )
    factories.referral(ann, today)
    found = actions_for(acme, ann, today)
    assert Action.THANK in found
    assert Action.ASK_MORE_NAMES not in found
    assert "already asked today (referral)" in engine.explain(ann, today).holds


def test_permission_comes_due_exactly_on_its_date_in_the_workspace_time_zone(acme):
    # Acme is in Europe/London; Bright in New York. 2026-06-30 23:30 UTC is
    # already July 1st in London (BST) but still June 30th in New York.
    now = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC)
    london_day = acme.today(now)
    assert london_day == dt.date(2026, 7, 1)
    ann = factories.client_with_history(acme, london_day)
    actions.record_permission(
        ann, kind="referral", ask_after=dt.date(2026, 7, 1), granted_on=dt.date(2026, 4, 1)
    )
    assert Action.FOLLOW_UP_PERMISSION not in actions_for(acme, ann, dt.date(2026, 6, 30))
    due = actions_for(acme, ann, london_day)[Action.FOLLOW_UP_PERMISSION]
    assert "after 1 July." in due.script  # said as a person would say it

    new_york = factories.workspace(
        ann.owner or factories.user("z@example.com"), "NY", "America/New_York"
    )
    assert new_york.today(now) == dt.date(2026, 6, 30)


def test_a_permission_not_yet_due_holds_asks_of_its_kind(acme, today):
    ann = praised(acme, today)
    actions.record_permission(
        ann,
        kind="both",
        ask_after=today + dt.timedelta(days=30),
        granted_on=today - dt.timedelta(days=1),
    )
    view = engine.explain(ann, today)
    assert not ASKS & {i.action for i in view.items}
    assert any("asked to be asked after" in hold for hold in view.holds)


def test_cooldown_one_ask_of_a_kind_per_window(acme, today):
    ann = praised(acme, today)
    Ask.objects.create(
        workspace=acme,
        contact=ann,
        kind=AskKind.REFERRAL,
        channel=Channel.PHONE,
        asked_on=today - dt.timedelta(days=89),
        outcome=Outcome.YES,
    )
    found = actions_for(acme, ann, today)
    assert Action.ASK_REFERRAL not in found
    # The other kind is still open to ask; after the cooldown, referral again.
    assert Action.ASK_TESTIMONIAL in found
    assert Action.ASK_REFERRAL in actions_for(acme, ann, today + dt.timedelta(days=1))


def test_a_decline_holds_back_unless_permission_is_granted_since(acme, today):
    ann = praised(acme, today)
    Ask.objects.create(
        workspace=acme,
        contact=ann,
        kind=AskKind.TESTIMONIAL,
        channel=Channel.PHONE,
        asked_on=today - dt.timedelta(days=100),
        outcome=Outcome.DECLINED,
    )
    view = engine.explain(ann, today)
    assert not ASKS & {i.action for i in view.items}
    assert any("declined on" in h for h in view.holds)
    actions.record_permission(
        ann, kind="both", ask_after=today, granted_on=today - dt.timedelta(days=1)
    )
    assert Action.FOLLOW_UP_PERMISSION in actions_for(acme, ann, today)


def test_project_completed_asks_for_a_testimonial(acme, today):
    from rapport.clients.models import Deal

    ann = factories.client_with_history(acme, today)
    actions.save_deal(
        Deal(
            workspace=acme,
            contact=ann,
            title="Implant",
            stage="completed",
            won_on=today - dt.timedelta(days=60),
            completed_on=today,
        )
    )
    found = actions_for(acme, ann, today)
    assert found[Action.ASK_TESTIMONIAL].moments == ["project_completed"]
    record_testimonial(ann, "Wonderful work", on=today)
    found = actions_for(acme, ann, today)
    assert Action.ASK_TESTIMONIAL not in found  # they just gave one
    assert Action.THANK in found


def test_a_new_customer_gets_the_upfront_contract_once(acme, today):
    new = factories.contact(acme, first_name="Nia", relationship=5)
    factories.purchases(new, [today])
    assert new.stage == Stage.CUSTOMER
    found = actions_for(acme, new, today)
    assert Action.UPFRONT_CONTRACT in found
    actions.record_permission(
        new, kind="both", ask_after=today + dt.timedelta(days=90), granted_on=today
    )
    assert Action.UPFRONT_CONTRACT not in actions_for(acme, new, today)


def test_a_six_monthly_patient_unseen_for_eight_months_is_due_a_call(acme, today):
    patient = factories.contact(acme, first_name="Pat")
    visits = [today - dt.timedelta(days=243 + 183 * k) for k in range(5)]
    factories.purchases(patient, sorted(visits))
    found = actions_for(acme, patient, today)
    assert {Action.REACTIVATE, Action.RECALL} & set(found)

    # With a six-monthly recall schedule: due at six months, lapsed past eight.
    acme.recall_interval_days = 183
    acme.save()
    later = today + dt.timedelta(days=7)
    assert (
        actions_for(acme, patient, later)[Action.REACTIVATE]
        .why[0]
        .startswith("routine visit every 6 months")
    )
    assert Action.RECALL in actions_for(acme, patient, today - dt.timedelta(days=50))
    earlier = today - dt.timedelta(days=70)
    assert not {Action.RECALL, Action.REACTIVATE} & set(actions_for(acme, patient, earlier))


def test_a_regular_client_who_stopped_is_reactivated_in_plain_words(acme, today):
    shop = factories.contact(acme, first_name="Orders")
    weekly = [today - dt.timedelta(days=112 + 35 * k) for k in range(8)]
    factories.purchases(shop, sorted(weekly))
    item = actions_for(acme, shop, today)[Action.REACTIVATE]
    assert item.why[0].startswith("used to come every 5 weeks; nothing for 16 weeks")
    assert item.script_key == "reactivation"


def test_readiness_has_its_reasons(acme, today):
    ann = factories.client_with_history(acme, today, relationship=9)
    record_referral_given(ann, "Introduced a new supplier", on=today)
    view = engine.explain(ann, today)
    assert view.reasons[0] == "relationship 9/10 (+32)"
    assert "we referred 1 client to them (+5)" in view.reasons
    assert 0 <= view.readiness <= 100


def test_overdue_touch_plan(acme, today):
    quiet = factories.contact(acme, first_name="Quinn", stage=Stage.MEMBER)
    quiet.created_at = timezone.now() - dt.timedelta(days=200)
    quiet.save()
    found = actions_for(acme, quiet, today)
    assert found[Action.TOUCH].why[0].startswith("no touch recorded")
    factories.activity(
        quiet, today - dt.timedelta(days=10), kind="email", direction="out", text="Newsletter"
    )
    assert Action.TOUCH not in actions_for(acme, quiet, today)


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


def test_a_routine_purchase_is_not_a_point_of_sale_but_a_major_one_is(acme, today):
    # Regression: every check-up used to open a point-of-sale referral ask.
    ann = factories.contact(acme, relationship=9, relationship_on=today)
    days = [today - dt.timedelta(days=183 * k) for k in range(4, 0, -1)]
    factories.purchases(ann, days, amount=85)
    factories.purchases(ann, [today - dt.timedelta(days=1)], amount=85)
    assert Action.ASK_REFERRAL not in actions_for(acme, ann, today)
    factories.purchases(ann, [today], amount=640)  # a crown
    found = actions_for(acme, ann, today)
    assert found[Action.ASK_REFERRAL].moments == ["point_of_sale"]


def test_on_the_same_day_praise_leads_over_a_sale(acme, today):
    # Regression: the purchase's source string sorted first and chose the words.
    ann = factories.client_with_history(acme, today)
    factories.purchases(ann, [today], amount=1000)
    factories.activity(ann, today, signals=["praise"], text="Lovely")
    item = actions_for(acme, ann, today)[Action.ASK_REFERRAL]
    assert item.moments[0] == "praise" and item.script_key == "moment_praise"


def test_a_future_permission_means_no_earn_first_either(acme, today):
    # Regression: a new client who agreed "ask me in 90 days" got "earn it first".
    new = factories.contact(acme, first_name="Nia", relationship=2)
    factories.purchases(new, [today])
    actions.record_permission(
        new, kind="both", ask_after=today + dt.timedelta(days=90), granted_on=today
    )
    factories.activity(new, today, signals=["praise"])
    view = engine.explain(new, today)
    assert not {i.action for i in view.items} & {Action.EARN_FIRST, *ASKS}
    assert any("asked to be asked after" in hold for hold in view.holds)


def test_an_advocate_is_an_advocate_in_the_touch_reason(acme, today):
    fan = factories.contact(acme, first_name="Ada", stage=Stage.ADVOCATE)
    Contact.objects.filter(pk=fan.pk).update(created_at=timezone.now() - dt.timedelta(days=200))
    assert "the plan for an advocate" in actions_for(acme, fan, today)[Action.TOUCH].why[0]
