"""Small builders for test data, going through the app's own write functions
so the rules (promotions, text read for moments) hold in tests too."""

import datetime as dt
import itertools

from django.contrib.auth import get_user_model

from rapport.advocacy import actions as advocacy
from rapport.clients import actions
from rapport.clients.models import Stage
from rapport.workspaces.actions import create_workspace
from rapport.workspaces.models import Membership, Role

_ids = itertools.count(1)


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
