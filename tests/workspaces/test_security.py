"""CSRF on every state-changing request (`check --deploy`: tests/test_headers.py)."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.workspaces.routes import CSRF_EXEMPT, PUBLIC, ROUTES, database_checksum, url_args

pytestmark = pytest.mark.django_db


@pytest.fixture
def csrf_client(alice, acme):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


POSTS = sorted(name for name, entry in ROUTES.items() if entry["POST"] and name not in CSRF_EXEMPT)


def test_every_post_refuses_a_missing_csrf_token(csrf_client, objects):
    """Every route that takes a POST, from the route table: signed in or
    not, public or not, without the token it is 403 and nothing changes."""
    problems = []
    for name in POSTS:
        entry = ROUTES[name]
        url = reverse(name, args=url_args(entry, objects))
        before = database_checksum()
        response = csrf_client.post(url, entry.get("data", {}))
        if response.status_code != 403:
            problems.append(f"POST {name}: {response.status_code}")
        if database_checksum() != before:
            problems.append(f"POST {name} changed the database")
    assert len(POSTS) > 40
    assert not problems, "\n".join(problems)


def test_the_csrf_exempt_posts_are_the_token_authenticated_ones():
    for name in CSRF_EXEMPT:
        assert ROUTES[name]["POST"] == PUBLIC and ROUTES[name].get("key", "").endswith("token")


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
