"""Security headers on every kind of response: a Content-Security-Policy
(django-csp) that forbids framing except where a view asks for it, nosniff,
Referrer-Policy, HSTS over HTTPS; and a 500 that tells nothing."""

import json
import os
import subprocess
import sys

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict((part.strip().split(" ", 1) + [""])[:2] for part in header.split(";") if part)


def _assert_locked_down(response, what):
    assert "Content-Security-Policy" in response, what
    policy = _policy(response)
    assert policy["frame-ancestors"] == "'none'", what
    assert "'unsafe-inline'" not in policy.get("script-src", policy.get("default-src", "")), what
    assert response["X-Content-Type-Options"] == "nosniff", what
    assert response["Referrer-Policy"] in ("same-origin", "no-referrer"), what
    assert response.get("X-Frame-Options") == "DENY", what


@pytest.fixture
def static_client(settings):
    settings.WHITENOISE_USE_FINDERS = True
    return Client()


def test_every_kind_of_response_carries_the_policy(alice_client, objects, static_client):
    contact = objects["contact"]
    feed = reverse("outreach:calendar_feed", args=[objects["feed_token"]])
    hook = reverse("outreach:email_events", args=["not-a-hook-token-at-all"])
    responses = {
        "staff page": alice_client.get(reverse("agenda:today")),
        "contact page": alice_client.get(reverse("clients:detail", args=[contact.pk])),
        "login": Client().get(reverse("login")),
        "admin": Client().get("/admin/login/"),
        "CSV export": alice_client.get(reverse("winback:export")),
        "JSON export": alice_client.get(reverse("outreach:export", args=[contact.pk])),
        "calendar feed": Client().get(feed),
        "webhook": Client().post(hook, "{}", content_type="application/json"),
        "client page": Client().get(reverse("outreach:page", args=[objects["ask_token"]])),
        "404": alice_client.get("/no/such/page/"),
        "static file": static_client.get("/static/rapport/rapport.css"),
    }
    assert responses["static file"].status_code == 200
    assert responses["CSV export"]["Content-Type"].startswith("text/csv")
    assert responses["calendar feed"]["Content-Type"].startswith("text/calendar")
    for what, response in responses.items():
        _assert_locked_down(response, what)


@pytest.fixture
def test_urls(settings):
    settings.ROOT_URLCONF = "tests.support.urls"


def test_a_forced_exception_gives_a_generic_500(test_urls, settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    response = client.get("/__test__/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    for leak in ("kaboom", "Traceback", "RuntimeError", "SECRET", settings.SECRET_KEY, "tok_in"):
        assert leak not in body
    _assert_locked_down(response, "500")


def test_only_a_view_that_asks_may_be_framed(test_urls):
    response = Client().get("/__test__/embed/")
    assert _policy(response)["frame-ancestors"] == "*"
    assert "X-Frame-Options" not in response
    # The rest of the policy stays the site's.
    assert _policy(response)["script-src"] == "'self'"
    one = Client().get("/__test__/embed-one/")
    assert _policy(one)["frame-ancestors"] == "https://partner.example"


def test_hsts_is_sent_over_https(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = Client().get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


PRODUCTION = {
    "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-" + "y" * 20,
    "ALLOWED_HOSTS": "rapport.example.com",
    "SITE_URL": "https://rapport.example.com",
}


def _production_env(tmp_path, **extra):
    env = {**os.environ, **PRODUCTION, "RAPPORT_VAR_DIR": str(tmp_path), **extra}
    for name in ("DATABASE_URL", "DEBUG", "HTTPS"):
        env.pop(name, None)
    return env


def test_production_settings_are_https_behind_a_proxy_by_default(tmp_path):
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ['SESSION_COOKIE_SECURE', "
        "'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SESSION_COOKIE_SAMESITE', "
        "'CSRF_COOKIE_SAMESITE', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', "
        "'SECURE_PROXY_SSL_HEADER', 'DEBUG']}))"
    )
    env = {**_production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "rapport.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "DEBUG": False,
    }


def test_check_deploy_is_clean_with_the_documented_production_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
