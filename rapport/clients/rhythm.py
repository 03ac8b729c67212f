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


def update(workspace, contact_ids=None) -> int:
    """Recompute and store the rhythm of some contacts (None: all)."""
    table = Purchase._meta.db_table
    sql = f"SELECT contact_id, date, amount FROM {table} WHERE workspace_id = %s"
    params: list = [workspace.pk]
    if contact_ids is not None:
        contact_ids = sorted(set(contact_ids))
        if not contact_ids:
            return 0
        sql += f" AND contact_id IN ({', '.join(['%s'] * len(contact_ids))})"
        params += contact_ids
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if rows:
        contacts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        days = np.array([r[1] for r in rows], dtype="datetime64[D]").astype(np.int64)
        amounts = np.array([r[2] for r in rows], dtype=float)  # None → NaN
    else:
        contacts = days = np.array([], dtype=np.int64)
        amounts = np.array([], dtype=float)
    ids, values = medians(contacts, days)
    rhythm = dict(zip(ids.tolist(), np.rint(values).astype(int).tolist(), strict=True))
    typical = typical_amounts(contacts, amounts)
    first = first_amounts(contacts, days, amounts)
    scope = Contact.objects.filter(workspace=workspace)
    if contact_ids is not None:
        scope = scope.filter(pk__in=contact_ids)
    changed = []
    fields = ["rhythm_days", "typical_amount", "first_amount"]
    for contact in scope.only("pk", *fields):
        values = (rhythm.get(contact.pk), typical.get(contact.pk), first.get(contact.pk))
        if (contact.rhythm_days, contact.typical_amount, contact.first_amount) != values:
            contact.rhythm_days, contact.typical_amount, contact.first_amount = values
            changed.append(contact)
    with transaction.atomic():
        Contact.objects.bulk_update(changed, fields, batch_size=1000)
    return len(changed)
