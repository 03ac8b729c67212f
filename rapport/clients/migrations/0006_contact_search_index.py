"""The contacts list's search index (rapport.clients.search).

SQLite: an FTS5 table with the trigram tokenizer (substring matches, as
`icontains` gave, but through an index), one row per contact (rowid = the
contact's id), kept in step by triggers — so every writer (the ORM, the
bulk import's executemany, a raw UPDATE) keeps it current without knowing
of it. PostgreSQL: pg_trgm GIN indexes on the same text, which serve
ILIKE '%word%' directly; no copy of the text to keep in step.

Not a model: Django has no field for either, and nothing reads it through
the ORM.
"""

from django.db import migrations

TABLE = "clients_contact_search"

# What is searched: the name, email, phone (E.164) and the organization.
SQLITE_ROW = (
    "NEW.id, NEW.workspace_id, NEW.first_name || ' ' || NEW.last_name, NEW.email, NEW.phone, "
    "COALESCE((SELECT name FROM clients_organization WHERE id = NEW.organization_id), '')"
)

SQLITE_FORWARD = [
    f"""CREATE VIRTUAL TABLE {TABLE} USING fts5(
        workspace_id UNINDEXED, name, email, phone, company, tokenize = 'trigram')""",
    f"""INSERT INTO {TABLE} (rowid, workspace_id, name, email, phone, company)
        SELECT c.id, c.workspace_id, c.first_name || ' ' || c.last_name, c.email, c.phone,
               COALESCE(o.name, '')
        FROM clients_contact c LEFT JOIN clients_organization o ON o.id = c.organization_id""",
    f"""CREATE TRIGGER clients_contact_search_insert AFTER INSERT ON clients_contact BEGIN
        INSERT INTO {TABLE} (rowid, workspace_id, name, email, phone, company)
        VALUES ({SQLITE_ROW});
    END""",
    # Only when a searched column changes: the agenda rewrites readiness on
    # thousands of contacts each morning, and that must not touch the index.
    f"""CREATE TRIGGER clients_contact_search_update AFTER UPDATE ON clients_contact
    WHEN OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name
      OR OLD.email IS NOT NEW.email OR OLD.phone IS NOT NEW.phone
      OR OLD.organization_id IS NOT NEW.organization_id BEGIN
        DELETE FROM {TABLE} WHERE rowid = OLD.id;
        INSERT INTO {TABLE} (rowid, workspace_id, name, email, phone, company)
        VALUES ({SQLITE_ROW});
    END""",
    f"""CREATE TRIGGER clients_contact_search_delete AFTER DELETE ON clients_contact BEGIN
        DELETE FROM {TABLE} WHERE rowid = OLD.id;
    END""",
    f"""CREATE TRIGGER clients_organization_search_rename AFTER UPDATE OF name
    ON clients_organization WHEN OLD.name IS NOT NEW.name BEGIN
        UPDATE {TABLE} SET company = NEW.name
        WHERE rowid IN (SELECT id FROM clients_contact WHERE organization_id = NEW.id);
    END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS clients_organization_search_rename",
    "DROP TRIGGER IF EXISTS clients_contact_search_delete",
    "DROP TRIGGER IF EXISTS clients_contact_search_update",
    "DROP TRIGGER IF EXISTS clients_contact_search_insert",
    f"DROP TABLE IF EXISTS {TABLE}",
]

# The expression must match rapport.clients.search.PG_TEXT exactly for the
# planner to use the index. `||` on text is immutable (concat() is not).
PG_TEXT = "(first_name || ' ' || last_name || ' ' || email || ' ' || phone)"
PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS clients_contact_search_trgm ON clients_contact "
    f"USING gin ({PG_TEXT} gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS clients_organization_search_trgm ON clients_organization "
    "USING gin (name gin_trgm_ops)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS clients_organization_search_trgm",
    "DROP INDEX IF EXISTS clients_contact_search_trgm",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        with schema_editor.connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0005_contact_address"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": PG_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": PG_BACKWARD}),
        ),
    ]
