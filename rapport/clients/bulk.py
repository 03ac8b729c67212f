"""The import's bulk path: staging tables, set-based writes, derived facts.

Rows are staged while the file is validated (the staging tables are
TEMPORARY: private to the connection, never part of the record), then each
valid file is written by a few INSERT … SELECT / UPDATE … FROM statements in
one transaction, whatever its size. On PostgreSQL the staging load is a COPY,
on SQLite an `executemany`; what follows is the same SQL on both.

Nothing here loops over contacts in Python or issues a query per contact:
the derived facts (ladder promotions, rhythms) are statements over the set
of touched contacts, kept in a temporary table of their own.
"""

import datetime as dt
import itertools
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from rapport.clients import ladder
from rapport.clients.models import (
    ConsentRecord,
    Contact,
    Organization,
    Purchase,
    Stage,
    StageChange,
    Tag,
)

TOUCHED = "rapport_import_touched"
_numbers = itertools.count(1)
BATCH = 10_000

# Logical column types of the staging tables, per database.
TYPES = {
    "sqlite": {
        "text": "text",
        "date": "date",
        "decimal": "decimal",
        "int": "integer",
        "bool": "bool",
    },
    "postgresql": {
        "text": "text",
        "date": "date",
        "decimal": "numeric(12, 2)",
        "int": "bigint",
        "bool": "boolean",
    },
}


def _sqlite() -> bool:
    return connection.vendor == "sqlite"


def distinct(a: str, b: str) -> str:
    """`a` differs from `b`, NULLs included."""
    return f"({a} IS NOT {b})" if _sqlite() else f"({a} IS DISTINCT FROM {b})"


def rank(expr: str) -> str:
    """A stage's rung as a number, in SQL (Stage.rank)."""
    whens = " ".join(f"WHEN '{value}' THEN {i}" for i, value in enumerate(Stage.values))
    return f"(CASE {expr} {whens} ELSE -1 END)"


def now_param():
    return connection.ops.adapt_datetimefield_value(timezone.now())


def date_param(day: dt.date):
    return connection.ops.adapt_datefield_value(day)


def _adapter(kind: str):
    # SQLite stores what Django would: ISO dates, decimals as their text
    # (into a NUMERIC column, so both sides of a comparison convert alike).
    if not _sqlite():
        return None
    if kind == "date":
        return lambda v: v.isoformat() if isinstance(v, dt.date) else v
    if kind == "decimal":
        return lambda v: str(v) if isinstance(v, Decimal) else v
    if kind == "bool":
        return lambda v: None if v is None else int(v)
    return None


class Staging:
    """A TEMPORARY table filled row by row as a file streams past: batched
    `executemany` on SQLite, one COPY on PostgreSQL. At most BATCH rows are
    held in memory."""

    def __init__(self, name: str, columns: list[tuple[str, str]], extra=(), copy: bool = True):
        # Numbered: two files of one kind in one import each have their own.
        self.table = f"rapport_import_{name}_{next(_numbers)}"
        self.columns = [c for c, _ in columns]
        types = TYPES[connection.vendor]
        definition = ", ".join(f"{c} {types[t]}" for c, t in [*columns, *extra])
        self.adapters = [(i, a) for i, (_, t) in enumerate(columns) if (a := _adapter(t))]
        self.rows = 0
        self.batch: list[tuple] = []
        self.cursor = connection.cursor()
        self.cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        self.cursor.execute(f"CREATE TEMPORARY TABLE {self.table} ({definition})")
        self.copy_context = self.copy = None
        # Without COPY on PostgreSQL, the rows wait for finish(): another
        # table's COPY may be running on the connection, and nothing else
        # may be sent while it does.
        self.deferred = not copy and not _sqlite()
        self.finished = False
        if copy and not _sqlite():
            self.copy_context = self.cursor.cursor.copy(
                f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN"
            )
            self.copy = self.copy_context.__enter__()

    def add(self, row: tuple) -> None:
        self.rows += 1
        if self.copy is not None:
            self.copy.write_row(row)
            return
        if self.adapters:
            row = list(row)
            for i, adapt in self.adapters:
                row[i] = adapt(row[i])
        self.batch.append(tuple(row))
        if len(self.batch) >= BATCH and not self.deferred:
            self._flush()

    def _flush(self) -> None:
        if self.batch:
            marks = ", ".join(["%s"] * len(self.columns))
            self.cursor.executemany(
                f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks})",
                self.batch,
            )
            self.batch = []

    def finish(self, analyze: bool = True) -> None:
        """Everything staged; the table can be read."""
        if self.finished:
            return
        self.finished = True
        if self.copy_context is not None:
            self.copy_context.__exit__(None, None, None)
            self.copy_context = self.copy = None
        self.deferred = False
        self._flush()
        if analyze and not _sqlite() and self.rows:
            # A temporary table is never analysed by autovacuum: without this
            # the INSERT … SELECT is planned for a guess at its size.
            self.cursor.execute(f"ANALYZE {self.table}")

    def drop(self) -> None:
        self.batch = []  # nothing more to write into a table about to go
        self.finish(analyze=False)
        self.cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
        self.cursor.close()


