"""Thank (advocacy.rules.thank): every referral on record and every
testimonial received is thanked — names given together in one thank-you —
whatever else holds; gratitude is not an ask."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.advocacy.actions import mark_card_sent, receive_names, record_testimonial
from rapport.advocacy.models import ThankYou
from rapport.agenda import actions as agenda_actions
from rapport.agenda import engine, store
from rapport.agenda.models import Action, AgendaItem
from rapport.clients import actions
from rapport.kinds import MomentKind
from tests import factories
from tests.agenda.helpers import agenda, items

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(acme, today)


def test_a_referral_is_thanked(ann, today):
    referral = factories.referral(ann, today - dt.timedelta(days=1))
    item = agenda(ann, today)[Action.THANK]
    assert item.key == f"referral:{referral.pk}"
    assert item.why == [f"referred Rita Referred on {today - dt.timedelta(days=1)}"]
    assert (item.script_key, item.moments) == ("thank_you", [MomentKind.REFERRAL])
    assert item.fields["referred_name"] == "Rita Referred"
    assert "thank you so much for introducing Rita Referred to us" in item.script


def test_names_given_together_are_thanked_together(ann, today):
    receive_names(ann, [{"first_name": "Bea"}, {"first_name": "Cal", "last_name": "Ng"}], on=today)
    thanks = [i for i in items(ann, today) if i.action == Action.THANK]
    assert len(thanks) == 1
    assert thanks[0].why == [f"referred Bea and Cal Ng on {today}"]


def test_referrals_on_several_days_are_thanked_in_one(ann, today):
    with factories.batch():
        factories.referral(ann, today - dt.timedelta(days=4))
        factories.referral(ann, today, referred=factories.contact(ann.workspace, first_name="Sam"))
    thanks = [i for i in items(ann, today) if i.action == Action.THANK]
    assert [t.why for t in thanks] == [
        [f"referred Sam Jones and Rita Referred between {today - dt.timedelta(days=4)} and {today}"]
    ]


def test_a_testimonial_is_thanked(ann, today):
    testimonial = record_testimonial(ann, "Wonderful, caring team", on=today)
    item = agenda(ann, today)[Action.THANK]
    assert item.key == f"testimonial:{testimonial.pk}"
    assert item.why == [f"sent a testimonial on {today}: \u201cWonderful, caring team\u201d"]
    assert item.fields == {"moment": "your kind words"}


def test_thanks_come_even_while_an_issue_is_open(ann, today):
    with factories.batch():
        actions.open_issue(ann, "Invoice charged twice", opened_on=today)
        factories.referral(ann, today)
    found = agenda(ann, today)
    assert Action.THANK in found and Action.ASK_MORE_NAMES not in found


@pytest.mark.parametrize(("days", "thanked"), [(14, True), (15, False)])
def test_a_thank_you_is_due_within_the_referral_s_window(ann, today, days, thanked):
    factories.referral(ann, today - dt.timedelta(days=days))
    assert (Action.THANK in agenda(ann, today)) is thanked


def test_a_thank_you_done_is_not_proposed_again(ann, acme, today, alice):
    factories.referral(ann, today)
    store.refresh(acme, today)
    agenda_actions.mark_done(AgendaItem.objects.get(contact=ann, action=Action.THANK), by=alice)
    assert Action.THANK not in agenda(ann, today + dt.timedelta(days=1))


def test_words_read_in_a_note_are_not_a_referral_to_thank_for(ann, today):
    factories.read_note(ann, today, "I tell everyone about you", {"referral": "I tell"})
    assert Action.THANK not in agenda(ann, today)


def test_a_referral_a_user_marked_is_thanked(ann, today):
    note = factories.activity(ann, today, signals=["referral"], text="Sent her sister our way.")
    item = agenda(ann, today)[Action.THANK]
    assert item.key == f"activity:{note.pk}"
    assert item.why == [f"marked as a referral on {today}: \u201cSent her sister our way.\u201d"]
    assert item.fields["referred_name"] == "the person you sent our way"
    assert "thank you so much for sending someone our way" in item.script


def test_referrals_with_no_thank_you_task_are_thanked_once_a_day(ann, today):
    # History brought in by an import gets no thank-you task: the agenda
    # groups the referrals of one day into one thank-you, and days apart.
    earlier = today - dt.timedelta(days=5)
    with factories.batch():
        first = factories.referral(ann, earlier)
        factories.referral(ann, earlier, referred=factories.contact(ann.workspace, first_name="Bo"))
        last = factories.referral(
            ann, today, referred=factories.contact(ann.workspace, first_name="Cy")
        )
    ThankYou.objects.filter(contact=ann).delete()
    thanks = sorted((i for i in items(ann, today) if i.action == Action.THANK), key=lambda i: i.key)
    assert [(t.key, t.why) for t in thanks] == sorted(
        [
            (f"referral:{first.pk}", [f"referred Rita Referred and Bo Jones on {earlier}"]),
            (f"referral:{last.pk}", [f"referred Cy Jones on {today}"]),
        ]
    )


def test_an_open_thank_you_task_is_the_item_not_a_second_thank_you(ann, today):
    receive_names(ann, [{"first_name": "Bea"}], on=today)
    task = ThankYou.objects.get(contact=ann)
    tomorrow = today + dt.timedelta(days=1)
    receive_names(ann, [{"first_name": "Cal"}], on=tomorrow)
    assert ThankYou.objects.get(contact=ann) == task  # Cal shares Bea's open card
    thanks = [i for i in items(ann, tomorrow) if i.action == Action.THANK]
    assert len(thanks) == 1
    assert thanks[0].key == task.source_key
    assert thanks[0].fields["thank_you"] == str(task.pk)
    assert thanks[0].fields["thank_you_kind"] == task.kind


def test_a_thank_you_task_done_ends_the_item(ann, today, alice):
    receive_names(ann, [{"first_name": "Bea"}, {"first_name": "Cal"}], on=today)
    task = ThankYou.objects.get(contact=ann)
    assert Action.THANK in agenda(ann, today)
    mark_card_sent(task, by=alice, on=today)
    assert Action.THANK not in agenda(ann, today)


def test_a_testimonial_thanked_is_not_thanked_again(ann, today, alice):
    record_testimonial(ann, "Wonderful, caring team", on=today)
    mark_card_sent(ThankYou.objects.get(contact=ann), by=alice, on=today)
    assert Action.THANK not in agenda(ann, today)


def test_the_thank_rule_reads_in_a_few_queries_whatever_the_number_of_referrers(acme, today):
    with factories.batch():
        for n in range(12):
            person = factories.client_with_history(acme, today, first_name=f"R{n}")
            factories.referral(person, today, referred=factories.contact(acme, first_name=f"F{n}"))
    engine.build(acme, today)  # warm caches (scripts, the workspace)
    with CaptureQueriesContext(connection) as few:
        engine.build(acme, today, render_scripts=False)
    with factories.batch():
        for n in range(12, 30):
            person = factories.client_with_history(acme, today, first_name=f"R{n}")
            factories.referral(person, today, referred=factories.contact(acme, first_name=f"F{n}"))
    with CaptureQueriesContext(connection) as many:
        found, _, _ = engine.build(acme, today, render_scripts=False)
    assert len(many) == len(few)
    assert sum(i.action == Action.THANK for i in found) == 30
