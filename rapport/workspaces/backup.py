"""`rapport backup PATH` and `rapport restore PATH`.

SQLite: the online backup API (sqlite3.Connection.backup) copies the
database in one step, as one consistent snapshot, while the web server and
the worker go on writing (WAL lets them). The copy is a single file in
rollback-journal mode, checked with `PRAGMA integrity_check` before it is
moved into place, so PATH is either the previous file or a whole new backup.

PostgreSQL: `pg_dump --format=custom` (a consistent snapshot too), restored
with `pg_restore` in one transaction; a plain SQL dump is restored with
`psql`.

Restore refuses a database that holds data unless told `force`: a restore
replaces everything in it.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.db import connections

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
# What `migrate` itself writes into a new database: it does not make one
# "non-empty".
BOOKKEEPING = {"django_migrations", "django_content_type", "auth_permission", "django_session"}


class BackupError(Exception):
    pass


def _database(alias="default") -> dict:
    return connections[alias].settings_dict


def vendor(alias="default") -> str:
    return connections[alias].vendor


def backup(path: Path, alias="default") -> dict:
    """Write a backup of the database to `path`; returns what was done."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = vendor(alias)
    if kind == "sqlite":
        return _backup_sqlite(Path(_database(alias)["NAME"]), path)
    if kind == "postgresql":
        return _backup_postgresql(_database(alias), path)
    raise BackupError(f"backups of {kind} databases are not supported")


def restore(path: Path, *, force: bool = False, alias="default") -> dict:
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    kind = vendor(alias)
    if not force and not is_empty(alias):
        raise BackupError(
            "the database already holds data; a restore replaces all of it. "
            "Run again with --force to do that."
        )
    head = path.read_bytes()[:16]
    if kind == "sqlite":
        if not head.startswith(SQLITE_MAGIC):
            raise BackupError(f"{path} is not a SQLite backup (the database is SQLite)")
        connections[alias].close()
        return _restore_sqlite(path, Path(_database(alias)["NAME"]))
    if kind == "postgresql":
        if head.startswith(SQLITE_MAGIC):
            raise BackupError(f"{path} is a SQLite backup; the database is PostgreSQL")
        connections[alias].close()
        return _restore_postgresql(_database(alias), path, custom=head.startswith(PG_CUSTOM_MAGIC))
    raise BackupError(f"restores of {kind} databases are not supported")


def is_empty(alias="default") -> bool:
    connection = connections[alias]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in BOOKKEEPING:
                continue
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
            if cursor.fetchone():
                return False
    return True


# -- SQLite ------------------------------------------------------------------


def _integrity(db: sqlite3.Connection) -> str:
    return ", ".join(row[0] for row in db.execute("PRAGMA integrity_check").fetchall())


def _backup_sqlite(source_path: Path, path: Path) -> dict:
    if not source_path.exists():
        raise BackupError(f"{source_path}: the database does not exist")
    partial = path.with_name(path.name + ".part")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    target = sqlite3.connect(partial)
    try:
        # pages=-1: every page in one step, under one read transaction — a
        # snapshot of one moment, however much is written meanwhile.
        source.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        result = _integrity(target)
    finally:
        target.close()
        source.close()
    if result != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {result}")
    os.replace(partial, path)
    return {"engine": "sqlite", "path": str(path), "bytes": path.stat().st_size}


def _restore_sqlite(path: Path, target_path: Path) -> dict:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = _integrity(source)
        if result != "ok":
            raise BackupError(f"{path} fails its integrity check: {result}")
        target_path.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(target_path, timeout=30)
        try:
            # Page by page into the live file, in one transaction: other
            # connections see the old database or the restored one.
            source.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode=WAL")
            result = _integrity(target)
        finally:
            target.close()
    finally:
        source.close()
    if result != "ok":
        raise BackupError(f"the restored database fails its integrity check: {result}")
    return {"engine": "sqlite", "path": str(target_path)}


# -- PostgreSQL --------------------------------------------------------------


def _pg_env(database: dict) -> dict:
    env = {**os.environ}
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if database.get(key):
            env[name] = str(database[key])
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = database["PASSWORD"]
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools "
            "(Debian/Ubuntu: apt-get install postgresql-client)"
        )
    return found


def _run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()}")


def _backup_postgresql(database: dict, path: Path) -> dict:
    partial = path.with_name(path.name + ".part")
    command = [_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}"]
    _run([*command, database["NAME"]], _pg_env(database))
    os.replace(partial, path)
    return {"engine": "postgresql", "path": str(path), "bytes": path.stat().st_size}


def _restore_postgresql(database: dict, path: Path, *, custom: bool) -> dict:
    env = _pg_env(database)
    if custom:
        command = [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={database['NAME']}",
            str(path),
        ]
    else:
        command = [
            _tool("psql"),
            "--no-psqlrc",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={database['NAME']}",
            f"--file={path}",
        ]
    _run(command, env)
    return {"engine": "postgresql", "database": database["NAME"]}
