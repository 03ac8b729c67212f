"""CSRF on every state-changing request, and `check --deploy` in production."""

import datetime as dt
import os
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse

from rapport.advocacy import models as advocacy
from rapport.clients.models import Contact
from rapport.outreach.actions import start_ask
from rapport.outreach.models import OutboundMessage
from tests import factories
from tests.workspaces.test_isolation import CASES

pytestmark = pytest.mark.django_db

NO_ID_POSTS = [
    "workspaces:signup",
    "login",
    "logout",
    "workspaces:create",
    "workspaces:settings",
    "workspaces:members",
    "password_change",
    "clients:create",
    "clients:import",
    "agenda:rebuild",
]


@pytest.fixture
def csrf_client(alice, acme):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


@pytest.fixture
def ours(acme, alice, today):
    from rapport.agenda import store
    from rapport.agenda.models import AgendaItem
    from rapport.clients import actions
    from rapport.clients.models import Deal
    from rapport.workspaces.models import Invitation, Membership

    ann = factories.client_with_history(acme, today)
    factories.activity(ann, today, signals=["praise"])
    lapsed = factories.contact(acme, first_name="Lapsed")
    factories.purchases(lapsed, [today - dt.timedelta(days=200 + 60 * k) for k in range(4)])
    store.refresh(acme, today)
    from rapport.advocacy import references
    from rapport.clients.actions import record_consent

    record_consent(ann, "reference", True, "may give my name", "test")
    return {
        "contact": ann,
        "issue": actions.open_issue(ann, "x", opened_on=today),
        "deal": actions.save_deal(Deal(workspace=acme, contact=ann, title="d", stage="won")),
        "item": AgendaItem.objects.filter(workspace=acme).first(),
        "membership": Membership.objects.get(workspace=acme, user=alice),
        "invitation": Invitation.issue(acme, "n@example.com", "member", alice)[0],
        "batch": "0" * 32,
        "workspace": acme,
        "ask": start_ask(ann, kind="referral", channel="link", by=alice),
        "recover_item": AgendaItem.objects.get(workspace=acme, action="recover"),
        "testimonial": advocacy.Testimonial.objects.create(
            workspace=acme, contact=ann, text="x", received_on=today, consent_publish=True
        ),
        "reactivate_item": AgendaItem.objects.get(workspace=acme, action="reactivate"),
        "message": OutboundMessage.objects.create(
            workspace=acme,
            kind="ask",
            contact=ann,
            to_address="a@example.com",
            body_text="x",
            idempotency_key="csrf-test",
            status="failed",
        ),
        "review_site": advocacy.ReviewSite.objects.create(
            workspace=acme, platform="google", url="https://g.page/r/acme/review"
        ),
        "reference": references.create_reference(ann),
        "share": references.new_share(acme, "Prospect")[0],
    }


@pytest.mark.parametrize("name", sorted(name for name, case in CASES.items() if case[0] == "post"))
def test_object_routes_refuse_a_post_without_csrf_token(csrf_client, ours, name):
    _, key, data, *extra = CASES[name]
    before = Contact.objects.count(), Contact.objects.values_list("first_name", "stage").first()
    obj = ours[key]
    url = reverse(name, args=[obj if isinstance(obj, str) else obj.pk, *extra])
    response = csrf_client.post(url, data)
    assert response.status_code == 403
    assert (
        Contact.objects.count(),
        Contact.objects.values_list("first_name", "stage").first(),
    ) == before


@pytest.mark.parametrize("name", NO_ID_POSTS)
def test_other_forms_refuse_a_post_without_csrf_token(csrf_client, name):
    response = csrf_client.post(reverse(name), {"first_name": "x"})
    assert response.status_code == 403


def test_a_post_with_the_token_passes(csrf_client, ours):
    page = csrf_client.get(reverse("clients:detail", args=[ours["contact"].pk]))
    token = page.cookies["csrftoken"].value
    response = csrf_client.post(
        reverse("clients:set_relationship", args=[ours["contact"].pk]),
        {"rel-relationship": "3", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302


def test_htmx_requests_carry_the_token_in_a_header(csrf_client, ours):
    page = csrf_client.get(reverse("agenda:today")).content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in page


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-" + "y" * 20,
        "DEBUG": "false",
        "HTTPS": "true",
        "ALLOWED_HOSTS": "rapport.example.com",
        "RAPPORT_VAR_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