def execute(sql: str, params=()) -> int:
    """Run one statement; how many rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        if cursor.rowcount >= 0 or not _sqlite():
            return cursor.rowcount
        # Python's sqlite3 gives no rowcount for a statement that starts with
        # WITH; SQLite's own count is still there.
        cursor.execute("SELECT changes()")
        return cursor.fetchone()[0]


def begin() -> str | None:
    """Before staging on SQLite: temporary tables (and the sorts of a large
    INSERT … SELECT) go to a temporary file instead of memory, so a million
    staged rows do not count against the process's memory. Returns the
    setting to restore. (Changing it drops the connection's temporary
    tables: none of ours exist yet.)"""
    if not _sqlite() or connection.in_atomic_block:
        return None  # (SQLite refuses the change inside a transaction)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA temp_store")
        before = cursor.fetchone()[0]
        cursor.execute("PRAGMA temp_store = FILE")
    return str(before)


def end(before: str | None) -> None:
    if before is not None and before.isdigit():
        execute(f"PRAGMA temp_store = {int(before)}")


def start_touched() -> None:
    """The set of contacts this import touched, for the derived facts."""
    execute(f"DROP TABLE IF EXISTS {TOUCHED}")
    execute(f"CREATE TEMPORARY TABLE {TOUCHED} (contact_id bigint PRIMARY KEY)")


def add_touched_sql(select_sql: str, params=()) -> None:
    """Add the contact ids a SELECT returns (one column) to the touched set."""
    if _sqlite():
        execute(f"INSERT OR IGNORE INTO {TOUCHED} (contact_id) {select_sql}", params)
    else:
        execute(f"INSERT INTO {TOUCHED} (contact_id) {select_sql} ON CONFLICT DO NOTHING", params)


def add_touched_ids(ids) -> None:
    ids = sorted(set(ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = " UNION ALL ".join(["SELECT %s"] * len(chunk))
        add_touched_sql(marks, chunk)


def touched_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {TOUCHED}")
        return cursor.fetchone()[0]


def drop_touched() -> None:
    execute(f"DROP TABLE IF EXISTS {TOUCHED}")


# -- purchases -------------------------------------------------------------


PURCHASE_STAGING = [
    ("external_id", "text"),
    ("date", "date"),
    ("amount", "decimal"),
    ("description", "text"),
]


def write_purchases(workspace, staging: Staging) -> int:
    """Insert the staged purchases that are not in the record yet (the key:
    contact, date, amount, description; the same row twice in the file goes
    in once). Returns how many were created."""
    purchase, contact = Purchase._meta.db_table, Contact._meta.db_table
    s = staging.table
    same_amount = "p.amount IS s.amount" if _sqlite() else "p.amount IS NOT DISTINCT FROM s.amount"
    created = execute(
        f"""
        INSERT INTO {purchase} (workspace_id, contact_id, date, amount, description, created_at)
        SELECT %s, c.id, s.date, s.amount, s.description, %s
        FROM (SELECT DISTINCT external_id, date, amount, description FROM {s}) s
        JOIN {contact} c ON c.workspace_id = %s AND c.external_id = s.external_id
        WHERE NOT EXISTS (
            SELECT 1 FROM {purchase} p
            WHERE p.workspace_id = %s AND p.contact_id = c.id AND p.date = s.date
              AND {same_amount} AND p.description = s.description
        )
        """,
        [workspace.pk, now_param(), workspace.pk, workspace.pk],
    )
    add_touched_sql(
        f"SELECT c.id FROM (SELECT DISTINCT external_id FROM {s}) s "
        f"JOIN {contact} c ON c.workspace_id = %s AND c.external_id = s.external_id",
        [workspace.pk],
    )
    return created


# -- contacts --------------------------------------------------------------

CONTACT_STAGING = [
    ("line", "int"),
    ("external_id", "text"),
    ("first_name", "text"),
    ("last_name", "text"),
    ("email", "text"),
    ("phone", "text"),
    ("organization", "text"),
    ("stage", "text"),
    ("relationship", "int"),
    ("source", "text"),
    ("referred_by", "text"),
    ("email_ok", "bool"),
    ("sms_ok", "bool"),
    ("address", "text"),
    ("notes", "text"),
]
# Filled in by the write, not by the file.
CONTACT_EXTRA = [("contact_id", "int"), ("org_id", "int"), ("is_new", "int")]
TAG_STAGING = [("external_id", "text"), ("tag", "text")]
PLAIN = ["first_name", "last_name", "email", "phone", "source", "notes", "address"]


def write_contacts(
    workspace, staging: Staging, tags: Staging | None, header: set[str], file_name: str
) -> tuple[int, int]:
    """Create and update the staged contacts, as the row-by-row import did:
    only the file's columns change; an imported stage only raises the
    ladder; every consent the file changes is logged; ladder history for
    new contacts and raised stages; references; tags. Returns (created,
    updated)."""
    contact, org, stage_table = (
        Contact._meta.db_table,
        Organization._meta.db_table,
        StageChange._meta.db_table,
    )
    s, ws, now, today = staging.table, workspace.pk, now_param(), date_param(workspace.today())
    execute(f"CREATE INDEX {s}_external_id ON {s} (external_id)")
    # UPDATE … FROM, a join, not a correlated subquery: PostgreSQL plans a
    # subquery per row on the table's last statistics, and a table that had
    # few rows then gets a sequential scan per staged contact.
    _lookup_contacts(s, ws)
    execute(f"UPDATE {s} SET is_new = CASE WHEN contact_id IS NULL THEN 1 ELSE 0 END")

    if "organization" in header:
        execute(
            f"""INSERT INTO {org} (workspace_id, name, created_at)
            SELECT %s, o.name, %s FROM (SELECT DISTINCT organization AS name FROM {s}
                                        WHERE organization IS NOT NULL) o
            WHERE NOT EXISTS (SELECT 1 FROM {org} x WHERE x.workspace_id = %s AND x.name = o.name)
            ORDER BY o.name""",
            [ws, now, ws],
        )
        execute(
            f"UPDATE {s} AS s SET org_id = x.id FROM {org} x "
            "WHERE x.workspace_id = %s AND x.name = s.organization",
            [ws],
        )

    # What each present column becomes, for a contact already in the record (c).
    new = {f: f"COALESCE(s.{f}, '')" for f in PLAIN if f in header}
    if "organization" in header:
        new["organization_id"] = "s.org_id"
    if "relationship" in header:
        new["relationship"] = "s.relationship"
    for flag in ("email_ok", "sms_ok"):
        if flag in header:
            new[flag] = f"COALESCE(s.{flag}, c.{flag})"
    raises = f"(s.stage IS NOT NULL AND {rank('s.stage')} > {rank('c.stage')})"
    if "stage" in header:
        new["stage"] = f"CASE WHEN {raises} THEN s.stage ELSE c.stage END"

    existing = f"FROM {s} s JOIN {contact} c ON c.id = s.contact_id WHERE s.is_new = 0"
    # The consent log and the ladder history read the values before the update.
    for flag in ("email_ok", "sms_ok"):
        if flag in header:
            _log_consent(
                flag,
                file_name,
                f"{existing} AND s.{flag} IS NOT NULL AND s.{flag} <> c.{flag}",
                [ws, now],
            )
    if "stage" in header:
        execute(
            f"""INSERT INTO {stage_table}
                (workspace_id, contact_id, from_stage, to_stage, reason, changed_at)
            SELECT %s, c.id, c.stage, s.stage, %s, %s {existing} AND {raises} ORDER BY s.line""",
            [ws, StageChange.Reason.IMPORT, now],
        )
    updated = 0
    if new:
        sets = [f"{column} = {expr}" for column, expr in new.items()]
        params: list = []
        if "relationship" in header:
            sets.append(
                f"relationship_on = CASE WHEN {distinct('s.relationship', 'c.relationship')} "
                "THEN (CASE WHEN s.relationship IS NULL THEN NULL ELSE %s END) "
                "ELSE c.relationship_on END"
            )
            params.append(today)
        changed = " OR ".join(distinct(expr, f"c.{column}") for column, expr in new.items())
        sets.append("updated_at = %s")
        params.append(now)
        updated = execute(
            f"UPDATE {contact} AS c SET {', '.join(sets)} FROM {s} s "
            f"WHERE c.id = s.contact_id AND s.is_new = 0 AND ({changed})",
            params,
        )

    created = _insert_new_contacts(workspace, s, header, now, today)
    _lookup_contacts(s, ws, " AND s.is_new = 1")
    fresh = f"FROM {s} s JOIN {contact} c ON c.id = s.contact_id WHERE s.is_new = 1"
    for flag in ("email_ok", "sms_ok"):
        if flag in header:
            _log_consent(flag, file_name, f"{fresh} AND s.{flag} = %s", [ws, now, True])
    execute(
        f"""INSERT INTO {stage_table}
            (workspace_id, contact_id, from_stage, to_stage, reason, changed_at)
        SELECT %s, c.id, '', c.stage, %s, %s {fresh} ORDER BY s.line""",
        [ws, StageChange.Reason.IMPORT, now],
    )
    if "referred_by" in header:
        # The file's referrer wins over what the record had (the file says so).
        execute(
            f"""UPDATE {contact} AS c SET referred_by_id = r.id
            FROM {s} s JOIN {contact} r ON r.workspace_id = %s AND r.external_id = s.referred_by
            WHERE c.id = s.contact_id AND s.referred_by IS NOT NULL
              AND {distinct("c.referred_by_id", "r.id")}""",
            [ws],
        )
    if tags is not None:
        _write_tags(workspace, s, tags.table)
    add_touched_sql(f"SELECT contact_id FROM {s}")
    return created, updated


def _lookup_contacts(s: str, ws: int, where: str = "") -> None:
    if not _sqlite():
        # The contacts just inserted are not in the statistics yet.
        execute(f"ANALYZE {Contact._meta.db_table}")
    execute(
        f"UPDATE {s} AS s SET contact_id = c.id FROM {Contact._meta.db_table} c "
        f"WHERE c.workspace_id = %s AND c.external_id = s.external_id{where}",
        [ws],
    )


def _log_consent(flag: str, file_name: str, source_sql: str, params: list) -> None:
    table = ConsentRecord._meta.db_table
    channel = flag.removesuffix("_ok")
    execute(
        f"""INSERT INTO {table} (workspace_id, contact_id, channel, granted, text, source,
                                 recorded_at)
        SELECT %s, c.id, %s, s.{flag},
               CASE WHEN s.{flag} THEN %s ELSE %s END, %s, %s
        {source_sql} ORDER BY s.line""",
        [
            params[0],
            channel,
            f"{flag}=true in {file_name}",
            f"{flag}=false in {file_name}",
            "import",
            params[1],
            *params[2:],
        ],
    )


def _insert_new_contacts(workspace, s: str, header: set[str], now, today) -> int:
    """INSERT … SELECT the staged contacts the record does not have yet, every
    column of the table named (those the file does not give take the model's
    default), in the file's order."""
    exprs = {
        "workspace_id": ("%s", [workspace.pk]),
        "external_id": ("s.external_id", []),
        "stage": ("COALESCE(s.stage, %s)", [Stage.PROSPECT]),
        "created_at": ("%s", [now]),
        "updated_at": ("%s", [now]),
    }
    for f in PLAIN:
        if f in header:
            exprs[f] = (f"COALESCE(s.{f}, '')", [])
    if "organization" in header:
        exprs["organization_id"] = ("s.org_id", [])
    if "relationship" in header:
        exprs["relationship"] = ("s.relationship", [])
        exprs["relationship_on"] = (
            "CASE WHEN s.relationship IS NULL THEN NULL ELSE %s END",
            [today],
        )
    for flag in ("email_ok", "sms_ok"):
        if flag in header:
            exprs[flag] = (f"COALESCE(s.{flag}, %s)", [False])
    columns, selects, params = [], [], []
    for field in Contact._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in exprs:
            sql, values = exprs[field.column]
        else:
            sql, values = "%s", [field.get_db_prep_save(field.get_default(), connection)]
        selects.append(sql)
        params += values
    return execute(
        f"INSERT INTO {Contact._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(selects)} FROM {s} s WHERE s.is_new = 1 ORDER BY s.line",
        params,
    )


