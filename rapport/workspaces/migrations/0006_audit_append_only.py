"""The security log is append-only: triggers refuse UPDATE and DELETE on
workspaces_auditevent, on SQLite and on PostgreSQL alike, whoever asks
(the application, the admin, a shell). Other databases get no trigger."""

from django.db import migrations

TABLE = "workspaces_auditevent"

SQLITE = [
    f"""CREATE TRIGGER audit_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'the security log is append-only: UPDATE refused'); END""",
    f"""CREATE TRIGGER audit_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'the security log is append-only: DELETE refused'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS audit_no_update",
    "DROP TRIGGER IF EXISTS audit_no_delete",
]

POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION rapport_audit_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the security log is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$""",
    f"""CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION rapport_audit_append_only()""",
]
POSTGRESQL_REVERSE = [
    f"DROP TRIGGER IF EXISTS audit_append_only ON {TABLE}",
    "DROP FUNCTION IF EXISTS rapport_audit_append_only()",
]


def forwards(apps, schema_editor):
    statements = {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(schema_editor.connection.vendor)
    for statement in statements or []:
        schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    statements = {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}.get(
        schema_editor.connection.vendor
    )
    for statement in statements or []:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("workspaces", "0005_roles_rate_limits_and_audit")]

    operations = [migrations.RunPython(forwards, backwards)]
