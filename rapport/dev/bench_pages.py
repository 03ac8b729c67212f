"""`rapport bench pages`: every staff page, and a client page under load.

Builds a workspace of N contacts with the agenda bench's bulk builder
(`rapport.agenda.bench.build`: ~20 purchases and ~20 activities each, a few
percent with moments, issues, permissions and referrals), gives the
contacts emails, phones and organizations so that search has text to look
through, runs the morning job (the win-back figures and the agenda, as the
worker would), then starts the real web server the way `rapport up` does
(`up.web_server`) on a free loopback port, on the same database, signs in
over HTTP and times each page: `--repeat` requests one after the other,
after two to warm up. Query counts come from the server itself: the bench
starts it with RAPPORT_BENCH_QUERIES=1, which turns on
`rapport.middleware.QueryCountMiddleware` (an `X-Rapport-Queries` header;
off, and not even in the middleware chain, otherwise).

Then a client page (`/c/<token>/`) under an open-loop load from a separate
process — `rapport.dev.bench_redirect.load`: each request on a new
connection, leaving at its scheduled time, timed from that time.

Prints, with --json, {"contacts", "pages": {NAME: {"median_ms", "p95_ms",
"queries", "bytes"}}, "public": {"rate", "requests", "errors", "p50_ms",
"p99_ms"}}. Uses the configured database (SQLite under ./var/, or
DATABASE_URL), like `rapport bench agenda`; the workspace is rebuilt on each
run. Loopback only, bounded in count and time.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import urllib.parse
from http.cookies import SimpleCookie

USER = "bench-pages@rapport.local"
REQUEST_TIMEOUT_SECONDS = 60


def prepare(contacts: int, log=print):
    """The workspace, its user and password, the morning job done, and a
    client page's path."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction

    from rapport.agenda import bench as agenda_bench
    from rapport.agenda import signals, store
    from rapport.clients.models import Contact, Organization
    from rapport.outreach.actions import start_ask
    from rapport.outreach.models import AskKind
    from rapport.workspaces.models import Membership, Role, Workspace

    # As `rapport up` does before it serves.
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    workspace = agenda_bench.build(contacts, log=log)
    start = time.perf_counter()
    with transaction.atomic():
        # Search needs something to find: an email and a phone each, and an
        # organization for one contact in ten. One UPDATE each, set-based.
        orgs = [
            Organization(workspace=workspace, name=f"Company {n}")
            for n in range(max(1, contacts // 100))
        ]
        Organization.objects.bulk_create(orgs, batch_size=2000)
        first_org = Organization.objects.filter(workspace=workspace).order_by("pk").first().pk
        table = Contact._meta.db_table
        with connection.cursor() as cursor:
            digits = (
                "lpad(id::text, 7, '0')"
                if connection.vendor == "postgresql"
                else "substr('0000000' || id, -7, 7)"
            )
            cursor.execute(
                f"UPDATE {table} SET email = 'first' || id || '@example.com', "
                f"phone = '+1555' || {digits}, "
                f"organization_id = CASE WHEN id % 10 = 0 THEN %s + (id / 10) %% %s END "
                f"WHERE workspace_id = %s",
                [first_org, len(orgs), workspace.pk],
            )
    log(f"  emails, phones, organizations in {time.perf_counter() - start:.1f} s")

    User = get_user_model()
    User.objects.filter(username=USER).delete()
    password = secrets.token_urlsafe(16)
    user = User.objects.create_user(USER, email=USER, password=password)
    Membership.objects.create(user=user, workspace=workspace, role=Role.OWNER)

    start = time.perf_counter()
    today = workspace.today()
    signals.morning.send(sender=Workspace, workspace=workspace, on=today)
    workspace.refresh_from_db()
    store.refresh(workspace, today)
    log(f"  morning job in {time.perf_counter() - start:.1f} s")

    client = Contact.objects.filter(workspace=workspace, stage="member").order_by("pk").first()
    ask = start_ask(client, kind=AskKind.REFERRAL, channel="email")
    return workspace, password, client, f"/c/{ask.token()}/"


class Session:
    """A signed-in browser, as little of one as the pages need."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None, headers=None):
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_SECONDS
        )
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response, content

    def login(self, username: str, password: str) -> None:
        _, page = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token}
        )
        response, _ = self.request(
            "POST",
            "/login/",
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://127.0.0.1:{self.port}/login/",
            },
        )
        if response.status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"could not sign in (status {response.status})")


def pages(client_pk: int) -> dict[str, str]:
    return {
        "today": "/today/",
        "contacts": "/contacts/",
        "search": "/contacts/?q=first12",
        "search_phone": "/contacts/?q=555-0001",
        "filter_stage": "/contacts/?stage=member",
        "filter_ready": "/contacts/?readiness=ready",
        "filter_issue": "/contacts/?open_issue=yes",
        "filter_moment": "/contacts/?moment=yes",
        "sort_readiness": "/contacts/?sort=-readiness",
        "sort_newest": "/contacts/?sort=-created_at",
        "contact": f"/contacts/{client_pk}/",
        "winback": "/winback/",
        "winback_export": "/winback/export.csv",
        "referral_board": "/referrals/",
    }


def time_page(session: Session, path: str, repeat: int) -> dict:
    for _ in range(2):
        session.request("GET", path)
    times, queries, size = [], None, 0
    for _ in range(repeat):
        start = time.perf_counter()
        response, content = session.request("GET", path)
        times.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        queries = int(response.getheader("X-Rapport-Queries") or -1)
        size = len(content)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
        "queries": queries,
        "bytes": size,
    }


def run(contacts: int, *, repeat: int, rate: float, requests: int, workers: int, log=print):
    from rapport.dev import bench_redirect
    from rapport.workspaces.management.commands.up import web_server

    workspace, password, client, client_page = prepare(contacts, log=log)
    port = bench_redirect.free_port()
    env = dict(os.environ)
    env.update(RAPPORT_BENCH_QUERIES="1", DEBUG="false", LOG_LEVEL="ERROR", HTTPS="false")
    env.setdefault("SECRET_KEY", "bench-" + secrets.token_urlsafe(32))
    server = web_server(
        f"127.0.0.1:{port}",
        workers,
        access_log=False,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        bench_redirect.wait_ready(port, server)
        session = Session(port)
        session.login(USER, password)
        found = {}
        for name, path in pages(client.pk).items():
            found[name] = time_page(session, path, repeat)
            log(f"  {name:>15}: {found[name]}")
        bench_redirect.warm(port, client_page, 8 * workers, method="GET")
        loader = subprocess.run(
            [
                sys.executable,
                "-m",
                "rapport.dev.bench_redirect",
                "--load",
                client_page,
                str(port),
                str(requests),
                str(rate),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=requests / rate + 120,
        )
        if loader.returncode != 0:
            raise RuntimeError(f"the load process failed:\n{loader.stderr[-3000:]}")
        public = json.loads(loader.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    return {
        "contacts": contacts,
        "pages": found,
        "public": {
            "rate": rate,
            "requests": public["requests"],
            "errors": public["errors"],
            "p50_ms": public["p50_ms"],
            "p99_ms": public["p99_ms"],
            "requests_per_second": public["requests_per_second"],
        },
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rapport bench pages", description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page")
    parser.add_argument("--rate", type=float, default=100.0, help="client page requests per second")
    parser.add_argument("--requests", type=int, default=1000, help="client page requests")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    if not 10 <= options.contacts <= 1_000_000:
        parser.error("--contacts must be 10..1000000")
    if not 1 <= options.repeat <= 1000 or not 1 <= options.requests <= 100_000:
        parser.error("--repeat must be 1..1000 and --requests 1..100000")
    if not 0 < options.rate <= 5000:
        parser.error("--rate must be 0..5000")
    log = (lambda *a, **k: print(*a, file=sys.stderr, **k)) if options.json else print
    result = run(
        options.contacts,
        repeat=options.repeat,
        rate=options.rate,
        requests=options.requests,
        workers=options.workers,
        log=log,
    )
    if options.json:
        print(json.dumps(result))
    else:
        print(f"public {result['public']}")
    return 0 if result["public"]["errors"] == 0 else 1
