"""The real server, started the way `rapport up` starts it (gunicorn with
four workers, the task worker beside it), on a loopback port:

- every tokenized URL is hit, with good tokens and bad ones, and the whole
  log output of the run — gunicorn's access and error logs, Django's logs,
  the worker's — holds none of the raw tokens;
- the sign-in limit holds across the gunicorn workers: the 11th attempt is
  refused though different workers answered, and a client sending a new
  X-Forwarded-For with every attempt does not reset it.
"""

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SETUP = r"""
import json
import django
django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rapport.clients.actions import create_contact
from rapport.outreach import actions, calendar, compose, tokens
from rapport.workspaces.actions import create_workspace
from rapport.workspaces.models import Invitation, Membership, Workspace, hash_token
from rapport.workspaces.views import SIGNUP_SALT

owner = get_user_model().objects.create_user(
    username="owner@example.com", email="owner@example.com", password="real-server-pw"
)
workspace = create_workspace(owner, "Log Dental", "UTC", postal_address="1 Log Lane")
contact = create_contact(
    workspace, first_name="Lou", last_name="Logs", external_id="L-1",
    email="lou@example.com", email_ok=True, stage="customer",
)
ask = actions.start_ask(contact, kind="referral", channel="email", script="Who else?")
message = compose.ask_email(ask, subject="A small favour?", body="Who else?")
hook = "hook" + "x" * 28
Workspace.objects.filter(pk=workspace.pk).update(webhook_token_hash=hash_token(hook))
membership = Membership.objects.get(user=owner, workspace=workspace)
print(json.dumps({
    "page": ask.token(),
    "unsubscribe": tokens.derive("unsubscribe", message.pk, message.unsubscribe_salt),
    "hook": hook,
    "feed": calendar.issue_token(membership),
    "invitation": Invitation.issue(workspace, "new@example.com", "member", owner)[1],
    "reset_uid": urlsafe_base64_encode(force_bytes(owner.pk)),
    "reset": default_token_generator.make_token(owner),
    "signup": signing.dumps(
        {"email": "n@example.com", "first_name": "N", "workspace_name": "N", "time_zone": "UTC"},
        salt=SIGNUP_SALT, compress=True,
    ),
}))
"""


def rapport_command() -> list[str]:
    script = Path(sys.executable).parent / "rapport"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rapport.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, port: int):
        self.port = port

    def request(self, method, path, body=None, headers=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    var = tmp_path_factory.mktemp("real-server")
    env = {
        **os.environ,
        "RAPPORT_VAR_DIR": str(var),
        "DEBUG": "false",
        "LOG_LEVEL": "INFO",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "PYTHONUNBUFFERED": "1",
        # Clients reach this server directly, with no proxy in front: any
        # X-Forwarded-For is the client's own invention.
        "TRUSTED_PROXIES": "",
    }
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([*rapport_command(), "migrate", "-v0"], env=env, check=True, timeout=300)
    setup = subprocess.run(
        [sys.executable, "-c", SETUP],
        env={**env, "DJANGO_SETTINGS_MODULE": "rapport.settings"},
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = json.loads(setup.stdout.strip().splitlines()[-1])
    port = free_port()
    log_path = var / "run.log"
    log = open(log_path, "wb")  # noqa: SIM115 - held open for the module's server
    process = subprocess.Popen(
        [*rapport_command(), "up", "--port", str(port), "--workers", "4"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, log_path.read_text()
            time.sleep(0.3)
    else:
        raise AssertionError("the server did not start: " + log_path.read_text())
    try:
        yield Server(port), found, process, log_path
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _csrf(server, path):
    status, headers, body = server.request("GET", path)
    cookie = headers.get("Set-Cookie", "")
    token = re.search(r"csrftoken=([^;]+)", cookie)[1]
    field = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)[1].decode()
    return token, field


def test_the_sign_in_limit_holds_across_workers_and_forged_forwarding(server):
    srv, _, _, log_path = server
    path = "/login/"
    statuses = []
    for n in range(11):
        cookie, field = _csrf(srv, path)
        body = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": field,
                # Ten guesses at ten addresses, then the owner's right password:
                # only the count per client address can refuse it.
                "username": "owner@example.com" if n == 10 else f"guess{n}@example.com",
                "password": "real-server-pw" if n == 10 else f"wrong-{n}",
            }
        )
        status, headers, _ = srv.request(
            "POST",
            path,
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookie}",
                # A new, forged address each time: must not reset the count.
                "X-Forwarded-For": f"203.0.113.{n}",
                "Referer": f"http://127.0.0.1:{srv.port}{path}",
            },
        )
        statuses.append(status)
    assert statuses[:9] == [200] * 9, statuses
    assert statuses[10] == 429, f"the 11th attempt from one client got through: {statuses}"
    lines = [line for line in log_path.read_text().splitlines() if '"POST /login/' in line]
    pids = {re.search(r"pid=<?(\d+)", line)[1] for line in lines}
    assert len(pids) >= 2, f"only one worker answered: {lines}"


