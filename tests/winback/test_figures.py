"""The stored lapse figures: what the morning job writes is the report the
page would compute, they follow each change of a contact's facts, and the
page reads them one page at a time."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.clients import actions
from rapport.outreach.actions import start_ask
from rapport.outreach.models import AskKind, Outcome
from rapport.winback import actions as winback
from rapport.winback import figures, report
from rapport.winback.models import LapseDay, LapseFigure
from tests import factories

pytestmark = pytest.mark.django_db


def patients(workspace, today, n, start=0, since=200):
    people = [
        factories.contact(workspace, first_name=f"Pat{start + k}", last_name="Lapsed")
        for k in range(n)
    ]
    rows = [
        actions.PurchaseRow(person.pk, today - dt.timedelta(days=since + 60 * j + k), 100 + k)
        for k, person in enumerate(people)
        for j in range(4)
    ]
    actions.record_purchases(workspace, rows)
    return people


def comparable(workspace, found):
    rows = list(found.rows)
    report.fill_contacts(workspace, rows)
    return (
        [
            (r.contact_id, r.status, r.why, r.revenue_at_risk, r.p_alive, r.holds, r.name)
            for r in rows
        ],
        found.lapsed,
        found.at_risk,
        found.counts,
        round(found.revenue_at_risk, 6),
        found.estimated,
    )


def test_stored_figures_are_the_report_the_page_would_compute(acme, today):
    people = patients(acme, today, 6)
    patients(acme, today, 3, start=10, since=40)  # due, not lapsed
    factories.client_with_history(acme, today, first_name="Regular")
    start_ask(
        people[0], kind=AskKind.REACTIVATION, channel="phone", page=False, outcome=Outcome.LATER
    )
    actions.open_issue(people[1], "billing", opened_on=today)
    winback.morning(workspace=acme, on=today)
    assert LapseDay.objects.get(workspace=acme).on == today
    for show in report.SHOW:
        for sort in report.SORTS:
            live = report.build(acme, today, show=show, sort=sort)
            stored = report.read(acme, today, show=show, sort=sort)
            assert isinstance(stored.rows, figures.Rows)
            assert comparable(acme, stored) == comparable(acme, live), (show, sort)


def test_a_purchase_moves_the_stored_figure_of_that_contact(acme, today):
    (pat, other) = patients(acme, today, 2)
    winback.morning(workspace=acme, on=today)
    assert LapseFigure.objects.get(contact=pat).status == report.LAPSED
    actions.record_purchase(pat, date=today, amount=100)
    assert not LapseFigure.objects.filter(contact=pat).exists()  # back: not listed
    assert LapseFigure.objects.get(contact=other).status == report.LAPSED
    live = report.build(acme, today)
    assert [r.contact_id for r in report.read(acme, today).rows] == [
        r.contact_id for r in live.rows
    ]


def test_without_figures_for_today_the_page_computes_the_report(acme, today):
    patients(acme, today, 2)
    winback.morning(workspace=acme, on=today - dt.timedelta(days=1))
    found = report.read(acme, today)
    assert isinstance(found.rows, list) and len(found.rows) == 2


def winback_queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


def test_the_page_and_export_read_a_bounded_number_of_queries(alice_client, acme, today):
    patients(acme, today, 5)
    winback.morning(workspace=acme, on=today)
    small = winback_queries(alice_client, reverse("winback:winback"))
    small_export = winback_queries(alice_client, reverse("winback:export"))
    patients(acme, today, 60, start=100)
    winback.morning(workspace=acme, on=today)
    assert winback_queries(alice_client, reverse("winback:winback")) == small
    assert winback_queries(alice_client, reverse("winback:export")) == small_export
