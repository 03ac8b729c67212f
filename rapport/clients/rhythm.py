"""Each client's own rhythm: the median gap between purchase days, and
their usual spend per purchase.

The median, not the mean: one long holiday should not make a six-weekly
client look like a quarterly one. It needs every purchase date, so it is not
recomputed by the agenda's daily pass (which reads one aggregate row per
contact); it is stored on the contact, updated when purchases are written
and once a night for the whole workspace.
"""

import numpy as np
from django.db import connection, transaction

from rapport.clients.models import Contact, Purchase


def medians(contacts: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median gap per contact, vectorised: (contact ids, medians) for every
    contact with at least two distinct purchase days. Input need not be sorted."""
    if len(contacts) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=float)
    order = np.lexsort((days, contacts))
    contacts, days = contacts[order], days[order]
    same = contacts[1:] == contacts[:-1]
    gaps = (days[1:] - days[:-1]).astype(float)
    keep = same & (gaps > 0)  # one purchase a day: repeats the same day are not gaps
    owners, gaps = contacts[1:][keep], gaps[keep]
    if len(gaps) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=float)
    order = np.lexsort((gaps, owners))
    owners, gaps = owners[order], gaps[order]
    ids, start, count = np.unique(owners, return_index=True, return_counts=True)
    low = gaps[start + (count - 1) // 2]
    high = gaps[start + count // 2]
    return ids, (low + high) / 2


def typical_amounts(contacts: np.ndarray, amounts: np.ndarray) -> dict[int, float]:
    """Mean amount per contact over the purchases that have one, vectorised."""
    known = ~np.isnan(amounts)
    if not known.any():
        return {}
    ids, inverse = np.unique(contacts[known], return_inverse=True)
    sums = np.bincount(inverse, weights=amounts[known])
    counts = np.bincount(inverse)
    return dict(zip(ids.tolist(), np.round(sums / counts, 2).tolist(), strict=True))


def first_amounts(contacts: np.ndarray, days: np.ndarray, amounts: np.ndarray) -> dict:
    """The amount of each contact's first purchase (the earliest with an
    amount; several on that day are added up), vectorised."""
    known = ~np.isnan(amounts)
    if not known.any():
        return {}
    contacts, days, amounts = contacts[known], days[known], amounts[known]
    order = np.lexsort((days, contacts))
    contacts, days, amounts = contacts[order], days[order], amounts[order]
    ids, start = np.unique(contacts, return_index=True)
    first_day = np.repeat(days[start], np.diff(np.append(start, len(contacts))))
    on_first = days == first_day
    totals = np.bincount(np.searchsorted(ids, contacts[on_first]), weights=amounts[on_first])
    return dict(zip(ids.tolist(), np.round(totals, 2).tolist(), strict=True))


def update(workspace, contact_ids=None, *, scope_table: str | None = None) -> int:
    """Recompute and store the rhythm of some contacts (None: all; or those
    listed in a table with a `contact_id` column), set-based: one statement
    whatever their number. Returns how many contacts changed.

    The same figures as `medians`, `typical_amounts` and `first_amounts`
    (which the tests pin down), computed by the database: the median gap
    with window functions, rounded half to even as NumPy's `rint` does.
    """
    params_scope: list = []
    scope = ""
    if contact_ids is not None:
        ids = sorted(set(contact_ids))
        if not ids:
            return 0
        if len(ids) <= 500:
            scope = f" AND contact_id IN ({', '.join(['%s'] * len(ids))})"
            params_scope = ids
        else:
            scope_table = _ids_table(ids)
    if scope_table:
        scope = f" AND contact_id IN (SELECT contact_id FROM {scope_table})"
    purchase, contact = Purchase._meta.db_table, Contact._meta.db_table
    sqlite = connection.vendor == "sqlite"
    gap = "CAST(julianday(date) - julianday(prev) AS INTEGER)" if sqlite else "(date - prev)"
    distinct = "IS NOT" if sqlite else "IS DISTINCT FROM"
    contact_scope = scope.replace("contact_id", f"{contact}.id", 1)
    sql = f"""
        WITH days AS (
            SELECT DISTINCT contact_id, date FROM {purchase} WHERE workspace_id = %s{scope}
        ), gaps AS (
            SELECT contact_id, {gap} AS gap FROM (
                SELECT contact_id, date,
                       LAG(date) OVER (PARTITION BY contact_id ORDER BY date) AS prev
                FROM days
            ) d WHERE prev IS NOT NULL
        ), ranked AS (
            SELECT contact_id, gap,
                   ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY gap) AS rn,
                   COUNT(*) OVER (PARTITION BY contact_id) AS n
            FROM gaps
        ), middle AS (
            -- the middle gap, or the two middle ones: their sum s over k of them
            SELECT contact_id, SUM(gap) AS s, COUNT(*) AS k FROM ranked
            WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2 GROUP BY contact_id
        ), medians AS (
            -- s / 2 rounded half to even, in integers (NumPy's rint)
            SELECT contact_id, CASE WHEN k = 1 THEN s WHEN s %% 2 = 0 THEN s / 2
                                    WHEN (s / 2) %% 2 = 0 THEN s / 2 ELSE s / 2 + 1 END AS rhythm
            FROM middle
        ), spend AS (
            SELECT contact_id, CAST(ROUND(AVG(amount), 2) AS DOUBLE PRECISION) AS typical,
                   MIN(date) AS first_day
            FROM {purchase} WHERE workspace_id = %s AND amount IS NOT NULL{scope}
            GROUP BY contact_id
        ), firsts AS (
            SELECT p.contact_id, CAST(ROUND(SUM(p.amount), 2) AS DOUBLE PRECISION) AS fst
            FROM {purchase} p JOIN spend ON spend.contact_id = p.contact_id
                                        AND p.date = spend.first_day
            WHERE p.workspace_id = %s AND p.amount IS NOT NULL GROUP BY p.contact_id
        ), fresh AS (
            SELECT {contact}.id AS contact_id, medians.rhythm, spend.typical, firsts.fst
            FROM {contact}
            LEFT JOIN medians ON medians.contact_id = {contact}.id
            LEFT JOIN spend ON spend.contact_id = {contact}.id
            LEFT JOIN firsts ON firsts.contact_id = {contact}.id
            WHERE {contact}.workspace_id = %s{contact_scope}
        )
        UPDATE {contact} SET rhythm_days = fresh.rhythm, typical_amount = fresh.typical,
                             first_amount = fresh.fst
        FROM fresh
        WHERE {contact}.id = fresh.contact_id
          AND ({contact}.rhythm_days {distinct} fresh.rhythm
               OR {contact}.typical_amount {distinct} fresh.typical
               OR {contact}.first_amount {distinct} fresh.fst)
    """
    ws = [workspace.pk]
    params = ws + params_scope + ws + params_scope + ws + ws + params_scope
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount >= 0:
            return cursor.rowcount
        # Python's sqlite3 gives no rowcount for a statement that starts WITH.
        cursor.execute("SELECT changes()")
        return cursor.fetchone()[0]


def _ids_table(ids: list[int]) -> str:
    """A temporary table of contact ids, for a scope too long for IN (...)."""
    table = "rapport_rhythm_ids"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMPORARY TABLE {table} (contact_id INTEGER PRIMARY KEY)")
        cursor.executemany(f"INSERT INTO {table} (contact_id) VALUES (%s)", [(i,) for i in ids])
    return table
