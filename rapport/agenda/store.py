"""Storing a day's agenda: the items, and each contact's readiness.

The only writer of the agenda. The morning job and every change to the
facts call `refresh`; reading an agenda (Today, the command line for any
date, a report) builds it without storing anything.
"""

import datetime as dt
import gc
import json
from contextlib import contextmanager

import numpy as np
from django.db import connection, transaction

from rapport.agenda.engine import build
from rapport.agenda.models import AgendaItem
from rapport.clients.models import Contact
from rapport.workspaces.models import Workspace

# One encoder, made once: json.dumps(..., ensure_ascii=False) would build a
# new encoder for each of the tens of thousands of values a refresh writes.
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _insert_items(rows: list[tuple]) -> None:
    # Not bulk_create: the morning refresh writes tens of thousands of items,
    # and the ORM spends most of that time preparing values field by field
    # (measured: 1.1 s of a 2.7 s refresh at 20,000 contacts). PostgreSQL
    # takes them by COPY, SQLite by executemany. The columns are the model's.
    names = [
        "workspace",
        "contact",
        "date",
        "action",
        "key",
        "moments",
        "priority",
        "readiness",
        "why",
        "script_key",
        "fields",
    ]
    meta = AgendaItem._meta
    columns = ", ".join(meta.get_field(name).column for name in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {meta.db_table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start : start + 5000])


@contextmanager
def _collector_paused():
    """Python's cyclic collector paused while a refresh builds its rows: it
    allocates a few tuples per contact and per fact, none of them in cycles,
    and each full collection walks every live object — at 100,000 contacts
    that was ~15% of the refresh's CPU, and more the larger the workspace.
    It runs again, as usual, afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def refresh(workspace, on: dt.date | None = None, contact_ids=None) -> int:
    """Rebuild the stored agenda (all of it, or some contacts') for a day.

    Also stores each contact's readiness, so the contacts list can filter on
    it. Returns the number of items.
    """
    on = on or workspace.today()
    with _collector_paused():
        return _refresh(workspace, on, contact_ids)


def _refresh(workspace, on: dt.date, contact_ids) -> int:
    items, snapshot, _ = build(workspace, on, contact_ids, render_scripts=False)
    encoded_moments: dict[tuple, str] = {}  # few distinct lists: encode each once
    rows = []
    for item in items:
        moments = tuple(item.moments)
        if moments not in encoded_moments:
            encoded_moments[moments] = _to_json(item.moments)
        rows.append(
            (
                workspace.pk,
                item.contact_id,
                on,
                item.action,
                item.key,
                encoded_moments[moments],
                item.priority,
                item.readiness,
                "\n".join(item.why),
                item.script_key,
                _to_json(item.fields),
            )
        )
    moved = snapshot.stored_readiness != snapshot.readiness
    changed = {
        int(value): snapshot.ids[moved & (snapshot.readiness == value)].tolist()
        for value in np.unique(snapshot.readiness[moved])
    }
    with transaction.atomic():
        stale = AgendaItem.objects.filter(workspace=workspace)
        if contact_ids is not None:
            stale = stale.filter(contact_id__in=contact_ids)
        stale._raw_delete(stale.db)  # no signals or cascades to run: one DELETE
        _insert_items(rows)
        # One UPDATE per distinct readiness value (at most 101), not per contact.
        for value, pks in changed.items():
            for start in range(0, len(pks), 5000):
                Contact.objects.filter(pk__in=pks[start : start + 5000]).update(readiness=value)
        if contact_ids is None:
            Workspace.objects.filter(pk=workspace.pk).update(agenda_date=on)
            workspace.agenda_date = on
    return len(rows)
