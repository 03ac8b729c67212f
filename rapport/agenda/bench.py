"""`rapport bench agenda`: the agenda refresh against the floor.

Builds a workspace of N contacts with about 20 purchases and 20 activities
each, written with the DB-API's executemany (not the ORM, one row at a time),
then times (a) a full agenda refresh and (b) the floor: one SQL aggregate
pass over the same rows — per contact, the last purchase, the purchase count
and the last activity — on the same database. The ratio says how much the
engine costs beyond reading the facts once.
"""

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import time

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from rapport.advocacy.models import Referral
from rapport.agenda import signals, store
from rapport.agenda.models import AgendaDecision, AgendaItem
from rapport.clients import rhythm as rhythms
from rapport.clients.models import Activity, Contact, Issue, Permission, Purchase, StageChange
from rapport.workspaces.models import Workspace

ROWS_PER_CONTACT = 20
HISTORY_DAYS = 3 * 365
BUILD_SLICE = 20000  # contacts drawn at a time


def _insert(model, fields: list[str], rows) -> None:
    table = model._meta.db_table
    columns = [model._meta.get_field(f).column for f in fields]
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    batch = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(row)
            if len(batch) == 20000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def drop_workspace(slug: str) -> None:
    """Delete a bench workspace with one DELETE per table (no per-row cascade)."""
    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (
            AgendaItem,
            AgendaDecision,
            Referral,
            Permission,
            Issue,
            Activity,
            Purchase,
            StageChange,
        ):
            cursor.execute(
                f"DELETE FROM {model._meta.db_table} WHERE workspace_id = %s", [workspace.pk]
            )
        cursor.execute(
            f"DELETE FROM {Contact._meta.db_table} WHERE workspace_id = %s", [workspace.pk]
        )
        workspace.delete()


