"""The win-back report: who is listed, in which words, and what they are worth."""

import csv
import datetime as dt
import io

import numpy as np
import pytest

from rapport.agenda import store
from rapport.agenda.models import Action, AgendaItem
from rapport.clients import actions
from rapport.clients.models import Stage
from rapport.outreach.models import Outcome
from rapport.winback import actions as winback
from rapport.winback import report
from tests import factories

nan = np.nan


# -- plain functions ------------------------------------------------------------


def test_usual_intervals_follow_the_lapse_rules_sources():
    #                recall  median  mean  typical(2 days)  typical(1 day)
    purchases = np.array([4.0, 5.0, 3.0, 2.0, 1.0, 0.0])
    first = np.array([0.0, 0.0, 0.0, 0.0, 50.0, nan])
    last = np.array([300.0, 200.0, 90.0, 10.0, 50.0, nan])
    rhythm = np.array([100.0, 35.0, nan, 10.0, nan, nan])
    recall = np.array([183.0, nan, nan, nan, nan, nan])
    interval, source = report.usual_intervals(purchases, first, last, rhythm, recall)
    # Typical: the median of the regular clients' own intervals (100, 35, 45).
    assert interval[:5].tolist() == [183.0, 35.0, 45.0, 45.0, 45.0]
    assert source[:5].tolist() == [
        report.RECALL,
        report.MEDIAN,
        report.MEAN,
        report.TYPICAL,
        report.TYPICAL,
    ]
    # Never bought: the workspace's typical interval still says how often
    # clients come; nothing at all when no client is regular.
    _, alone = report.usual_intervals(
        np.array([1.0]), np.array([5.0]), np.array([5.0]), np.array([nan]), np.array([nan])
    )
    assert alone.tolist() == [report.NO_INTERVAL]


def test_assumed_alive_uses_the_model_else_the_edge_of_the_group():
    p_alive = np.array([0.2, nan, nan, nan])
    lapsed = np.array([True, True, False, False])
    at_risk = np.array([False, False, True, False])
    assert report.assumed_alive(p_alive, lapsed, at_risk).tolist() == [0.2, 0.5, 0.7, 1.0]


