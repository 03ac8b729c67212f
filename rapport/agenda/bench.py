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
import statistics
import time

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from rapport.advocacy.models import Referral
from rapport.agenda import store
from rapport.agenda.models import AgendaDecision, AgendaItem
from rapport.clients.models import Activity, Contact, Issue, Permission, Purchase, StageChange
from rapport.workspaces.models import Workspace

ROWS_PER_CONTACT = 20
HISTORY_DAYS = 3 * 365


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
    now = timezone.now()
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
                    now - dt.timedelta(days=HISTORY_DAYS),
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

    def purchase_rows():
        for i, pk in enumerate(ids.tolist()):
            last = today.toordinal() - int(stopped[i]) - int(rng.uniform(0, rhythm[i]))
            days = last - np.arange(ROWS_PER_CONTACT) * rhythm[i] * rng.uniform(
                0.8, 1.2, ROWS_PER_CONTACT
            )
            for day in days.astype(int).tolist():
                yield (workspace.pk, pk, dt.date.fromordinal(day), 85, "visit", now)

    def activity_rows():
        for pk in ids.tolist():
            days = today.toordinal() - rng.integers(0, HISTORY_DAYS, ROWS_PER_CONTACT)
            for day in days.tolist():
                yield (
                    workspace.pk,
                    pk,
                    dt.date.fromordinal(day),
                    "call",
                    "out",
                    "Follow-up call",
                    "[]",
                    "{}",
                    False,
                    now,
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
    # What the nightly job keeps on each contact (rhythm, usual spend), so
    # the morning refresh meets the state it meets in production.
    from rapport.clients import rhythm as rhythms

    rhythms.update(workspace)
    log(f"  purchases and activities in {time.perf_counter() - start:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor != "sqlite" else "ANALYZE")
    return workspace


def floor(workspace) -> int:
    """One aggregate pass: last purchase, purchase count, last activity per contact."""
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


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rapport bench agenda")
    parser.add_argument("--contacts", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3, help="median of this many runs")
    parser.add_argument("--keep", action="store_true", help="keep the bench workspace afterwards")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    def log(message):
        if not args.json:
            print(message, flush=True)

    log(f"Building a workspace of {args.contacts:,} contacts on {connection.vendor}…")
    started = time.perf_counter()
    workspace = build(args.contacts, log=log)
    build_seconds = time.perf_counter() - started
    rows = (
        Purchase.objects.filter(workspace=workspace).count(),
        Activity.objects.filter(workspace=workspace).count(),
    )
    today = workspace.today()
    # The first refresh of a new workspace also writes every contact's
    # readiness once; mornings after that rewrite only what changed. Time the
    # mornings, and report the first one too.
    first_seconds, _ = timed(lambda: store.refresh(workspace, today), 1)
    refresh_seconds, items = timed(lambda: store.refresh(workspace, today), args.repeat)
    floor_seconds, _ = timed(lambda: floor(workspace), args.repeat)
    result = {
        "database": connection.vendor,
        "contacts": args.contacts,
        "purchases": rows[0],
        "activities": rows[1],
        "build_seconds": round(build_seconds, 1),
        "agenda_items": items,
        "first_refresh_seconds": round(first_seconds, 3),
        "refresh_seconds": round(refresh_seconds, 3),
        "floor_seconds": round(floor_seconds, 3),
        "ratio": round(refresh_seconds / floor_seconds, 2),
    }
    if not args.keep:
        drop_workspace(workspace.slug)
    if args.json:
        print(json.dumps(result))
    else:
        log(f"  {rows[0]:,} purchases, {rows[1]:,} activities; {items:,} agenda items")
        log(f"    first refresh (writes all readiness): {first_seconds:.3f} s")
        log(f"(a) full agenda refresh: {refresh_seconds:8.3f} s (median of {args.repeat})")
        log(f"(b) floor, one aggregate: {floor_seconds:8.3f} s")
        log(f"    ratio (a)/(b):        {result['ratio']:8.2f}×")
    return 0
