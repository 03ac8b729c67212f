"""`rapport bench import`: our import of N contacts and M purchases against
the fair floor, on the same database in the same run.

Generates a contacts CSV and a purchases CSV in DESIGN.md's formats, then:

- **the floor**: read both files with the csv module (no checks), load the
  rows into staging tables (COPY on PostgreSQL, executemany on SQLite) and
  INSERT … SELECT them into the app's own indexed contact and purchase tables,
  the purchases with the contact-id lookup — what the database itself needs
  to get the same rows into the same tables. Run first, in a workspace of its
  own, so that ours then meets the fuller tables (the honest direction).
- **ours**: `imports.import_files`, the function `rapport import` calls, on
  the two files as paths: validation, the bulk write, derived facts,
  ANALYZE and the agenda refresh — every phase timed, with the process's
  peak resident memory in each (Linux's VmHWM from /proc/self/status, reset
  between phases through /proc/self/clear_refs).

It runs on a database of its own: a fresh SQLite file in a temporary folder,
or, when DATABASE_URL names PostgreSQL, the database `rapport_bench_import` on
the same server (dropped and created anew, then migrated). Prints ours, the
floor, the ratio and the peak memory per phase; `--json` prints
{"seconds", "floor_seconds", "ratio", "peak_rss_mb", "phases", …}.
"""

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from django.core.management import call_command
from django.db import connection, connections, transaction
from django.utils import timezone

from rapport.lib.progress import Progress

BENCH_DATABASE = "rapport_bench_import"
FIRST_NAMES = ["Ann", "Ben", "Carla", "Dev", "Eve", "Femi", "Gus", "Hana", "Ivo", "Jo"]
LAST_NAMES = ["Jones", "Okafor", "Silva", "Mendes", "Kim", "Novak", "Ruiz", "Berg"]


# -- memory ------------------------------------------------------------------


def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """The process's peak resident memory since the last reset (VmHWM); where
    /proc is missing, getrusage's lifetime peak."""
    value = _status_mb("VmHWM")
    if value is not None:
        return value
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


