"""EMAIL_URL, and which backend an install gets without one."""

import json
import os
import subprocess
import sys

import pytest

from rapport.mailbox.config import MAILBOX, SMTP, EmailConfigError, email_settings, parse_email_url


def test_an_smtp_url_with_starttls():
    assert parse_email_url("smtp://rapport%40shop.example:p%40ss%3Aword@mail.example.com:587") == {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "mail.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "rapport@shop.example",
        "EMAIL_HOST_PASSWORD": "p@ss:word",
        "EMAIL_USE_TLS": True,  # the submission port speaks STARTTLS
        "EMAIL_USE_SSL": False,
    }


def test_implicit_tls_plain_and_options():
    ssl = parse_email_url("smtps://u:p@mail.example.com")
    assert (ssl["EMAIL_PORT"], ssl["EMAIL_USE_SSL"], ssl["EMAIL_USE_TLS"]) == (465, True, False)
    plain = parse_email_url("smtp://localhost:1025")
    assert (plain["EMAIL_PORT"], plain["EMAIL_USE_TLS"], plain["EMAIL_HOST_USER"]) == (
        1025,
        False,
        "",
    )
    forced = parse_email_url("smtp://relay.example.com:2525?tls=true&timeout=10")
    assert forced["EMAIL_USE_TLS"] is True and forced["EMAIL_TIMEOUT"] == 10
    assert parse_email_url("smtp://relay.example.com:25")["EMAIL_USE_TLS"] is False
    assert parse_email_url("submission://relay.example.com")["EMAIL_PORT"] == 587
    assert parse_email_url("mailbox:") == {"EMAIL_BACKEND": MAILBOX}


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://mail.example.com", "must start with smtp://"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.com:notaport", "port is not a number"),
        ("smtps://mail.example.com?tls=true", "not both"),
        ("smtp://mail.example.com?tls=maybe", "tls must be true or false"),
    ],
)
def test_a_bad_url_says_what_is_wrong(url, says):
    with pytest.raises(EmailConfigError, match=says):
        parse_email_url(url)


def test_development_without_a_server_uses_the_mailbox():
    assert email_settings({}, https=False)["EMAIL_BACKEND"] == MAILBOX


def test_production_keeps_smtp_to_the_local_mta():
    values = email_settings({}, https=True)
    assert values["EMAIL_BACKEND"] == SMTP
    assert (values["EMAIL_HOST"], values["EMAIL_PORT"]) == ("127.0.0.1", 25)


def test_the_older_variables_still_mean_smtp():
    values = email_settings({"EMAIL_HOST": "mail.example.com", "EMAIL_PORT": "2525"}, https=False)
    assert values["EMAIL_BACKEND"] == SMTP and values["EMAIL_PORT"] == 2525
    named = email_settings({"EMAIL_BACKEND": "x.Backend"}, https=False)
    assert named["EMAIL_BACKEND"] == "x.Backend"


def _settings_in(env_extra: dict, tmp_path, names: list[str]) -> dict:
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        f"print(json.dumps({{k: getattr(s, k) for k in {names!r}}}))"
    )
    env = {
        **os.environ,
        "RAPPORT_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "rapport.settings",
    }
    for name in ("SITE_URL", "PORT", "EMAIL_URL", "EMAIL_HOST", "EMAIL_BACKEND", "HTTPS", "DEBUG"):
        env.pop(name, None)
    env.update(env_extra)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_settings_read_from_the_environment(tmp_path):
    names = ["EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "SITE_URL"]
    development = _settings_in({"PORT": "8123"}, tmp_path, names)
    assert development["EMAIL_BACKEND"] == MAILBOX
    assert development["SITE_URL"] == "http://127.0.0.1:8123", "SITE_URL follows the port"

    production = _settings_in(
        {"SITE_URL": "https://rapport.example.com", "SECRET_KEY": "k" * 60}, tmp_path, names
    )
    assert (
        production["EMAIL_BACKEND"] == SMTP
        and production["SITE_URL"] == "https://rapport.example.com"
    )

    relay = _settings_in(
        {"EMAIL_URL": "smtp://u:p@smtp.example.com:587", "SITE_URL": "https://r.example.com"},
        tmp_path,
        names,
    )
    assert relay == {
        "EMAIL_BACKEND": SMTP,
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_USE_TLS": True,
        "SITE_URL": "https://r.example.com",
    }
