"""Sign-in and password reset: the 11th attempt within an hour, per
normalised email or per client address, is refused, for known and unknown
accounts alike; a forged X-Forwarded-For does not reset the count."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from rapport.workspaces import ratelimit
from rapport.workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db

RIGHT = "password-for-tests"


def _login(email, password="wrong-password", ip="198.51.100.1", **headers):
    client = Client(REMOTE_ADDR=ip, **headers)
    response = client.post(reverse("login"), {"username": email, "password": password})
    return client, response


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_the_eleventh_attempt_is_refused_even_with_the_right_password(alice, acme):
    for _ in range(10):
        _, response = _login("alice@example.com")
        assert response.status_code in (200, 429)
    client, response = _login("alice@example.com", RIGHT)
    assert response.status_code == 429
    assert not _signed_in(client)
    assert "Too many attempts" in response.content.decode()
    assert AuditEvent.objects.filter(kind="locked_out").exists()
    # Every attempt is in the security log, the refused one too.
    assert AuditEvent.objects.filter(kind="login_failed").count() == 11


def test_nine_failures_still_let_the_right_password_in(alice, acme):
    for _ in range(9):
        _login("alice@example.com")
    client, response = _login("alice@example.com", RIGHT)
    assert response.status_code == 302 and _signed_in(client)


def test_known_and_unknown_accounts_get_the_same_answers(alice, acme):
    def answers(email):
        seen = []
        for _ in range(11):
            _, response = _login(email, ip=f"198.51.100.{len(email)}")
            form = response.context["form"]
            errors = tuple(form.non_field_errors()) if form.is_bound else ()
            seen.append((response.status_code, errors, response.context.get("locked")))
        return seen

    known, unknown = answers("alice@example.com"), answers("nobody@example.com")
    assert known == unknown
    assert known[0][0] == 200 and known[-1][0] == 429


def test_the_address_is_counted_normalised(alice, acme):
    spellings = ["Alice@Example.com", " alice@example.com", "ALICE@EXAMPLE.COM"]
    for n in range(10):
        _login(spellings[n % 3], ip=f"203.0.113.{n}")  # ten different clients
    client, response = _login("alice@example.com", RIGHT, ip="203.0.113.200")
    assert response.status_code == 429 and not _signed_in(client)


def test_the_client_address_is_counted_across_accounts(alice, acme):
    for n in range(10):
        _login(f"guess{n}@example.com", ip="192.0.2.7")
    _, response = _login("alice@example.com", RIGHT, ip="192.0.2.7")
    assert response.status_code == 429
    client, response = _login("alice@example.com", RIGHT, ip="192.0.2.8")
    assert response.status_code == 302 and _signed_in(client)


def test_a_forged_x_forwarded_for_does_not_reset_the_count(alice, acme):
    # Straight from the internet: X-Forwarded-For is the client's own words.
    for n in range(10):
        _login(f"guess{n}@example.com", ip="192.0.2.9", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    _, response = _login(
        "alice@example.com", RIGHT, ip="192.0.2.9", HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert response.status_code == 429


def test_behind_the_trusted_proxy_only_the_proxys_own_entry_counts(alice, acme):
    # The proxy (127.0.0.1) appends the real peer; what the client wrote
    # before it is ignored.
    for n in range(10):
        _login(
            f"guess{n}@example.com",
            ip="127.0.0.1",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 192.0.2.10",
        )
    _, response = _login(
        "alice@example.com", RIGHT, ip="127.0.0.1", HTTP_X_FORWARDED_FOR="10.1.1.1, 192.0.2.10"
    )
    assert response.status_code == 429
    client, response = _login(
        "alice@example.com", RIGHT, ip="127.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.11"
    )
    assert response.status_code == 302 and _signed_in(client)


def test_client_ip_trusts_forwarded_for_only_from_configured_proxies(rf, settings):
    request = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert ratelimit.client_ip(request) == "192.0.2.1"
    request = rf.get("/", REMOTE_ADDR="::1", HTTP_X_FORWARDED_FOR="x, 192.0.2.2, 127.0.0.1")
    assert ratelimit.client_ip(request) == "192.0.2.2"
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert ratelimit.client_ip(request) == "127.0.0.1"


def _reset(email, ip="198.51.100.50"):
    return Client(REMOTE_ADDR=ip).post(reverse("password_reset"), {"email": email})


def test_the_eleventh_password_reset_for_an_address_is_refused(alice, acme):
    for n in range(10):
        assert _reset("alice@example.com", ip=f"203.0.113.{n}").status_code == 302
    assert len(mail.outbox) == 10
    response = _reset("Alice@Example.com", ip="203.0.113.99")
    assert response.status_code == 429
    assert len(mail.outbox) == 10, "nothing is sent once refused"


def test_password_reset_is_limited_per_client_too(alice, acme):
    for n in range(10):
        assert _reset(f"someone{n}@example.com", ip="192.0.2.20").status_code == 302
    assert _reset("alice@example.com", ip="192.0.2.20").status_code == 429
    assert not mail.outbox


def test_password_reset_answers_alike_for_known_and_unknown_addresses(alice, acme):
    known, unknown = _reset("alice@example.com"), _reset("nobody@example.com")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]


def test_sign_up_is_limited_the_same_way(db):
    data = {"first_name": "D", "workspace_name": "W", "time_zone": "UTC"}
    for n in range(10):
        response = Client(REMOTE_ADDR="192.0.2.30").post(
            reverse("workspaces:signup"), {**data, "email": f"d{n}@example.com"}
        )
        assert response.status_code == 200
    response = Client(REMOTE_ADDR="192.0.2.30").post(
        reverse("workspaces:signup"), {**data, "email": "d99@example.com"}
    )
    assert response.status_code == 429
    assert len(mail.outbox) == 10


def test_the_window_is_exact_over_any_hour():
    start = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)

    def attempt(after: dt.timedelta) -> bool:
        return ratelimit.attempt("k", limit=10, window=hour, now=start + after)

    assert attempt(dt.timedelta(0))
    for _ in range(9):
        assert attempt(dt.timedelta(minutes=30))
    assert not attempt(dt.timedelta(minutes=59))
    assert attempt(hour + dt.timedelta(seconds=1))
    # One freed slot, one attempt: the next is refused again.
    assert not attempt(hour + dt.timedelta(seconds=2))