class PhaseTimer(Progress):
    """An import progress reporter that times each phase and notes its peak
    memory (and says which phase it is in, unless quiet)."""

    def __init__(self, log) -> None:
        super().__init__()
        self.log = log
        self.results: dict[str, dict] = {}
        self.started: float | None = None

    def phase(self, name: str, total: int | None = None) -> None:
        self._close()
        super().phase(name, total)
        if name != "done":
            self.log(f"    {name}…")
            reset_peak()
            self.started = time.perf_counter()

    def _close(self) -> None:
        if self.started is None:
            return
        self.results[self.name] = {
            "seconds": round(time.perf_counter() - self.started, 3),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
        self.started = None

    def close(self) -> None:
        self._close()


# -- the files ---------------------------------------------------------------


def write_files(folder: Path, contacts: int, purchases: int, seed: int = 7) -> tuple[Path, Path]:
    rng = random.Random(seed)
    contacts_path, purchases_path = folder / "contacts.csv", folder / "purchases.csv"
    with open(contacts_path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["external_id", "first_name", "last_name", "email", "relationship", "source", "tags",
             "email_ok"]
        )  # fmt: skip
        for n in range(contacts):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            writer.writerow(
                [
                    f"C-{n + 1:07d}",
                    first,
                    last,
                    f"{first.lower()}.{last.lower()}.{n}@example.com",
                    rng.randint(1, 10) if n % 3 else "",
                    rng.choice(["walk-in", "web", "referral", ""]),
                    rng.choice(["family", "hygiene;family", "", "vip"]),
                    "true" if n % 2 else "false",
                ]
            )
    start = dt.date(2023, 1, 1)
    with open(purchases_path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["contact", "date", "amount", "description"])
        for n in range(purchases):
            contact = n % contacts + 1 if n < contacts else rng.randint(1, contacts)
            day = start + dt.timedelta(days=rng.randint(0, 3 * 365))
            amount = f"{rng.randint(20, 400)}.{rng.choice(['00', '50', '95'])}" if n % 10 else ""
            writer.writerow([f"C-{contact:07d}", day.isoformat(), amount, "Visit"])
    return contacts_path, purchases_path


# -- the database --------------------------------------------------------------


def use_bench_database(folder: Path) -> str:
    """Point the default connection at a fresh database of the bench's own,
    migrated: a SQLite file in `folder`, or BENCH_DATABASE on the PostgreSQL
    server DATABASE_URL names."""
    settings = connections.settings["default"]
    connection.close()
    if settings["ENGINE"].endswith("sqlite3"):
        settings["NAME"] = str(folder / "bench.sqlite3")
    else:
        import psycopg

        admin = psycopg.connect(
            dbname="postgres",
            host=settings.get("HOST") or None,
            port=settings.get("PORT") or None,
            user=settings.get("USER") or None,
            password=settings.get("PASSWORD") or None,
            autocommit=True,
        )
        with admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
        settings["NAME"] = BENCH_DATABASE
    del connections["default"]
    call_command("migrate", verbosity=0)
    return connections["default"].vendor


def make_workspace(slug: str):
    from rapport.workspaces.models import Workspace

    with transaction.atomic():
        return Workspace.objects.create(name=slug.title(), slug=slug, time_zone="UTC")


# -- the floor -----------------------------------------------------------------


def floor(workspace, contacts_path: Path, purchases_path: Path) -> dict:
    """Staging tables loaded from the files as they are, then INSERT … SELECT
    into the app's indexed tables with the contact-id lookup."""
    from rapport.clients import bulk
    from rapport.clients.models import Contact, Purchase

    contact, purchase = Contact._meta.db_table, Purchase._meta.db_table
    ws, now = workspace.pk, bulk.now_param()
    started = time.perf_counter()
    tables = []
    for path, name, columns in (
        (contacts_path, "floor_contacts", [("external_id", "text"), ("first_name", "text"),
                                          ("last_name", "text"), ("email", "text")]),
        (purchases_path, "floor_purchases", bulk.PURCHASE_STAGING),
    ):  # fmt: skip
        staging = bulk.Staging(name, columns)
        with open(path, newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            width = len(columns)
            for row in reader:
                staging.add(tuple(cell or None for cell in row[:width]))
        staging.finish()
        tables.append(staging.table)
    staged = time.perf_counter()
    with transaction.atomic():
        bulk.execute(
            f"""INSERT INTO {contact} (workspace_id, external_id, first_name, last_name, email,
                phone, stage, source, email_ok, sms_ok, notes, address, readiness, created_at,
                updated_at)
            SELECT %s, external_id, first_name, last_name, email, '', 'prospect', '', %s, %s,
                   '', '', 0, %s, %s
            FROM {tables[0]}""",
            [ws, False, False, now, now],
        )
        bulk.execute(
            f"""INSERT INTO {purchase} (workspace_id, contact_id, date, amount, description,
                                        created_at)
            SELECT %s, c.id, s.date, s.amount, COALESCE(s.description, ''), %s
            FROM {tables[1]} s
            JOIN {contact} c ON c.workspace_id = %s AND c.external_id = s.external_id""",
            [ws, now, ws],
        )
    done = time.perf_counter()
    for table in tables:
        bulk.execute(f"DROP TABLE IF EXISTS {table}")
    return {
        "seconds": done - started,
        "staging_seconds": round(staged - started, 3),
        "insert_select_seconds": round(done - staged, 3),
    }


# -- the run -------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rapport bench import")
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--purchases", type=int, default=200_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    def log(message):
        if not args.json:
            print(message, flush=True)

    from rapport.clients import imports
    from rapport.clients.models import Contact, Purchase

    folder = Path(tempfile.mkdtemp(prefix="rapport-bench-import-"))
    try:
        log(f"Writing {args.contacts:,} contacts and {args.purchases:,} purchases…")
        contacts_path, purchases_path = write_files(folder, args.contacts, args.purchases)
        vendor = use_bench_database(folder)
        log(f"On a fresh {vendor} database.")
        load_before = os.getloadavg()

        log("Floor: staging tables, then INSERT … SELECT into the app's tables…")
        floor_result = floor(make_workspace("bench-floor"), contacts_path, purchases_path)

        log("Ours: imports.import_files, as `rapport import` runs it…")
        workspace = make_workspace("bench-import")
        timer = PhaseTimer(log)
        reset_peak()
        # What the process holds before ours starts (Django, the floor's
        # leftovers, SQLite's page cache): the per-phase peaks include it.
        baseline_rss = _status_mb("VmRSS")
        started = time.perf_counter()
        cpu_started = time.process_time()
        reports = imports.import_files(
            workspace,
            [("contacts.csv", contacts_path), ("purchases.csv", purchases_path)],
            progress=timer,
        )
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        timer.close()
        failed = [str(e) for r in reports for e in r.errors]
        if failed:
            raise SystemExit(f"the import failed: {failed[:5]}")
        counts = (
            Contact.objects.filter(workspace=workspace).count(),
            Purchase.objects.filter(workspace=workspace).count(),
        )
        load_after = os.getloadavg()
        phases = timer.results
        result = {
            "database": vendor,
            "contacts": args.contacts,
            "purchases": args.purchases,
            "rows_written": {"contacts": counts[0], "purchases": counts[1]},
            "seconds": round(seconds, 3),
            "cpu_seconds": round(cpu_seconds, 3),
            "floor_seconds": round(floor_result["seconds"], 3),
            "floor": floor_result | {"seconds": round(floor_result["seconds"], 3)},
            "ratio": round(seconds / floor_result["seconds"], 2),
            "peak_rss_mb": max(p["peak_rss_mb"] for p in phases.values()),
            "peak_rss_source": "VmHWM per phase (/proc/self/status, reset by clear_refs)",
            "baseline_rss_mb": round(baseline_rss, 1) if baseline_rss is not None else None,
            "phases": phases,
            "load_average": {"before": load_before, "after": load_after},
            "measured_at": timezone.now().isoformat(timespec="seconds"),
        }
    finally:
        connection.close()
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
        return 0
    log(f"  wrote {counts[0]:,} contacts and {counts[1]:,} purchases")
    for name, phase in phases.items():
        log(f"    {name:<44} {phase['seconds']:8.2f} s   peak {phase['peak_rss_mb']:7.1f} MB")
    log(f"ours:  {seconds:8.2f} s (CPU {cpu_seconds:.2f} s)")
    log(
        f"floor: {floor_result['seconds']:8.2f} s (staging {floor_result['staging_seconds']:.2f} s"
        f" + INSERT … SELECT {floor_result['insert_select_seconds']:.2f} s)"
    )
    log(
        f"ratio: {result['ratio']:8.2f}×   peak RSS {result['peak_rss_mb']:.1f} MB"
        f" (the process held {result['baseline_rss_mb']} MB as ours began)"
    )
    log(f"load average before {load_before}, after {load_after}")
    return 0
