"""Small builders for test data, going through the app's own write functions
so the rules (promotions, text read for moments) hold in tests too."""

import datetime as dt
import itertools

from django.contrib.auth import get_user_model

from rapport.advocacy import actions as advocacy
from rapport.clients import actions
from rapport.clients.models import Deal, DealStage, Stage
from rapport.outreach.models import Ask, AskKind, Channel, Outcome, QuestionnaireAnswer
from rapport.workspaces.actions import create_workspace
from rapport.workspaces.models import Membership, Role

_ids = itertools.count(1)

# Several facts written as one change: the stored agenda is refreshed once, at
# the end, instead of after each (setting up a scenario stays fast).
batch = actions.changing


def user(email: str, first_name: str = "", password: str = "password-for-tests"):
    return get_user_model().objects.create_user(
        username=email, email=email, password=password, first_name=first_name
    )


def workspace(owner, name: str, time_zone: str = "UTC", **fields):
    return create_workspace(owner, name, time_zone, **fields)


def member(user, workspace, role=Role.MEMBER):
    return Membership.objects.create(user=user, workspace=workspace, role=role)


def contact(workspace, first_name="Ann", stage=Stage.PROSPECT, **fields):
    fields.setdefault("external_id", f"C-{next(_ids)}")
    fields.setdefault("last_name", "Jones")
    return actions.create_contact(workspace, first_name=first_name, stage=stage, **fields)


def purchases(contact, days: list[dt.date], amount=100):
    rows = [actions.PurchaseRow(contact.pk, day, amount, "visit") for day in days]
    actions.record_purchases(contact.workspace, rows)
    contact.refresh_from_db()
    return contact


def client_with_history(workspace, today, *, relationship=8, purchases_every=60, count=5, **fields):
    """A customer with a regular history ending recently: askable by default."""
    person = contact(workspace, relationship=relationship, relationship_on=today, **fields)
    days = [today - dt.timedelta(days=5 + purchases_every * k) for k in range(count)]
    return purchases(person, sorted(days))


def activity(contact, on, text="", signals=(), kind="call", direction="in", by=None):
    return actions.log_activity(
        contact,
        by=by,
        occurred_on=on,
        kind=kind,
        direction=direction,
        text=text,
        signals=list(signals),
    )


def referral(referrer, on, referred=None, **fields):
    referred = referred or contact(referrer.workspace, first_name="Rita", last_name="Referred")
    return advocacy.record_referral(referrer, referred, on=on, **fields)


def deal(contact, title="Project", *, won_on=None, completed_on=None, value=None, stage=None):
    """A deal: completed when it has a completion date, won when it has a win date."""
    if stage is None:
        stage = DealStage.COMPLETED if completed_on else DealStage.WON if won_on else DealStage.LEAD
    return actions.save_deal(
        Deal(
            workspace=contact.workspace,
            contact=contact,
            title=title,
            stage=stage,
            won_on=won_on,
            completed_on=completed_on,
            value=value,
        )
    )


def ask(contact, on, kind=AskKind.REFERRAL, outcome=Outcome.YES, channel=Channel.PHONE):
    """An ask made on `on` (a past day too), with its outcome."""
    with actions.changing():
        made = Ask.objects.create(
            workspace=contact.workspace,
            contact=contact,
            kind=kind,
            channel=channel,
            asked_on=on,
            outcome=outcome,
        )
        actions.facts_changed(contact.workspace, [contact.pk])
    return made


def read_note(contact, on, text, detected: dict, kind="call"):
    """A note whose words the text reader read as `detected` ({kind: evidence}).
    The agenda's rules are tested on what the reader found, not on how it
    reads (that is tests/agenda/test_text.py's)."""
    with actions.changing():
        note = actions.build_activity(
            contact.workspace,
            contact.pk,
            read_text=False,
            occurred_on=on,
            kind=kind,
            direction="in",
            text=text,
        )
        note.detected = dict(detected)
        note.carries_moment = bool(detected)
        note.save()
        actions.facts_changed(contact.workspace, [contact.pk])
    return note


def answer(contact, on, nps: int, sent_days_before: int = 3):
    """A questionnaire sent a few days before `on` and answered on it."""
    with actions.changing():
        sent = ask(
            contact,
            on - dt.timedelta(days=sent_days_before),
            kind=AskKind.FEEDBACK,
            channel=Channel.EMAIL,
        )
        answered = QuestionnaireAnswer.objects.create(
            workspace=contact.workspace, contact=contact, ask=sent, nps=nps, answered_on=on
        )
        actions.facts_changed(contact.workspace, [contact.pk])
    return answered
