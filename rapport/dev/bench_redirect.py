"""`rapport bench redirect`: `/r/<code>` under an open-loop load.

Starts the real web server the way `rapport up` does (the same function,
`up.web_server`: gunicorn, two workers of four threads) on a free loopback
port, over a fresh database in a temporary directory (SQLite unless
`--database-url` names another, empty one), with one workspace, one client
and their referral code. A separate process then sends N requests at R per
second to `/r/<code>` — open loop: each request leaves at its scheduled time
whatever the others are doing, on a new connection — and times each from its
scheduled start. Afterwards the click counter is read back from the database:
every request answered 200 must be one click.

Prints {"requests", "errors", "clicks_recorded", "p50_ms", "p99_ms",
"requests_per_second"} (with --json, only that). Bounded in count and time;
loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READY_TIMEOUT_SECONDS = 60
REQUEST_TIMEOUT_SECONDS = 10


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(var_dir: Path, database_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RAPPORT_VAR_DIR=str(var_dir),
        SECRET_KEY="bench-" + secrets.token_urlsafe(32),
        DEBUG="false",
        HTTPS="false",
        DJANGO_SETTINGS_MODULE="rapport.settings",
        LOG_LEVEL="ERROR",
        TASKS_BACKEND="django_tasks.backends.dummy.DummyBackend",
    )
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _django(env, *args: str) -> str:
    """Run this module's helper step in the bench's environment."""
    result = subprocess.run(
        [sys.executable, "-m", "rapport.dev.bench_redirect", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench step {args[0]} failed:\n{result.stderr[-3000:]}")
    return result.stdout.strip().splitlines()[-1]


def _prepare() -> str:
    """(In the bench's environment.) Migrate and make a workspace, a client
    and their code; print the code."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    from rapport.advocacy.actions import issue_code
    from rapport.advocacy.models import ReferralProgram
    from rapport.clients.actions import create_contact
    from rapport.workspaces.models import Workspace

    workspace = Workspace.objects.create(name="Bench Dental", slug="bench-redirect")
    ReferralProgram.objects.create(
        workspace=workspace, headline="Welcome, friend", pitch="Gentle, modern dentistry."
    )
    client = create_contact(workspace, first_name="Ann", last_name="Bench", stage="customer")
    return issue_code(client).code


def _clicks(code: str) -> str:
    import django

    django.setup()
    from rapport.advocacy.models import ReferralCode

    return str(ReferralCode.objects.get(code=code).clicks)


def wait_ready(port: int, server: subprocess.Popen) -> None:
    import http.client

    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the web server exited before it was ready")
        connection = None
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/")  # any answer (a redirect to log in) will do
            connection.getresponse().read()
            return
        except OSError:
            pass
        finally:
            if connection is not None:
                connection.close()
        time.sleep(0.2)
    raise RuntimeError("the web server did not answer in time")


def warm(port: int, path: str, count: int, method: str = "HEAD") -> None:
    """HEAD requests: every worker thread imports and compiles what the page
    needs, and a HEAD is not a visit (no click is counted). (`rapport bench
    pages` warms a client page with GET: a GET changes nothing there.)"""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    def one(_):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request(method, path)
            connection.getresponse().read()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(count)))


def load(url_path: str, port: int, requests: int, rate: float) -> dict:
    """(In the load process.) Open loop: request i leaves at start + i/rate,
    each on a new connection, in its own thread; latency is measured from
    that scheduled time, so a slow server cannot hide its queue."""
    import http.client
    import threading

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def one(scheduled: float) -> None:
        ok = False
        try:
            connection = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=REQUEST_TIMEOUT_SECONDS
            )
            connection.request("GET", url_path, headers={"Connection": "close"})
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
            connection.close()
        except OSError:
            ok = False
        elapsed = time.perf_counter() - scheduled
        with lock:
            if ok:
                latencies.append(elapsed)
            else:
                errors[0] += 1

    threads = []
    start = time.perf_counter() + 0.05
    for i in range(requests):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=one, args=(scheduled,), daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(REQUEST_TIMEOUT_SECONDS + 5)
    finished = time.perf_counter()
    latencies.sort()

    def percentile(q: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "requests": requests,
        "errors": errors[0],
        "ok": len(latencies),
        "p50_ms": round(percentile(0.50), 1),
        "p99_ms": round(percentile(0.99), 1),
        "requests_per_second": round(requests / (finished - start), 1),
    }


def run(requests: int, rate: float, *, workers: int = 2, database_url: str | None = None) -> dict:
    from rapport.workspaces.management.commands.up import web_server

    with tempfile.TemporaryDirectory(prefix="rapport-bench-redirect-") as tmp:
        env = _env(Path(tmp), database_url)
        code = _django(env, "--prepare")
        port = free_port()
        server = web_server(
            f"127.0.0.1:{port}",
            workers,
            access_log=False,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_ready(port, server)
            warm(port, f"/r/{code}", 16 * workers)
            budget = requests / rate + REQUEST_TIMEOUT_SECONDS + 60
            loader = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "rapport.dev.bench_redirect",
                    "--load",
                    f"/r/{code}",
                    str(port),
                    str(requests),
                    str(rate),
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=budget,
            )
            if loader.returncode != 0:
                raise RuntimeError(f"the load process failed:\n{loader.stderr[-3000:]}")
            figures = json.loads(loader.stdout.strip().splitlines()[-1])
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        clicks = int(_django(env, "--clicks", code))
    return {
        "requests": figures["requests"],
        "errors": figures["errors"],
        "clicks_recorded": clicks,
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "requests_per_second": figures["requests_per_second"],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="rapport bench redirect", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes")
    parser.add_argument("--database-url", help="an empty database to use instead of SQLite")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args(argv)
    if not 0 < options.requests <= 100_000 or not 0 < options.rate <= 5000:
        parser.error("--requests must be 1..100000 and --rate 0..5000")
    result = run(
        options.requests, options.rate, workers=options.workers, database_url=options.database_url
    )
    if options.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0 if result["errors"] == 0 and result["clicks_recorded"] == result["requests"] else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--prepare"]:
        print(_prepare())
    elif sys.argv[1:2] == ["--clicks"]:
        print(_clicks(sys.argv[2]))
    elif sys.argv[1:2] == ["--load"]:
        path, port, n, rate = sys.argv[2:6]
        print(json.dumps(load(path, int(port), int(n), float(rate))))
    else:
        sys.exit(main(sys.argv[1:]))
