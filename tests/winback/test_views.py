"""The win-back view and its CSV export."""

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.agenda import store
from rapport.clients import actions
from rapport.clients.models import Contact
from rapport.winback import actions as winback
from rapport.winback import report
from tests import factories

pytestmark = pytest.mark.django_db


def lapsed_patients(workspace, today, n, start=0, prefix="Pat", amount=100):
    """`n` regular patients who stopped coming, with one purchase write."""
    people = [
        factories.contact(workspace, first_name=f"{prefix}{start + k}", last_name="Lapsed")
        for k in range(n)
    ]
    rows = [
        actions.PurchaseRow(person.pk, today - dt.timedelta(days=200 + 60 * j + k), amount)
        for k, person in enumerate(people)
        for j in range(4)
    ]
    actions.record_purchases(workspace, rows)
    return people


def parse(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_view_lists_a_lapsed_patient_with_reasons_and_revenue_at_risk(
    alice_client, acme, today
):
    (pat,) = lapsed_patients(acme, today, 1)
    factories.client_with_history(acme, today, first_name="Regular")
    winback.refit_lapse_model(acme, today)  # the morning job
    response = alice_client.get(reverse("winback:winback"))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'aria-current="page">Win-back</a>' in page
    assert reverse("clients:detail", args=[pat.pk]) in page
    assert "Pat0 Lapsed" in page and "Regular" not in page
    assert "used to come every 2 months; nothing for 7 months" in page
    assert "more than twice their usual gap" in page
    # 365/60 visits a year × 100 × (1 − 0.5): 304, estimated (no model here).
    assert '304<a href="#revenue-note"' in page
    assert "workspace too small for the model" in page
    assert "1 lapsed</strong>" in page
    assert "Revenue at risk</strong> = visits a year" in page  # the footnote
    assert "not called yet" in page


def test_the_view_shows_what_came_of_the_call(alice_client, alice, acme, today):
    from rapport.agenda.models import Action, AgendaItem

    (pat,) = lapsed_patients(acme, today, 1)
    store.refresh(acme, today)
    item = AgendaItem.objects.get(contact=pat, action=Action.REACTIVATE)
    winback.record_reactivation(
        item, "later", by=alice, channel="phone", until=today + dt.timedelta(days=14)
    )
    page = alice_client.get(reverse("winback:winback")).content.decode()
    assert f"{today}: not now" in page and "not back yet" in page


def test_query_count_does_not_grow_with_the_clients(
    alice_client, acme, today, django_assert_max_num_queries
):
    url, export = reverse("winback:winback"), reverse("winback:export")
    lapsed_patients(acme, today, 5)
    alice_client.get(url)  # the day's model fit, once
    with CaptureQueriesContext(connection) as five:
        assert alice_client.get(url).context["page"].paginator.count == 5
    with CaptureQueriesContext(connection) as csv_five:
        assert len(parse(alice_client.get(export))) == 5
    lapsed_patients(acme, today, 45, start=5)
    with CaptureQueriesContext(connection) as fifty:
        assert alice_client.get(url).context["page"].paginator.count == 50
    with CaptureQueriesContext(connection) as csv_fifty:
        assert len(parse(alice_client.get(export))) == 50
    assert len(five) == len(fifty)
    assert len(csv_five) == len(csv_fifty)
    with django_assert_max_num_queries(30):
        alice_client.get(url + "?sort=p_alive&show=lapsed")


def test_filters_sorting_and_pages(alice_client, acme, today):
    lapsed_patients(acme, today, 52, amount=100)
    (dear,) = lapsed_patients(acme, today, 1, prefix="Dear", amount=900)
    url = reverse("winback:winback")
    first = alice_client.get(url).context
    assert first["page"].paginator.count == 53 and len(first["page"].object_list) == 50
    assert first["page"].object_list[0].contact_id == dear.pk  # most at risk first
    second = alice_client.get(url + "?page=2").context["page"]
    assert len(second.object_list) == 3
    assert alice_client.get(url + "?show=at_risk").context["page"].paginator.count == 0
    by_last = alice_client.get(url + "?sort=last_purchase").context["page"].object_list
    days = [row.days_since for row in by_last]
    assert days == sorted(days, reverse=True)
    # htmx swaps the results only; bad parameters fall back to the defaults.
    partial = alice_client.get(url + "?show=nope&sort=nope", HTTP_HX_REQUEST="true")
    content = partial.content.decode()
    assert content.lstrip().startswith('<div id="results">') and "<html" not in content
    assert "53 clients listed" in " ".join(content.split())


def test_csv_export_parses_and_is_safe(alice_client, acme, today):
    (pat,) = lapsed_patients(acme, today, 1)
    Contact.objects.filter(pk=pat.pk).update(
        first_name='=HYPERLINK("http://evil.example","x")',
        email="pat@example.com",
        phone="+44 20 7946 0000",
    )
    pat.refresh_from_db()
    response = alice_client.get(reverse("winback:export") + "?show=lapsed")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="winback-{acme.slug}-lapsed-{today}.csv"'
    )
    reader = csv.reader(io.StringIO(response.content.decode()))
    header = next(reader)
    assert header == report.CSV_COLUMNS
    (row,) = parse(response)
    assert row["name"] == "'" + pat.name
    assert row["phone"] == "'+44 20 7946 0000"
    assert row["email"] == "pat@example.com"
    assert row["external_id"] == pat.external_id
    assert row["last_purchase"] == str(today - dt.timedelta(days=200))
    assert row["days_since"] == "200"
    assert row["usual_interval_days"] == "60"
    assert row["p_alive"] == ""
    assert float(row["revenue_at_risk"]) == pytest.approx(365 / 60 * 100 * 0.5, abs=0.01)
    assert row["last_reactivation_on"] == row["came_back"] == ""


def test_another_workspace_sees_none_of_it(bob_client, alice_client, acme, bright, today):
    lapsed_patients(acme, today, 3)
    page = bob_client.get(reverse("winback:winback"))
    assert page.context["page"].paginator.count == 0
    assert "Pat0" not in page.content.decode()
    assert parse(bob_client.get(reverse("winback:export"))) == []
    # And Bob's own lapsed patients stay his.
    lapsed_patients(bright, bright.today(), 1, prefix="Bobs")
    assert "Bobs0" not in alice_client.get(reverse("winback:winback")).content.decode()
    assert "Bobs0" in bob_client.get(reverse("winback:winback")).content.decode()


def test_signed_out_users_are_sent_to_log_in(client):
    for name in ("winback:winback", "winback:export"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "login" in response["Location"]
