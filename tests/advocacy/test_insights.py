"""The insights figures against a scenario counted by hand, the CSV, the
period, and a query count that does not grow with the data."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.advocacy import insights
from rapport.advocacy.actions import record_referral, record_testimonial
from rapport.clients import actions as clients
from rapport.clients.models import Deal
from rapport.outreach.actions import start_ask
from rapport.outreach.models import Ask
from tests import factories

pytestmark = pytest.mark.django_db


def asked(contact, day, *, channel, script, moment="", outcome="pending", kind="referral"):
    ask = start_ask(
        contact,
        kind=kind,
        channel=channel,
        script_key=script,
        moment=moment or "-",
        outcome=outcome,
        page=False,
    )
    Ask.objects.filter(pk=ask.pk).update(asked_on=day, moment=moment)
    return ask


@pytest.fixture
def scenario(acme, today, days_ago):
    """Counted by hand in the test below."""
    ann = factories.client_with_history(acme, today, first_name="Ann", last_name="Ames")
    bob = factories.client_with_history(acme, today, first_name="Bob", last_name="Bell")
    cat = factories.client_with_history(acme, today, first_name="Cat", last_name="Cole")
    dan = factories.client_with_history(acme, today, first_name="Dan", last_name="Dunn")
    asked(ann, days_ago(60), channel="phone", script="point_of_sale", outcome="declined")
    asked(
        ann,
        days_ago(20),
        channel="email",
        script="point_of_sale",
        moment="praise",
        outcome="gave_names",
    )
    asked(
        bob, days_ago(10), channel="phone", script="moment_praise", moment="saved_us", outcome="yes"
    )
    asked(cat, days_ago(5), channel="sms", script="point_of_sale", outcome="declined")
    asked(dan, days_ago(1), channel="email", script="ask_testimonial", kind="testimonial")
    rita = factories.contact(acme, first_name="Rita")
    clients.save_deal(
        Deal(workspace=acme, contact=rita, title="Implant", stage="won", value=Decimal(1000))
    )
    sam = factories.contact(acme, first_name="Sam")
    tia = factories.contact(acme, first_name="Tia")
    factories.purchases(tia, [days_ago(2)], amount=200)
    factories.purchases(tia, [days_ago(1)], amount=50)
    uma = factories.contact(acme, first_name="Uma")
    vic = factories.contact(acme, first_name="Vic")
    record_referral(ann, rita, on=days_ago(18), how="names_given", status="won")
    record_referral(ann, sam, on=days_ago(18), how="names_given")
    record_referral(bob, tia, on=days_ago(3), how="intro", status="won")
    record_referral(cat, vic, on=days_ago(2), how="link", unsolicited=True, status="lost")
    record_referral(ann, uma, on=days_ago(40), how="intro", status="won")  # before the period
    record_testimonial(ann, "Great", on=days_ago(4))
    return {"ann": ann, "bob": bob, "cat": cat}


def test_the_figures_match_the_hand_count(acme, scenario, today, days_ago):
    report = insights.build(acme, days_ago(30), today)
    assert report.totals == {
        "referrals": 4,
        "won": 2,
        "lost": 1,
        "conversion": 50.0,
        "value": Decimal("1250.00"),
        "unsolicited": 1,
        "median_days": 2,
        "mean_days": 3.7,
    }
    rows = {f.key: f.rows for f in report.figures}
    assert rows["by_source"] == [
        ["Gave names", 2, 1, 50.0, 0],
        ["Introduction", 1, 1, 100.0, 0],
        ["Referral link", 1, 0, 0.0, 1],
    ]
    assert rows["by_moment"] == [
        ["Praise", 2, 1, 50.0],
        ["(no ask before it)", 1, 0, 0.0],
        ["“You saved us”", 1, 1, 100.0],
    ]
    assert rows["value_per_referrer"] == [
        ["Ann Ames", Decimal("1000.00"), 1],
        ["Bob Bell", Decimal("250.00"), 1],
    ]
    assert rows["top_advocates"] == [
        ["Ann Ames", 2, 1, Decimal("1000.00"), 1],
        ["Bob Bell", 1, 1, Decimal("250.00"), 0],
        ["Cat Cole", 1, 0, Decimal("0"), 0],
    ]
    assert rows["time_to_referral"] == [
        ["same day", 0],
        ["1–7 days", 3],
        ["8–30 days", 0],
        ["31–90 days", 0],
    ]
    #            asks yes later declined no-answer waiting referrals yes%
    assert rows["asks_by_script"] == [
        ["Point-of-sale ask", 2, 1, 0, 1, 0, 0, 2, 50.0],
        ["After praise", 1, 1, 0, 0, 0, 0, 1, 100.0],
        ["Testimonial request", 1, 0, 0, 0, 0, 1, 0, 0.0],
    ]
    assert rows["asks_by_channel"] == [
        ["Email", 2, 1, 0, 0, 0, 1, 2, 50.0],
        ["Phone", 1, 1, 0, 0, 0, 0, 1, 100.0],
        ["SMS", 1, 0, 0, 1, 0, 0, 0, 0.0],
    ]


def test_a_longer_period_takes_in_the_earlier_referral_and_ask(acme, scenario, today, days_ago):
    report = insights.build(acme, days_ago(90), today)
    assert report.totals["referrals"] == 5 and report.totals["value"] == Decimal("1250.00")
    # Uma's referral on day -40 follows Ann's declined phone ask on day -60.
    assert ["(no moment recorded)", 1, 1, 100.0] in report.figure("by_moment").rows
    assert report.figure("asks_by_script").rows[0][:2] == ["Point-of-sale ask", 3]


def test_the_page_draws_accessible_svg_charts_without_javascript(
    alice_client, acme, scenario, days_ago
):
    response = alice_client.get(reverse("advocacy:insights"), {"start": days_ago(30).isoformat()})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('<svg role="img"') == 7  # every figure with rows has its chart
    assert '<title id="chart-by_source-t">Referrals by source</title>' in page
    assert "Gave names: 2" in page  # the chart's text alternative
    assert "<script" not in page.split("<main")[1]


def test_the_csv_holds_every_figure(alice_client, acme, scenario, today, days_ago):
    response = alice_client.get(
        reverse("advocacy:insights_csv"), {"start": days_ago(30).isoformat(), "end": today}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    value = {(r["figure"], r["row"], r["measure"]): r["value"] for r in rows}
    assert value[("totals", "", "value")] == "1250.00"
    assert value[("asks_by_script", "Point-of-sale ask", "Referrals")] == "2"
    assert value[("value_per_referrer", "Bob Bell", "Value won")] == "250.00"
    assert {r["period_start"] for r in rows} == {days_ago(30).isoformat()}


def test_a_name_in_the_csv_is_never_a_formula(alice_client, acme, scenario, today, days_ago):
    """A referrer called "=HYPERLINK(...)" reaches the CSV as text, not as a
    formula a spreadsheet would run (security.md row 10)."""
    bob = scenario["bob"]
    bob.first_name, bob.last_name = '=HYPERLINK("http://evil.example")', "@SUM(A1)"
    bob.save(update_fields=["first_name", "last_name"])
    response = alice_client.get(
        reverse("advocacy:insights_csv"), {"start": days_ago(30).isoformat(), "end": today}
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    labels = {r["row"] for r in rows if "HYPERLINK" in r["row"]}
    assert labels and all(label.startswith("'=") for label in labels)
    assert not any(r["row"][:1] in "=+-@" for r in rows if r["row"])


def test_a_bad_period_is_refused_with_a_reason(alice_client, today):
    response = alice_client.get(
        reverse("advocacy:insights"), {"start": today.isoformat(), "end": "2001-01-01"}
    )
    assert response.status_code == 422
    assert "starts after it ends" in response.content.decode()


def test_the_query_count_does_not_grow_with_the_data(acme, scenario, today, days_ago):
    def count():
        with CaptureQueriesContext(connection) as queries:
            insights.build(acme, days_ago(30), today)
        return len(queries)

    before = count()
    for n in range(15):
        referrer = factories.contact(acme, first_name=f"R{n}")
        asked(referrer, days_ago(9), channel="email", script="point_of_sale", moment="praise")
        record_referral(referrer, factories.contact(acme, first_name=f"F{n}"), on=days_ago(8))
    assert count() == before <= 6


def test_a_read_writes_nothing(alice_client, acme, scenario):
    with CaptureQueriesContext(connection) as queries:
        alice_client.get(reverse("advocacy:insights"))
    writes = [
        q["sql"] for q in queries if q["sql"].split()[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]
    assert not [w for w in writes if "django_session" not in w]