def build(contacts: int, *, seed: int = 7, today: dt.date | None = None, log=print) -> Workspace:
    slug = f"bench-agenda-{contacts}"
    drop_workspace(slug)
    workspace = Workspace.objects.create(name=f"Bench {contacts}", slug=slug, time_zone="UTC")
    today = today or workspace.today()
    rng = np.random.default_rng(seed)
    # Adapted once: the driver would format the same timestamp for every row.
    moment = timezone.now()
    now = connection.ops.adapt_datetimefield_value(moment)
    created = connection.ops.adapt_datetimefield_value(moment - dt.timedelta(days=HISTORY_DAYS))
    start = time.perf_counter()
    stages = np.array(["prospect", "customer", "member", "advocate", "raving_fan"])
    stage_of = stages[rng.choice(5, size=contacts, p=[0.05, 0.25, 0.5, 0.15, 0.05])]
    relationship = rng.integers(1, 11, size=contacts)
    with transaction.atomic():
        _insert(
            Contact,
            [
                "workspace",
                "external_id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "stage",
                "relationship",
                "source",
                "email_ok",
                "sms_ok",
                "notes",
                "readiness",
                "created_at",
                "updated_at",
            ],
            (
                (
                    workspace.pk,
                    f"B-{n}",
                    f"First{n}",
                    f"Last{n}",
                    "",
                    "",
                    stage_of[n],
                    int(relationship[n]) if n % 4 else None,
                    "",
                    bool(n % 3),
                    False,
                    "",
                    0,
                    created,
                    now,
                )
                for n in range(contacts)
            ),
        )
    ids = np.array(
        Contact.objects.filter(workspace=workspace).order_by("pk").values_list("pk", flat=True)
    )
    log(f"  {contacts:,} contacts in {time.perf_counter() - start:.1f} s")

    # Each contact has a rhythm (every 20–200 days) and may have stopped:
    # a quarter lapsed, so lapse and touch rules have real work to do.
    start = time.perf_counter()
    rhythm = rng.uniform(20, 120, size=contacts)
    stopped = np.where(rng.random(contacts) < 0.25, rng.uniform(90, 700, size=contacts), 0)

    # Whole columns at once, a slice of contacts at a time: NumPy draws the
    # days and makes the date objects, so building a million contacts is
    # bound by the database's inserts, not by Python (and memory stays flat).
    epoch = np.datetime64(dt.date(1970, 1, 1), "D")
    today_n = (today - dt.date(1970, 1, 1)).days

    def as_dates(day_numbers: np.ndarray) -> list:
        return (epoch + day_numbers.ravel()).astype(object).tolist()

    # What the nightly job keeps on each contact (clients.rhythm: rhythm,
    # usual spend, first amount), computed by its own functions from the
    # rows drawn, so the morning meets the state it meets in production.
    kept: list[tuple] = []

    def kept_facts(owners: np.ndarray, days: np.ndarray) -> list[tuple]:
        amounts = np.full(len(owners), 85.0)
        medians = dict(zip(*(a.tolist() for a in rhythms.medians(owners, days)), strict=True))
        typical = rhythms.typical_amounts(owners, amounts)
        first = rhythms.first_amounts(owners, days, amounts)
        return [
            (int(np.rint(medians[pk])) if pk in medians else None, typical[pk], first[pk], pk)
            for pk in np.unique(owners).tolist()
        ]

    def purchase_rows():
        for lo in range(0, contacts, BUILD_SLICE):
            hi = min(lo + BUILD_SLICE, contacts)
            r = rhythm[lo:hi]
            last = today_n - stopped[lo:hi].astype(int) - (rng.random(hi - lo) * r).astype(int)
            steps = np.arange(ROWS_PER_CONTACT) * r[:, None]
            jitter = rng.uniform(0.8, 1.2, (hi - lo, ROWS_PER_CONTACT))
            days = (last[:, None] - steps * jitter).astype(int)
            owners = np.repeat(ids[lo:hi], ROWS_PER_CONTACT)
            kept.extend(kept_facts(owners, days.ravel()))
            yield from (
                (workspace.pk, pk, day, 85, "visit", now)
                for pk, day in zip(owners.tolist(), as_dates(days), strict=True)
            )

    def activity_rows():
        for lo in range(0, contacts, BUILD_SLICE):
            hi = min(lo + BUILD_SLICE, contacts)
            days = today_n - rng.integers(0, HISTORY_DAYS, (hi - lo, ROWS_PER_CONTACT))
            owners = np.repeat(ids[lo:hi], ROWS_PER_CONTACT).tolist()
            yield from (
                (workspace.pk, pk, day, "call", "out", "Follow-up call", "[]", "{}", False, now)
                for pk, day in zip(owners, as_dates(days), strict=True)
            )

    with transaction.atomic():
        _insert(
            Purchase,
            ["workspace", "contact", "date", "amount", "description", "created_at"],
            purchase_rows(),
        )
        _insert(
            Activity,
            [
                "workspace",
                "contact",
                "occurred_on",
                "kind",
                "direction",
                "text",
                "signals",
                "detected",
                "carries_moment",
                "created_at",
            ],
            activity_rows(),
        )
        # Moments, issues, permissions and referrals for a few percent.
        sample = rng.choice(ids, size=max(1, contacts // 50), replace=False).tolist()
        _insert(
            Activity,
            [
                "workspace",
                "contact",
                "occurred_on",
                "kind",
                "direction",
                "text",
                "signals",
                "detected",
                "carries_moment",
                "created_at",
            ],
            (
                (
                    workspace.pk,
                    pk,
                    today - dt.timedelta(days=int(rng.integers(0, 10))),
                    "visit",
                    "in",
                    "Said we were wonderful",
                    '["praise"]',
                    '{"praise": "Said we were wonderful"}',
                    True,
                    now,
                )
                for pk in sample
            ),
        )
        troubled = rng.choice(ids, size=max(1, contacts // 100), replace=False).tolist()
        _insert(
            Issue,
            [
                "workspace",
                "contact",
                "opened_on",
                "summary",
                "status",
                "resolution",
                "fix_plan",
                "created_at",
            ],
            (
                (
                    workspace.pk,
                    pk,
                    today - dt.timedelta(days=5),
                    "Billing error",
                    "open",
                    "",
                    "",
                    now,
                )
                for pk in troubled
            ),
        )
        granted = rng.choice(ids, size=max(1, contacts // 50), replace=False).tolist()
        _insert(
            Permission,
            [
                "workspace",
                "contact",
                "kind",
                "granted_on",
                "ask_after",
                "source",
                "note",
                "created_at",
            ],
            (
                (
                    workspace.pk,
                    pk,
                    "both",
                    today - dt.timedelta(days=90),
                    today + dt.timedelta(days=int(rng.integers(-5, 30))),
                    "import",
                    "",
                    now,
                )
                for pk in granted
            ),
        )
        pairs = rng.choice(ids, size=(max(1, contacts // 100), 2), replace=False).tolist()
        _insert(
            Referral,
            [
                "workspace",
                "referrer",
                "referred",
                "date",
                "status",
                "how",
                "unsolicited",
                "note",
                "may_mention",
                "wants_intro",
                "created_at",
            ],
            (
                (
                    workspace.pk,
                    a,
                    b,
                    today - dt.timedelta(days=int(rng.integers(0, 20))),
                    "new",
                    "intro",
                    False,
                    "",
                    False,
                    False,
                    now,
                )
                for a, b in pairs
            ),
        )
    with transaction.atomic(), connection.cursor() as cursor:
        table = Contact._meta.db_table
        cursor.executemany(
            f"UPDATE {table} SET rhythm_days = %s, typical_amount = %s, first_amount = %s"
            " WHERE id = %s",
            kept,
        )
    log(f"  purchases and activities in {time.perf_counter() - start:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor != "sqlite" else "ANALYZE")
    return workspace


# -- the floor: one aggregate pass over the same rows, in each form ------------


def floor_join(workspace) -> int:
    """The floor as GROUP BY subqueries joined to the contacts: last purchase,
    purchase count and last activity per contact. PostgreSQL's usual best."""
    purchase, activity, contact = (m._meta.db_table for m in (Purchase, Activity, Contact))
    sql = f"""
        SELECT c.id, p.last_purchase, p.purchases, a.last_activity
        FROM {contact} c
        LEFT JOIN (SELECT contact_id, MAX(date) AS last_purchase, COUNT(*) AS purchases
                   FROM {purchase} WHERE workspace_id = %s GROUP BY contact_id) p
               ON p.contact_id = c.id
        LEFT JOIN (SELECT contact_id, MAX(occurred_on) AS last_activity
                   FROM {activity} WHERE workspace_id = %s GROUP BY contact_id) a
               ON a.contact_id = c.id
        WHERE c.workspace_id = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk] * 3)
        return len(cursor.fetchall())


def floor_subquery(workspace) -> int:
    """The same rows as correlated subqueries, each answered from the
    (workspace, contact, date) indexes: SQLite's faster form (it reads each
    contact's few index entries instead of grouping two million rows)."""
    purchase, activity, contact = (m._meta.db_table for m in (Purchase, Activity, Contact))
    sql = f"""
        SELECT c.id,
          (SELECT MAX(date) FROM {purchase} p
           WHERE p.workspace_id = c.workspace_id AND p.contact_id = c.id),
          (SELECT COUNT(*) FROM {purchase} p
           WHERE p.workspace_id = c.workspace_id AND p.contact_id = c.id),
          (SELECT MAX(occurred_on) FROM {activity} a
           WHERE a.workspace_id = c.workspace_id AND a.contact_id = c.id)
        FROM {contact} c
        WHERE c.workspace_id = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk])
        return len(cursor.fetchall())


FLOORS = {"join": floor_join, "subquery": floor_subquery}
floor = floor_join  # the original form's name


# -- measuring ------------------------------------------------------------------


def _server_pid() -> int | None:
    """The PostgreSQL backend serving this connection, when it runs on this
    machine and /proc shows it: its CPU time is the database's share."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return pid if _process_cpu(pid) is not None else None


def _process_cpu(pid: int) -> float | None:
    """utime + stime of another process, in seconds (None when unreadable)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_mb(field: str) -> float | None:
    """A memory figure of this process from /proc/self/status (VmHWM: the
    peak resident set; VmRSS: now), in MB; None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset VmHWM to the current resident set (Linux ≥ 4.0), so the next
    reading is the peak of what runs after it, not of the build."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    """This process's peak resident set so far (VmHWM, else ru_maxrss)."""
    peak = _status_mb("VmHWM")
    if peak is None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return round(peak, 1)


class Series:
    """Wall time, this process's CPU time and (on a local PostgreSQL) the
    server backend's CPU time of each run of one measured thing."""

    def __init__(self, server_pid: int | None = None):
        self.server_pid = server_pid
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.server_cpu: list[float] = []
        self.peak_mb: list[float] = []
        self.result = None

    def run(self, function, *, track_peak: bool = False):
        tracked = track_peak and _reset_peak()
        server = _process_cpu(self.server_pid) if self.server_pid else None
        cpu, wall = time.process_time(), time.perf_counter()
        self.result = function()
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)
        if server is not None:
            self.server_cpu.append(_process_cpu(self.server_pid) - server)
        if tracked:
            self.peak_mb.append(peak_rss_mb())
        return self.result

    @staticmethod
    def spread(values: list[float]) -> dict:
        return {
            "min": round(min(values), 4),
            "median": round(statistics.median(values), 4),
            "max": round(max(values), 4),
        }

    def summary(self) -> dict:
        out = {"wall": self.spread(self.wall), "cpu": self.spread(self.cpu)}
        if self.server_cpu:
            out["server_cpu"] = self.spread(self.server_cpu)
            out["total_cpu"] = self.spread(self.values("total_cpu"))
        if self.peak_mb:
            out["peak_rss_mb"] = max(self.peak_mb)
        return out

    def values(self, what: str) -> list[float]:
        if what == "total_cpu":
            if not self.server_cpu:
                return self.cpu
            return [a + b for a, b in zip(self.cpu, self.server_cpu, strict=True)]
        return getattr(self, what)

    def median(self, what: str = "wall") -> float:
        return statistics.median(self.values(what))


def morning(workspace, on: dt.date) -> tuple[int, float]:
    """The morning job as the worker runs it (agenda.tasks.refresh_workspace):
    the morning hook — win-back's rhythms and the lapse model's refit — then
    the day's agenda stored. Returns the items and the hook's wall time."""
    start = time.perf_counter()
    signals.morning.send(sender=Workspace, workspace=workspace, on=on)
    workspace.refresh_from_db()
    hook = time.perf_counter() - start
    return store.refresh(workspace, on), hook


def cpu_meaning() -> str:
    if connection.vendor == "sqlite":
        return (
            "time.process_time of this process, which includes SQLite's own work "
            "(the database runs inside the process)"
        )
    return (
        "cpu: time.process_time of this process (Django, the driver, NumPy; not the "
        "server); server_cpu: user+system CPU of the PostgreSQL backend serving this "
        "connection, read from /proc/<pg_backend_pid()>/stat (local server only); "
        "total_cpu: the two added"
    )


def measure(workspace, today: dt.date, repeat: int, morning_repeat: int, log=print) -> dict:
    """Refresh, morning job and both floors, interleaved: each round runs
    each once, in an order that rotates from round to round, so a change of
    the machine's load falls on all of them alike instead of on whichever
    was timed last."""
    pid = _server_pid()
    refresh, morning_job = Series(pid), Series(pid)
    floors = {name: Series(pid) for name in FLOORS}
    hooks: list[float] = []

    def run_morning():
        items, hook = morning(workspace, today)
        hooks.append(hook)
        return items

    steps = [
        ("refresh", lambda: refresh.run(lambda: store.refresh(workspace, today), track_peak=True)),
        ("morning", lambda: morning_job.run(run_morning, track_peak=True)),
        *(
            (f"floor {name}", lambda name=name: floors[name].run(lambda: FLOORS[name](workspace)))
            for name in FLOORS
        ),
    ]
    for round_ in range(repeat):
        # The morning job takes minutes at a million contacts: --morning-repeat
        # may run it in fewer rounds than the rest.
        todo = [s for s in steps if s[0] != "morning" or round_ < morning_repeat]
        shift = round_ % len(todo)
        for _name, step in todo[shift:] + todo[:shift]:
            step()
        morning_text = f"morning {morning_job.wall[-1]:.3f} s, " if round_ < morning_repeat else ""
        log(
            f"  round {round_ + 1}/{repeat}: refresh {refresh.wall[-1]:.3f} s, {morning_text}"
            + ", ".join(f"floor {n} {s.wall[-1]:.3f} s" for n, s in floors.items())
        )
    return {
        "refresh": refresh,
        "morning": morning_job,
        "floors": floors,
        "morning_hook_seconds": Series.spread(hooks),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rapport bench agenda")
    parser.add_argument("--contacts", type=int, default=10000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds: each runs refresh, morning and floors once"
    )
    parser.add_argument(
        "--morning-repeat",
        type=int,
        default=None,
        help="run the morning job in this many of the rounds (default: all; at least 1)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench workspace afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse a kept workspace of that size if there is one"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    morning_repeat = args.repeat if args.morning_repeat is None else args.morning_repeat
    if not 1 <= morning_repeat <= args.repeat:
        parser.error("--morning-repeat must be between 1 and --repeat")

    def log(message):
        if not args.json:
            print(message, flush=True)

    load_before = os.getloadavg()
    started = time.perf_counter()
    workspace = None
    if args.reuse:
        workspace = Workspace.objects.filter(slug=f"bench-agenda-{args.contacts}").first()
    if workspace is None:
        log(f"Building a workspace of {args.contacts:,} contacts on {connection.vendor}…")
        workspace = build(args.contacts, log=log)
    build_seconds = time.perf_counter() - started
    build_peak = peak_rss_mb()
    rows = (
        Purchase.objects.filter(workspace=workspace).count(),
        Activity.objects.filter(workspace=workspace).count(),
    )
    today = workspace.today()
    # The first morning of a new workspace fits its lapse model and writes
    # every contact's readiness once; mornings after that rewrite only what
    # changed. Report it, then time the mornings that follow.
    first = Series()
    first_hook = []

    def first_morning():
        items, hook = morning(workspace, today)
        first_hook.append(hook)
        return items

    first.run(first_morning)
    first_refresh = first.wall[0] - first_hook[0]
    log(f"  first morning {first.wall[0]:.3f} s (refresh {first_refresh:.3f} s)")
    measured = measure(workspace, today, args.repeat, morning_repeat, log=log)
    refresh, morning_job, floors = measured["refresh"], measured["morning"], measured["floors"]
    form = min(floors, key=lambda name: floors[name].median())
    fastest = floors[form]
    cpu_kind = "total_cpu" if fastest.server_cpu else "cpu"
    items = refresh.result
    result = {
        "database": connection.vendor,
        "contacts": args.contacts,
        "purchases": rows[0],
        "activities": rows[1],
        "build_seconds": round(build_seconds, 1),
        "agenda_items": items,
        "first_refresh_seconds": round(first_refresh, 3),
        # Medians of wall time; the floor is the faster of its two forms.
        "refresh_seconds": round(refresh.median(), 3),
        "floor_seconds": round(fastest.median(), 3),
        "ratio": round(refresh.median() / fastest.median(), 2),
        # New: the spread, CPU time, both floor forms, the morning job.
        "repeat": args.repeat,
        "morning_repeat": morning_repeat,
        "interleaved": True,
        "floor_form": form,
        "cpu_time": cpu_meaning(),
        "refresh_cpu_seconds": round(refresh.median(cpu_kind), 3),
        "floor_cpu_seconds": round(fastest.median(cpu_kind), 3),
        "cpu_ratio": round(refresh.median(cpu_kind) / max(fastest.median(cpu_kind), 1e-9), 2),
        "ratio_against": {
            name: {
                "wall": round(refresh.median() / series.median(), 2),
                "cpu": round(refresh.median(cpu_kind) / max(series.median(cpu_kind), 1e-9), 2),
            }
            for name, series in floors.items()
        },
        "refresh": refresh.summary(),
        "floors": {name: series.summary() for name, series in floors.items()},
        "morning_seconds": round(morning_job.median(), 3),
        "morning_cpu_seconds": round(morning_job.median(cpu_kind), 3),
        "morning": {
            **morning_job.summary(),
            "hook_wall": measured["morning_hook_seconds"],
            "what": "agenda.signals.morning (rhythms, lapse model refit) then store.refresh",
        },
        "first_morning_seconds": round(first.wall[0], 3),
        "lapse_model": {
            key: workspace.lapse_model.get(key)
            for key in ("customers", "fallback", "r", "alpha", "a", "b")
            if key in (workspace.lapse_model or {})
        },
        "build_peak_rss_mb": build_peak,
        "peak_rss_mb": peak_rss_mb(),
        "refresh_peak_rss_mb": refresh.summary().get("peak_rss_mb"),
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
    }
    if not args.keep:
        drop_workspace(workspace.slug)
    if args.json:
        print(json.dumps(result))
        return 0

    def line(label, summary):
        wall, cpu = summary["wall"], summary.get("total_cpu", summary["cpu"])
        return (
            f"{label:26} wall {wall['median']:8.3f} s ({wall['min']:.3f}–{wall['max']:.3f})"
            f"   cpu {cpu['median']:8.3f} s ({cpu['min']:.3f}–{cpu['max']:.3f})"
        )

    log(f"  {rows[0]:,} purchases, {rows[1]:,} activities; {items:,} agenda items")
    log(f"  medians of {args.repeat} interleaved rounds (min–max); cpu: {cpu_meaning()}")
    log(line("(a) agenda refresh", result["refresh"]))
    for name in FLOORS:
        mark = "  ← the floor" if name == form else ""
        log(line(f"(b) floor, {name} form", result["floors"][name]) + mark)
    log(f"    ratio (a)/(b): {result['ratio']:.2f}× wall, {result['cpu_ratio']:.2f}× cpu")
    log(line("morning job (refit incl.)", result["morning"]))
    log(
        f"    peak memory: {result['refresh_peak_rss_mb']} MB during refreshes, "
        f"{result['peak_rss_mb']} MB over the run (build {build_peak} MB)"
    )
    log(f"    load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    return 0
