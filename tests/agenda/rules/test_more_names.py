"""Ask for the other names (rules.more_names): after a real referral — a
referred person on record, or a referral a user marked — "give me all the
other names now". Words read in a note are not a referral to build on."""

import datetime as dt

import pytest

from rapport.agenda.models import Action
from rapport.clients.models import Stage
from rapport.kinds import MomentKind
from tests import factories
from tests.agenda.helpers import agenda

pytestmark = pytest.mark.django_db


def test_a_referral_on_record_asks_for_all_the_other_names(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        referral = factories.referral(ann, today - dt.timedelta(days=2))
    found = agenda(ann, today)
    item = found[Action.ASK_MORE_NAMES]
    assert item.key == f"more_names:referral:{referral.pk}"
    assert item.why == [
        f"referred Rita Referred on {today - dt.timedelta(days=2)}",
        "ask for all the other names now",
    ]
    assert (item.script_key, item.moments) == ("ask_more_names", [MomentKind.REFERRAL])
    assert item.fields == {"referred_name": "Rita Referred"}
    assert "introducing Rita Referred" in item.script and "Give me all of them now" in item.script
    # Thank first, in the same conversation; the ask ranks above the thank-you.
    assert Action.THANK in found
    assert item.priority > found[Action.THANK].priority


def test_everyone_they_referred_is_named(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.referral(ann, today - dt.timedelta(days=3))
        sam = factories.contact(acme, first_name="Sam", last_name="Smith")
        factories.referral(ann, today, referred=sam)
    item = agenda(ann, today)[Action.ASK_MORE_NAMES]
    assert item.fields["referred_name"] == "Sam Smith and Rita Referred"
    assert item.why[0] == f"referred Sam Smith and Rita Referred on {today}"


def test_a_referral_a_user_marked_is_real_without_a_name(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        note = factories.activity(ann, today, signals=["referral"], text="Booked a cleaning.")
    item = agenda(ann, today)[Action.ASK_MORE_NAMES]
    assert item.key == f"more_names:activity:{note.pk}"
    assert item.why[0] == f"marked as a referral on {today}"
    assert item.fields == {"referred_name": "the person you sent our way"}
    assert "Thank you again for introducing the person you sent our way" in item.script


@pytest.mark.parametrize(
    "words",
    ["I tell everyone about you", "I keep telling my friends how good you are"],
)
def test_word_of_mouth_read_in_a_note_never_asks_for_other_names(acme, today, words):
    # How today's reader reads it (a referral, a testimonial) or a better one
    # (praise): either way nobody was referred.
    for detected in ({"referral": words, "testimonial": words}, {"praise": words}):
        with factories.batch():
            ann = factories.client_with_history(acme, today, first_name=f"A{len(detected)}")
            factories.read_note(ann, today, words, detected)
        found = agenda(ann, today)
        assert Action.ASK_MORE_NAMES not in found
        assert Action.THANK not in found
        ask = found[Action.ASK_REFERRAL]
        assert not any("referred" in reason for reason in ask.why)


def test_a_referral_lasts_its_window(acme, today):
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.referral(ann, today - dt.timedelta(days=14))
    assert Action.ASK_MORE_NAMES in agenda(ann, today)
    assert Action.ASK_MORE_NAMES not in agenda(ann, today + dt.timedelta(days=1))


@pytest.mark.parametrize("stage", [Stage.SUSPECT, Stage.PROSPECT])
def test_a_referral_from_someone_not_yet_a_client_earns_the_right_first(acme, today, stage):
    with factories.batch():
        person = factories.contact(acme, stage=stage, relationship=9, relationship_on=today)
        factories.activity(person, today, signals=["referral"])
    found = agenda(person, today)
    assert Action.ASK_MORE_NAMES not in found
    assert found[Action.EARN_FIRST].why[:2] == [
        f"mentioned passing our name on on {today}",
        f"a {stage} is not asked for a referral: not a client yet",
    ]


def test_a_referral_from_a_client_not_yet_ready_earns_the_right_first(acme, today):
    acme.readiness_threshold = 95
    acme.save()
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.referral(ann, today)
    found = agenda(ann, today)
    assert Action.ASK_MORE_NAMES not in found
    assert Action.THANK in found  # thanked all the same
    earn = found[Action.EARN_FIRST]
    assert earn.moments == [MomentKind.REFERRAL]
    assert "below the threshold of 95" in " ".join(earn.why)
