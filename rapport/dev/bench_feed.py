"""`rapport bench feed`: the testimonial feed under a steady load.

Builds a workspace with `--testimonials` published testimonials, starts the
real server (gunicorn, as `rapport up` does) on a free loopback port, and
sends `--requests` GETs of /w/<slug>/testimonials.json at `--rate` per
second from a separate process (open loop: each request leaves at its
scheduled time, whether or not the previous ones came back). Prints the
latencies, the errors, and the widget's size. Loopback only, bounded in
count and time; the bench workspace is removed afterwards.
"""

import argparse
import contextlib
import gzip
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

SLUG = "bench-feed"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def build(testimonials: int):
    from django.db import transaction

    from rapport.advocacy import testimonials as actions
    from rapport.advocacy.actions import record_testimonial
    from rapport.clients.actions import changing, create_contact
    from rapport.workspaces.actions import create_workspace

    drop()
    with transaction.atomic(), changing():
        from django.contrib.auth import get_user_model

        owner, _ = get_user_model().objects.get_or_create(username="bench@rapport.local")
        workspace = create_workspace(owner, "Bench Feed", "UTC", slug=SLUG)
        for n in range(testimonials):
            contact = create_contact(workspace, first_name=f"Client{n}", last_name="Bench")
            testimonial = record_testimonial(
                contact,
                f"Testimonial number {n}: " + "kind, careful and quick. " * 6,
                on=workspace.today(),
                rating=5,
                consent_publish=True,
                display_name=f"Client{n} B.",
            )
            actions.approve(testimonial)
    return workspace


def drop() -> None:
    from django.contrib.auth import get_user_model

    from rapport.workspaces.models import Workspace

    Workspace.objects.filter(slug=SLUG).delete()
    get_user_model().objects.filter(username="bench@rapport.local").delete()


@contextlib.contextmanager
def server(port: int, workers: int):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "rapport.wsgi:application",
            "--bind",
            f"{HOST}:{port}",
            "--workers",
            str(workers),
            "--threads",
            "4",
            "--graceful-timeout",
            "5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ALLOWED_HOSTS": HOST},
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection(HOST, port, timeout=2)
                conn.request("GET", f"/w/{SLUG}/testimonials.json")
                if conn.getresponse().status == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError("the server did not start within 30 s")
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def load(port: int, path: str, requests: int, rate: float) -> dict:
    """The load generator (runs in its own process): open loop, keep-alive
    connections, one per worker thread."""
    local = threading.local()
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def one(scheduled: float) -> None:
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        started = time.perf_counter()
        try:
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            ok = response.status == 200 and body.startswith(b"{")
            if response.getheader("Set-Cookie"):
                ok = False
        except (OSError, http.client.HTTPException) as error:
            local.conn = None
            with lock:
                errors.append(repr(error))
            return
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            if ok:
                latencies.append(elapsed)
            else:
                errors.append(f"status {response.status}")

    begin = time.perf_counter() + 0.2
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i in range(requests):
            pool.submit(one, begin + i / rate)
    wall = time.perf_counter() - begin
    latencies.sort()

    def percentile(p: float) -> float:
        if not latencies:
            return 0.0
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1)

    return {
        "requests": requests,
        "errors": len(errors),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else 0.0,
        "p99_ms": percentile(0.99),
        "max_ms": round(latencies[-1], 1) if latencies else 0.0,
        "requests_per_second": round(len(latencies) / wall, 1) if wall > 0 else 0.0,
        "first_errors": errors[:3],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rapport bench feed")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--testimonials", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2, help="web worker processes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.requests > 100_000 or not 0 < args.rate <= 2000:
        parser.error("--requests 1..100000 and --rate 0..2000 (a bounded loopback load)")

    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0)
    build(args.testimonials)
    port = free_port()
    path = f"/w/{SLUG}/testimonials.json"
    try:
        with server(port, args.workers):
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            conn.request("GET", f"/w/{SLUG}/widget.js")
            widget = conn.getresponse().read()
            conn.request("GET", path)
            feed = conn.getresponse().read()
            # The load comes from another process, as a visitor's would.
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "rapport.dev.bench_feed",
                    "--load",
                    str(port),
                    path,
                    str(args.requests),
                    str(args.rate),
                ],
                capture_output=True,
                text=True,
                timeout=args.requests / args.rate + 120,
                check=True,
            )
            result = json.loads(run.stdout)
    finally:
        drop()
    result.update(
        {
            "database": connection.vendor,
            "rate": args.rate,
            "testimonials": args.testimonials,
            "feed_bytes": len(feed),
            "widget_bytes": len(widget),
            "widget_gzip_bytes": len(gzip.compress(widget, 9)),
        }
    )
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__" and sys.argv[1:2] == ["--load"]:
    _, _, port, path, requests, rate = sys.argv
    print(json.dumps(load(int(port), path, int(requests), float(rate))))
