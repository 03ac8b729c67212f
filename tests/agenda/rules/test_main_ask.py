"""The main ask (rules.main_ask): a fresh positive moment from a client who
may be asked proposes an ask — a testimonial after a completed project (the
funnel's last phase) when none was given yet, else a referral."""

import datetime as dt

import pytest

from rapport.advocacy.actions import record_testimonial
from rapport.agenda.models import Action
from rapport.kinds import MomentKind
from tests import factories
from tests.agenda.helpers import agenda

pytestmark = pytest.mark.django_db


def praised(workspace, today, *, on=None, text="", **fields):
    with factories.batch():
        person = factories.client_with_history(workspace, today, **fields)
        factories.activity(
            person, on or today - dt.timedelta(days=1), signals=["praise"], text=text
        )
    return person


def test_praise_from_a_ready_customer_proposes_a_referral_ask(acme, today):
    ann = praised(acme, today, text="Lovely visit")
    item = agenda(ann, today)[Action.ASK_REFERRAL]
    activity = ann.activities.get()
    assert item.key == f"referral:activity:{activity.pk}"
    assert item.moments == [MomentKind.PRAISE]
    assert item.why == [
        f"praised us on {today - dt.timedelta(days=1)}",
        "relationship 8/10",
        f"readiness {item.readiness} (threshold 50)",
        "no open issues",
    ]
    assert item.script_key == "moment_praise"
    assert item.fields["moment"] == "you took the time to tell us how happy you are"
    assert "Ann" in item.script and "{first_name}" not in item.script
    assert "it means a lot that you took the time to tell us how happy you are" in item.script


@pytest.mark.parametrize(
    ("signal", "script_key", "words"),
    [
        ("praise", "moment_praise", "it means a lot that you took the time"),
        ("saved_us", "moment_saved_us", "glad we could be there when it mattered"),
        ("testimonial", "moment_testimonial", "your kind words on"),
        ("partner_association", "moment_partner_association", "Congratulations on joining"),
    ],
)
def test_each_unprompted_moment_asks_for_a_referral_in_its_own_words(
    acme, today, signal, script_key, words
):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.activity(ann, today, text="Booked next appointment.", signals=[signal])
    item = agenda(ann, today)[Action.ASK_REFERRAL]
    assert (item.moments, item.script_key) == ([signal], script_key)
    assert words in item.script


def test_praise_read_in_the_words_counts_like_a_marked_one(acme, today):
    words = "She said you are the best dentist she has ever had!"
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.read_note(ann, today, words, {"praise": words})
    item = agenda(ann, today)[Action.ASK_REFERRAL]
    assert item.why[0] == f"praised us on {today}: \u201c{words}\u201d"


def test_praise_in_the_words_of_a_note_is_read_and_counts(acme, today):
    # Through the text reader (its own tests are tests/agenda/test_text.py).
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.activity(ann, today, text="She said you are the best dentist she has ever had!")
    assert Action.ASK_REFERRAL in agenda(ann, today)