def test_revenue_at_risk_is_a_year_of_visits_times_spend_times_the_risk():
    revenue = report.revenue_at_risk(
        np.array([73.0, 365.0, nan, 30.0]),
        np.array([100.0, 50.0, 100.0, nan]),
        np.array([0.5, 0.0, 0.5, 0.5]),
    )
    assert revenue[0] == pytest.approx(5 * 100 * 0.5)
    assert revenue[1] == pytest.approx(50.0)
    assert np.isnan(revenue[2]) and np.isnan(revenue[3])


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("  =1+1", "'  =1+1"),
        ("\t=1", "'\t=1"),
        ("Ann", "Ann"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_csv_cells_cannot_start_a_formula(value, cell):
    assert report.csv_safe(value) == cell


def test_csv_writes_the_columns_and_escapes():
    row = report.Row(
        contact_id=1,
        status=report.LAPSED,
        why=[],
        last_purchase=dt.date(2026, 1, 2),
        days_since=200,
        interval=60.4,
        interval_source="",
        p_alive=0.4212,
        p_alive_note="",
        revenue_at_risk=1234.567,
        estimated=False,
        last_touch=dt.date(2026, 2, 3),
        holds=[],
        call=report.Call(dt.date(2026, 3, 1), Outcome.LATER, False),
        external_id="C-1",
        name="=cmd|' /C calc'!A0",
        email="ann@example.com",
        phone="+44 1",
    )
    out = io.StringIO()
    report.write_csv([row], out)
    header, line = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == report.CSV_COLUMNS
    record = dict(zip(header, line, strict=True))
    assert record["name"] == "'=cmd|' /C calc'!A0"
    assert record["phone"] == "'+44 1"
    assert record["usual_interval_days"] == "60"
    assert record["p_alive"] == "0.421"
    assert record["revenue_at_risk"] == "1234.57"
    assert record["last_reactivation_outcome"] == "later"
    assert record["came_back"] == "no"


# -- the report on a workspace ----------------------------------------------------


def lapsed_patient(workspace, today, name="Pat", every=60, since=200, amount=100, count=5):
    """A regular patient who stopped coming `since` days ago."""
    patient = factories.contact(workspace, first_name=name)
    days = [today - dt.timedelta(days=since + every * k) for k in range(count)]
    return factories.purchases(patient, sorted(days), amount=amount)


def build(workspace, today, *, refit=True, **kwargs):
    """The report (after the morning job fitted the lapse model, unless the
    test set one), and its rows by name."""
    if refit:
        winback.refit_lapse_model(workspace, today)
    found = report.build(workspace, today, **kwargs)
    report.fill_contacts(workspace, found.rows)
    return found, {row.name: row for row in found.rows}


@pytest.mark.django_db
def test_a_lapsed_patient_is_listed_with_plain_reasons_and_revenue_at_risk(acme, today):
    lapsed_patient(acme, today)
    factories.client_with_history(acme, today, first_name="Regular")  # came 5 days ago
    factories.contact(acme, first_name="Prospect", stage=Stage.PROSPECT)
    found, rows = build(acme, today)
    assert set(rows) == {"Pat Jones"}
    pat = rows["Pat Jones"]
    assert pat.status == report.LAPSED
    assert pat.why[0].startswith("used to come every 2 months; nothing for 7 months")
    assert "more than twice their usual gap" in pat.why
    assert pat.days_since == 200 and pat.last_purchase == today - dt.timedelta(days=200)
    assert (pat.interval, pat.interval_source) == (60.0, "their usual gap")
    # Too small a workspace for the model: P(alive) unknown, and why.
    assert pat.p_alive is None
    assert pat.p_alive_note.startswith("workspace too small for the model: ")
    assert "needed to fit" in pat.p_alive_note
    # 365/60 visits a year × 100 a visit × (1 − 0.5 assumed for a lapsed client).
    assert pat.revenue_at_risk == pytest.approx(365 / 60 * 100 * 0.5)
    assert pat.estimated
    assert (found.lapsed, found.at_risk) == (1, 0)
    assert found.revenue_at_risk == pytest.approx(pat.revenue_at_risk)
    assert "No lapse model" in found.model and "needed to fit" in found.model


@pytest.mark.django_db
def test_at_risk_are_those_due_a_routine_visit(acme, today):
    acme.recall_interval_days = 183
    acme.save()
    due = lapsed_patient(acme, today, name="Due", every=183, since=190, amount=80)
    gone = lapsed_patient(acme, today, name="Gone", every=183, since=300, amount=80)
    found, rows = build(acme, today)
    assert rows["Due Jones"].status == report.AT_RISK
    assert rows["Due Jones"].why[0].startswith("routine visit every 6 months")
    assert rows["Due Jones"].interval_source == "routine visit"
    # Unknown P(alive), at risk: 70% assumed still a client.
    assert rows["Due Jones"].revenue_at_risk == pytest.approx(365 / 183 * 80 * 0.3)
    assert rows["Gone Jones"].status == report.LAPSED
    assert rows["Gone Jones"].why[1].startswith("lapsed: more than 8 months without a visit")
    assert (found.lapsed, found.at_risk) == (1, 1)
    lapsed_only = {r.contact_id for r in report.build(acme, today, show="lapsed").rows}
    at_risk_only = {r.contact_id for r in report.build(acme, today, show="at_risk").rows}
    assert (lapsed_only, at_risk_only) == ({gone.pk}, {due.pk})


@pytest.mark.django_db
def test_the_model_puts_doubtful_clients_at_risk_and_prices_the_risk(acme, today):
    # A fitted model (the paper's CDNOW parameters, in weeks), fitted today.
    acme.lapse_model = {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
        "customers": 1200,
        "fitted_on": today.isoformat(),
    }
    acme.save()
    weekly = factories.contact(acme, first_name="Monthly")
    # Three monthly visits, the last 36 days ago: not even due by their own
    # rhythm (1.25 × 30 days), but on so short a history the model doubts.
    factories.purchases(weekly, [today - dt.timedelta(days=36 + 30 * k) for k in range(3)])
    found, rows = build(acme, today, refit=False)
    row = rows["Monthly Jones"]
    assert row.p_alive is not None and row.p_alive < report.AT_RISK_BELOW
    assert row.status == report.AT_RISK
    assert row.why == [
        f"the lapse model gives a {row.p_alive_percent}% chance they are still a client"
    ]
    # The model's P(alive) where it speaks: 365/30 visits × 100 × (1 − P).
    assert row.revenue_at_risk == pytest.approx(365 / 30 * 100 * (1 - row.p_alive), rel=1e-6)
    assert not row.estimated
    assert "fitted on" in found.model and "1,200 customers" in found.model
    # Fewer than three purchase days: the model does not score them.
    few = lapsed_patient(acme, today, name="Few", count=2)
    _, rows = build(acme, today, refit=False)
    assert rows["Few Jones"].p_alive_note == "too few purchases"
    assert few.pk


@pytest.mark.django_db
def test_spend_per_visit_falls_back_to_the_workspace_average(acme, today):
    lapsed_patient(acme, today, name="Cheap", amount=50)
    lapsed_patient(acme, today, name="Dear", amount=150)
    lapsed_patient(acme, today, name="Unknown", amount=None)
    found, rows = build(acme, today)
    assert rows["Unknown Jones"].revenue_at_risk == pytest.approx(365 / 60 * 100 * 0.5)
    assert [row.name for row in found.rows] == ["Dear Jones", "Unknown Jones", "Cheap Jones"]


@pytest.mark.django_db
def test_sorting(acme, today):
    lapsed_patient(acme, today, name="Long", since=400, amount=10)
    lapsed_patient(acme, today, name="Rich", since=200, amount=500)
    by_revenue = report.build(acme, today).rows
    by_last = report.build(acme, today, sort="last_purchase").rows
    report.fill_contacts(acme, by_revenue)
    report.fill_contacts(acme, by_last)
    assert [r.name for r in by_revenue] == ["Rich Jones", "Long Jones"]
    assert [r.name for r in by_last] == ["Long Jones", "Rich Jones"]
    assert report.build(acme, today, sort="nonsense").sort == "revenue"


@pytest.mark.django_db
def test_what_came_of_the_win_back_call(acme, alice, today):
    pat = lapsed_patient(acme, today)
    store.refresh(acme, today)
    item = AgendaItem.objects.get(contact=pat, action=Action.REACTIVATE)
    winback.record_reactivation(
        item, Outcome.YES, by=alice, channel="phone", until=today + dt.timedelta(days=3)
    )
    _, rows = build(acme, today)
    call = rows["Pat Jones"].call
    assert (call.on, call.outcome, call.outcome_label, call.came_back) == (
        today,
        Outcome.YES,
        "coming back",
        False,
    )
    # They came: no longer lapsed, and the "called" list says so.
    later = today + dt.timedelta(days=3)
    actions.record_purchase(pat, later, 120)
    found, rows = build(acme, later)
    assert "Pat Jones" not in rows
    called, rows = build(acme, later, show="called")
    assert rows["Pat Jones"].call.came_back
    assert rows["Pat Jones"].status == report.ACTIVE
    assert called.counts["called"] == 1


@pytest.mark.django_db
def test_an_open_issue_is_shown_as_a_hold(acme, today):
    pat = lapsed_patient(acme, today)
    actions.open_issue(pat, "The crown came loose", opened_on=today)
    _, rows = build(acme, today)
    assert any("The crown came loose" in hold for hold in rows["Pat Jones"].holds)


@pytest.mark.django_db
def test_a_workspace_with_nobody_to_win_back(acme, today):
    found = report.build(acme, today)
    assert (found.rows, found.lapsed, found.revenue_at_risk) == ([], 0, 0.0)
