"""Contact search through an index (migration 0006_contact_search_index).

Every word typed must match something: a substring of the name, email,
phone or organization (case-insensitive), or the contact's external id
exactly. A number typed the local way ("(555) 222-3333") is also looked
for by its digits, since phones are stored as E.164. The same rules as
`ContactQuerySet.search`, which scans every row with LIKE; here each word
is one indexed lookup:

- SQLite: the FTS5 trigram table (MATCH on a quoted phrase is a substring
  match through the index);
- PostgreSQL: ILIKE '%word%' on the expressions the pg_trgm GIN indexes
  cover.

A trigram index cannot look up fewer than three characters; a word that
short falls back to the scan (`ContactQuerySet.search`), which is what it
was before and is rare in practice.
"""

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from rapport.lib import phones

TABLE = "clients_contact_search"
# Keep in step with the index expression in migration 0006.
PG_TEXT = "(first_name || ' ' || last_name || ' ' || email || ' ' || phone)"
TRIGRAM = 3


def _fts_phrase(text: str) -> str:
    # An FTS5 string: double quotes doubled. Inside a phrase no operator or
    # column name is interpreted, so any typed text is safe.
    return '"' + text.replace('"', '""') + '"'


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _ids_matching(workspace_id: int, word: str, digits: str | None) -> RawSQL:
    """The ids of the workspace's contacts that `word` matches, as one subquery."""
    ids = [word, word.upper()]
    if connection.vendor == "postgresql":
        sql = [
            f"SELECT id FROM clients_contact WHERE workspace_id = %s AND {PG_TEXT} ILIKE %s",
            "SELECT c.id FROM clients_contact c JOIN clients_organization o "
            "ON o.id = c.organization_id WHERE o.workspace_id = %s AND o.name ILIKE %s",
        ]
        params = [workspace_id, _like(word), workspace_id, _like(word)]
        if digits and len(digits) >= TRIGRAM:
            sql.append("SELECT id FROM clients_contact WHERE workspace_id = %s AND phone LIKE %s")
            params += [workspace_id, _like(digits)]
    else:
        match = _fts_phrase(word)
        if digits and len(digits) >= TRIGRAM:
            match = f"{match} OR phone : {_fts_phrase(digits)}"
        sql = [f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s AND workspace_id = %s"]
        params = [match, workspace_id]
    # The external id exactly (as typed, or upper case: ids are mostly
    # upper case), through the (workspace, external_id) unique index.
    sql.append("SELECT id FROM clients_contact WHERE workspace_id = %s AND external_id IN (%s, %s)")
    params += [workspace_id, *ids]
    return RawSQL(" UNION ".join(sql), params)


def search(contacts, workspace, text: str):
    """`contacts` (a Contact queryset of `workspace`) narrowed to those `text` matches."""
    region = workspace.phone_region
    whole = phones.search_digits(text, region) if region else None
    query = Q()
    for word in text.split():
        digits = phones.search_digits(word, region) if region else None
        if len(word) < TRIGRAM:
            # Too short for the index: the scan, for this word only.
            query &= Q(
                pk__in=contacts.model.objects.filter(workspace=workspace).search(word, region)
            )
            continue
        query &= Q(pk__in=_ids_matching(workspace.pk, word, digits))
    if whole and whole.startswith("+") and len(whole) >= TRIGRAM:
        # The whole text as one number ("+1 555 222 3333" typed with spaces).
        query |= Q(pk__in=_ids_matching(workspace.pk, whole, whole))
    return contacts.filter(query)