def _write_tags(workspace, s: str, tag_staging: str) -> None:
    """The file's tags replace each contact's (only the difference is written,
    so a re-import changes nothing)."""
    tag = Tag._meta.db_table
    through = Contact.tags.through._meta.db_table
    ws = workspace.pk
    execute(
        f"""INSERT INTO {tag} (workspace_id, name)
        SELECT %s, t.tag FROM (SELECT DISTINCT tag FROM {tag_staging}) t
        WHERE NOT EXISTS (SELECT 1 FROM {tag} x WHERE x.workspace_id = %s AND x.name = t.tag)
        ORDER BY t.tag""",
        [ws, ws],
    )
    wanted = f"""SELECT DISTINCT s.contact_id, x.id AS tag_id FROM {tag_staging} t
        JOIN {s} s ON s.external_id = t.external_id
        JOIN {tag} x ON x.workspace_id = %s AND x.name = t.tag"""
    execute("DROP TABLE IF EXISTS rapport_import_wanted_tags")
    execute(f"CREATE TEMPORARY TABLE rapport_import_wanted_tags AS {wanted}", [ws])
    execute(
        f"""DELETE FROM {through} WHERE contact_id IN (SELECT contact_id FROM {s})
        AND NOT EXISTS (
            SELECT 1 FROM rapport_import_wanted_tags w
            WHERE w.contact_id = {through}.contact_id AND w.tag_id = {through}.tag_id
        )"""
    )
    execute(
        f"""INSERT INTO {through} (contact_id, tag_id)
        SELECT w.contact_id, w.tag_id FROM rapport_import_wanted_tags w
        WHERE NOT EXISTS (SELECT 1 FROM {through} y
                          WHERE y.contact_id = w.contact_id AND y.tag_id = w.tag_id)
        ORDER BY w.contact_id, w.tag_id"""
    )
    execute("DROP TABLE IF EXISTS rapport_import_wanted_tags")