def test_a_client_page_token_limit_holds_across_workers(server):
    srv, found, _, log_path = server
    path = f"/c/{found['page']}/"
    statuses = []
    for _ in range(7):
        cookie, field = _csrf(srv, path)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": field, "name_1": ""})
        status, _, _ = srv.request(
            "POST",
            path,
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": f"csrftoken={cookie}",
                "Origin": "null",  # what a browser sends under no-referrer
            },
        )
        statuses.append(status)
    # Five answers per token (a form with errors is 422), then 429.
    assert statuses == [422] * 5 + [429] * 2, statuses
    lines = [line for line in log_path.read_text().splitlines() if '"POST /c/' in line]
    pids = {re.search(r"pid=<?(\d+)", line)[1] for line in lines}
    assert len(pids) >= 2, f"only one worker answered: {lines}"


def test_no_raw_token_in_the_whole_log(server):
    srv, found, process, log_path = server
    bad = secrets.token_urlsafe(24)
    paths = [
        ("GET", f"/c/{found['page']}/"),
        ("GET", f"/c/{found['page']}"),  # the APPEND_SLASH redirect
        ("GET", f"/c/{found['page']}/later/"),
        ("GET", f"/c/{bad}/"),  # unknown: a 404 that Django logs
        ("GET", f"/u/{found['unsubscribe']}/"),
        ("POST", f"/u/{found['unsubscribe']}/"),
        ("POST", f"/hooks/{found['hook']}/email/"),  # malformed body: 400, logged
        ("POST", f"/hooks/{found['hook']}/sms/"),
        ("POST", f"/hooks/{bad}/email/"),
        ("GET", f"/calendar/{found['feed']}.ics"),
        ("GET", f"/calendar/{bad}.ics"),
        ("GET", f"/invitations/{found['invitation']}/"),
        ("GET", f"/password/reset/{found['reset_uid']}/{found['reset']}/"),
        ("GET", f"/signup/confirm/{found['signup']}/"),
        ("GET", f"/r/{bad}"),
        ("GET", f"/today/?token={bad}"),
    ]
    for method, path in paths:
        body = "List-Unsubscribe=One-Click" if path.startswith("/u/") else "not json"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if "/c/" in path:
            headers["Referer"] = f"http://127.0.0.1:{srv.port}{path}"
        status, _, _ = srv.request(method, path, body if method == "POST" else None, headers)
        assert status < 500, (path, status)
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    text = log_path.read_text()
    assert text.count("[redacted]") >= len(paths), text[-3000:]
    secrets_used = [value for key, value in found.items() if key != "reset_uid"] + [bad]
    for value in secrets_used:
        assert value not in text, f"a raw token is in the log: {value}"
    assert "GET /c/[redacted]/" in text and "POST /hooks/[redacted]/email/" in text
