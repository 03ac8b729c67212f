"""Redaction of secret links from log lines, derived from the URL
configuration: every route with a secret parameter, whatever its prefix."""

import logging
import secrets

import pytest
from django.conf import settings
from django.urls import reverse

from rapport import redaction
from tests.workspaces.routes import site_routes

# Route parameters that are not secrets, each with the reason.
HARMLESS = {
    ("agenda:script_edit", "key"): "the name of a script (apology, thank_you, …)",
    ("outreach:compose", "channel"): "email or sms",
    ("clients:import_preview", "batch"): "reachable only by a signed-in member of the workspace",
    ("clients:import_status", "batch"): "reachable only by a signed-in member of the workspace",
    # The public wall, feed, widget and their photos and review links are public by
    # design: a workspace's slug is in its own embed snippet.
    **{
        (f"advocacy:{name}", "slug"): "a workspace's public name"
        for name in ("wall", "feed", "widget", "embed", "public_photo", "review_go")
    },
}


def _text_parameters():
    for name, pattern in site_routes():
        for parameter, converter in pattern.pattern.converters.items():
            if type(converter).__name__ != "IntConverter":
                yield name, parameter


def test_every_text_route_parameter_is_a_secret_or_declared_harmless():
    unknown = {
        (name, parameter)
        for name, parameter in _text_parameters()
        if parameter not in redaction.SECRET_PARAMETERS and (name, parameter) not in HARMLESS
    }
    assert not unknown, (
        "route parameters that are neither named as secrets (rapport.redaction."
        f"SECRET_PARAMETERS) nor listed in HARMLESS: {sorted(unknown)}"
    )


SECRET_ROUTES = sorted(
    {name for name, parameter in _text_parameters() if parameter in redaction.SECRET_PARAMETERS}
)


def test_the_secret_routes_include_every_kind_of_link():
    assert {
        "outreach:page",
        "outreach:later",
        "outreach:unsubscribe",
        "outreach:email_events",
        "outreach:sms_inbound",
        "outreach:calendar_feed",
        "workspaces:invitation",
        "workspaces:signup_confirm",
        "password_reset_confirm",
    } <= set(SECRET_ROUTES)


@pytest.mark.parametrize("name", SECRET_ROUTES)
def test_each_secret_route_is_redacted_in_an_access_log_line(name):
    pattern = dict(site_routes())[name]
    values = {parameter: secrets.token_urlsafe(24) for parameter in pattern.pattern.converters}
    path = reverse(name, kwargs=values)
    line = f'127.0.0.1 - - [01/Mar/2026:09:00:00 +0000] "GET {path}?x=1 HTTP/1.1" 200 5 "-" "-"'
    redacted = redaction.redact(line)
    for parameter, value in values.items():
        if parameter in redaction.SECRET_PARAMETERS:
            assert value not in redacted, (name, redacted)
    assert redaction.MASK in redacted and "GET /" in redacted and "?x=1" in redacted


def test_redaction_keeps_the_shape_of_the_path():
    token = secrets.token_urlsafe(24)
    assert redaction.redact(f"GET /calendar/{token}.ics") == "GET /calendar/[redacted].ics"
    assert redaction.redact(f"POST /hooks/{token}/sms/") == "POST /hooks/[redacted]/sms/"
    assert redaction.redact(f"Not Found: /c/{token}") == "Not Found: /c/[redacted]"
    assert redaction.redact("GET /contacts/12/edit/") == "GET /contacts/12/edit/"


def test_referral_codes_and_secret_query_parameters_are_redacted():
    # /r/<code> is promised by DESIGN.md before its view exists.
    assert redaction.redact("GET /r/Ab12Cd34 HTTP/1.1") == "GET /r/[redacted] HTTP/1.1"
    line = redaction.redact("GET /today/?token=abc123&page=2&sig=zz")
    assert line == "GET /today/?token=[redacted]&page=2&sig=[redacted]"


def test_every_configured_handler_has_the_filter():
    config = settings.LOGGING
    assert config["filters"]["redact"]["()"] == "rapport.redaction.RedactSecrets"
    for name, handler in config["handlers"].items():
        assert "redact" in handler.get("filters", []), name


def test_the_filter_redacts_messages_arguments_and_tracebacks():
    token = secrets.token_urlsafe(24)
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", (f"/u/{token}/",), None
    )
    try:
        raise ValueError(f"bad link /c/{token}/")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert redaction.RedactSecrets().filter(record)
    formatted = logging.Formatter().format(record)
    assert token not in formatted
    assert "Not Found: /u/[redacted]/" in formatted and "bad link /c/[redacted]/" in formatted