# -- derived facts -----------------------------------------------------------


EVIDENCE = "rapport_import_evidence"


def _store_evidence(workspace) -> list[str]:
    """What the layers above count for the ladder (advocacy: referrals and
    testimonials, through clients.hooks), for the touched contacts, into a
    temporary table the promotion statement joins. Their counts come back as
    one dict per fact per chunk (grouped queries on their side); returns the
    facts given."""
    from rapport.clients import hooks

    execute(f"DROP TABLE IF EXISTS {EVIDENCE}")
    execute(f"CREATE TEMPORARY TABLE {EVIDENCE} (contact_id bigint, fact text, n bigint)")
    sources = hooks.ladder_evidence()
    if not sources:
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT contact_id FROM {TOUCHED} ORDER BY contact_id")
        ids = [row[0] for row in cursor.fetchall()]
    facts: set[str] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        rows = []
        for source in sources:
            for fact, by_contact in source(workspace, chunk).items():
                facts.add(fact)
                rows += [(pk, fact, n) for pk, n in by_contact.items() if n]
        if rows:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {EVIDENCE} (contact_id, fact, n) VALUES (%s, %s, %s)", rows
                )
    if not _sqlite():
        execute(f"ANALYZE {EVIDENCE}")
    return sorted(facts)


def promote_touched(workspace) -> list[tuple[int, str, str, str]]:
    """The ladder's automatic promotions (clients.ladder.PROMOTIONS) for every
    touched contact, set-based: the facts counted per contact and the
    strongest rung they earn in one statement, then the history rows and the
    new stages. Only ever up. Returns the changes (contact, from, to, reason)."""
    from dataclasses import fields

    from rapport.clients.models import Activity, ActivityKind, Deal, DealStage

    ws = workspace.pk
    t = TOUCHED
    purchase, deal, activity = (m._meta.db_table for m in (Purchase, Deal, Activity))
    contact, stage_table = Contact._meta.db_table, StageChange._meta.db_table
    scope = f"workspace_id = %s AND {{col}} IN (SELECT contact_id FROM {t})"

    def grouped(table, aggregates, where="", col="contact_id"):
        return (
            f"(SELECT {col} AS contact_id, {aggregates} FROM {table} "
            f"WHERE {scope.format(col=col)}{where} GROUP BY {col})"
        )

    # The record's own facts are counted here; the others come from above.
    own = {"purchases", "deals", "deals_won", "meetings"}
    _store_evidence(workspace)
    others = [f.name for f in fields(ladder.LadderFacts) if f.name not in own]
    pivot = ", ".join(
        f"SUM(CASE WHEN fact = '{name}' THEN n ELSE 0 END) AS {name}" for name in others
    )
    facts = f"""
        SELECT t.contact_id, c.stage,
               COALESCE(p.n, 0) AS purchases, COALESCE(d.n, 0) AS deals,
               COALESCE(w.n, 0) AS deals_won, COALESCE(m.n, 0) AS meetings,
               {", ".join(f"COALESCE(ev.{name}, 0) AS {name}" for name in others)}
        FROM {t} t JOIN {contact} c ON c.id = t.contact_id
        LEFT JOIN {grouped(purchase, "COUNT(DISTINCT date) AS n")} p ON p.contact_id = t.contact_id
        LEFT JOIN {grouped(deal, "COUNT(*) AS n")} d ON d.contact_id = t.contact_id
        LEFT JOIN {grouped(deal, "COUNT(*) AS n", " AND stage IN (%s, %s)")} w
               ON w.contact_id = t.contact_id
        LEFT JOIN {grouped(activity, "COUNT(*) AS n", " AND kind = %s")} m
               ON m.contact_id = t.contact_id
        LEFT JOIN (SELECT contact_id, {pivot} FROM {EVIDENCE} GROUP BY contact_id) ev
               ON ev.contact_id = t.contact_id
    """
    facts_params = [ws, ws, ws, DealStage.WON, DealStage.COMPLETED, ws, ActivityKind.MEETING]
    # The strongest promotion that applies, ties to the later one (best_promotion).
    ordered = sorted(
        enumerate(ladder.sql_promotions()), key=lambda p: (Stage.rank(p[1][1]), p[0]), reverse=True
    )
    to_stage = " ".join(
        f"WHEN {test} THEN '{Stage(stage).value}'" for _, (_, stage, test) in ordered
    )
    reason = " ".join(
        f"WHEN {test} THEN '{StageChange.Reason(why).value}'" for _, (why, _, test) in ordered
    )
    execute("DROP TABLE IF EXISTS rapport_import_promoted")
    execute(
        "CREATE TEMPORARY TABLE rapport_import_promoted "
        "(contact_id bigint PRIMARY KEY, from_stage text, to_stage text, reason text)"
    )
    execute(
        f"""INSERT INTO rapport_import_promoted (contact_id, from_stage, to_stage, reason)
        SELECT contact_id, stage, to_stage, reason FROM (
            SELECT f.contact_id, f.stage, CASE {to_stage} END AS to_stage,
                   CASE {reason} END AS reason
            FROM ({facts}) f
        ) e WHERE to_stage IS NOT NULL AND {rank("to_stage")} > {rank("stage")}""",
        facts_params,
    )
    execute(
        f"""INSERT INTO {stage_table}
            (workspace_id, contact_id, from_stage, to_stage, reason, changed_at)
        SELECT %s, contact_id, from_stage, to_stage, reason, %s FROM rapport_import_promoted
        ORDER BY contact_id""",
        [ws, now_param()],
    )
    execute(
        f"UPDATE {contact} SET stage = p.to_stage FROM rapport_import_promoted p "
        f"WHERE {contact}.id = p.contact_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT contact_id, from_stage, to_stage, reason FROM rapport_import_promoted "
            "ORDER BY contact_id"
        )
        changes = [tuple(row) for row in cursor.fetchall()]
    execute("DROP TABLE IF EXISTS rapport_import_promoted")
    execute(f"DROP TABLE IF EXISTS {EVIDENCE}")
    return changes


def analyze(models, temporary=()) -> None:
    """Fresh planner statistics for the tables a bulk load changed: without
    them PostgreSQL plans the next aggregate over a million new rows as if
    the table were empty (a nested loop that ran for minutes)."""
    tables = sorted({m._meta.db_table for m in models})
    with connection.cursor() as cursor:
        if _sqlite():
            # (Not the temporary tables: their statistics would go to a
            # temp.sqlite_stat1 that hides the main one from plain queries.)
            # A sample is enough for the planner, and keeps ANALYZE to
            # milliseconds on a large table (SQLite ≥ 3.32).
            cursor.execute("PRAGMA analysis_limit = 1000")
            for table in tables:
                cursor.execute(f"ANALYZE {table}")
            cursor.execute("PRAGMA analysis_limit = 0")
        else:
            cursor.execute(f"ANALYZE {', '.join(tables + list(temporary))}")