def test_a_completed_project_asks_for_a_testimonial_first(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        implant = factories.deal(
            ann, "Implant", won_on=today - dt.timedelta(days=60), completed_on=today
        )
    found = agenda(ann, today)
    item = found[Action.ASK_TESTIMONIAL]
    assert item.key == f"testimonial:deal:{implant.pk}"
    assert item.moments == [MomentKind.PROJECT_COMPLETED]
    assert item.why[0] == f"project completed on {today} (Implant)"
    assert item.script_key == "moment_project_completed"
    assert "now that the project is done" in item.script
    assert Action.ASK_REFERRAL not in found  # one ask a day


def test_once_a_testimonial_was_given_a_completed_project_asks_for_a_referral(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.deal(ann, "Implant", won_on=today - dt.timedelta(days=60), completed_on=today)
        record_testimonial(ann, "Wonderful work", on=today - dt.timedelta(days=30))
    found = agenda(ann, today)
    assert Action.ASK_TESTIMONIAL not in found
    assert found[Action.ASK_REFERRAL].moments == [MomentKind.PROJECT_COMPLETED]


def test_a_routine_purchase_is_not_a_point_of_sale_but_a_major_one_is(acme, today):
    # Regression: every check-up used to open a point-of-sale referral ask.
    ann = factories.contact(acme, relationship=9, relationship_on=today)
    days = [today - dt.timedelta(days=183 * k) for k in range(4, 0, -1)]
    factories.purchases(ann, days, amount=85)
    factories.purchases(ann, [today - dt.timedelta(days=1)], amount=85)
    assert Action.ASK_REFERRAL not in agenda(ann, today)
    factories.purchases(ann, [today], amount=640)  # a crown
    item = agenda(ann, today)[Action.ASK_REFERRAL]
    assert (item.moments, item.script_key) == ([MomentKind.POINT_OF_SALE], "point_of_sale")
    assert "glad you decided to go ahead" in item.script


@pytest.mark.parametrize(("nps", "asked"), [(8, False), (9, True), (10, True)])
def test_a_nine_or_ten_on_the_questionnaire_is_a_moment_to_ask(acme, today, nps, asked):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.answer(ann, today, nps)
    found = agenda(ann, today)
    assert (Action.ASK_REFERRAL in found) is asked
    if asked:
        assert found[Action.ASK_REFERRAL].why[0] == f"rated us on {today} ({nps}/10)"


def test_on_the_same_day_the_stronger_moment_leads_and_picks_the_words(acme, today):
    # Regression: the purchase's source string sorted first and chose the words.
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.purchases(ann, [today], amount=1000)
        factories.activity(ann, today, signals=["praise"], text="Lovely")
    item = agenda(ann, today)[Action.ASK_REFERRAL]
    assert item.moments == [MomentKind.PRAISE, MomentKind.POINT_OF_SALE]
    assert item.script_key == "moment_praise"


def test_the_newest_moment_leads_and_at_most_three_are_named(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        for n, kind in enumerate(["praise", "saved_us", "testimonial", "partner_association"]):
            factories.activity(ann, today - dt.timedelta(days=n), signals=[kind])
    item = agenda(ann, today)[Action.ASK_REFERRAL]
    assert item.moments == ["praise", "saved_us", "testimonial", "partner_association"]
    assert [reason.split(" on ")[0] for reason in item.why[:4]] == [
        "praised us",
        "said we saved them",
        "sent a testimonial",
        "relationship 8/10",
    ]


def test_a_moment_lasts_its_window_and_not_a_day_more(acme, today):
    ann = praised(acme, today, on=today - dt.timedelta(days=14))
    assert Action.ASK_REFERRAL in agenda(ann, today)
    assert Action.ASK_REFERRAL not in agenda(ann, today + dt.timedelta(days=1))
    # The window is the workspace's to set.
    acme.moment_windows = {"praise": 30}
    acme.save()
    assert Action.ASK_REFERRAL in agenda(ann, today + dt.timedelta(days=16))
    assert Action.ASK_REFERRAL not in agenda(ann, today + dt.timedelta(days=17))


def test_a_moment_in_the_future_does_not_count_yet(acme, today):
    ann = praised(acme, today, on=today + dt.timedelta(days=2))
    assert Action.ASK_REFERRAL not in agenda(ann, today)
    assert Action.ASK_REFERRAL in agenda(ann, today + dt.timedelta(days=2))


def test_a_referral_read_in_words_is_a_moment_to_ask_not_a_referral_on_record(acme, today):
    words = "I gave your number to my neighbour"
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.read_note(ann, today, words, {"referral": words})
    found = agenda(ann, today)
    assert Action.ASK_MORE_NAMES not in found and Action.THANK not in found
    item = found[Action.ASK_REFERRAL]
    assert item.why[0] == f"mentioned passing our name on on {today}: \u201c{words}\u201d"
    assert not any(reason.startswith("referred") for reason in item.why)
