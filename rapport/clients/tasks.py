"""Background work for the record: a large web import runs here, not in the
request, with its progress where the import page can read it.

The progress is a small JSON file beside the uploaded batch, not a database
row: the import writes each file in one transaction, and on SQLite that
transaction holds the database's only write lock until the file is in, so a
progress row could not be updated (nor, on PostgreSQL, seen) before the end.
"""

import json
import logging
import os
import time
from pathlib import Path

from django.conf import settings
from django.http import Http404
from django_tasks import task

from rapport.clients import imports
from rapport.lib.progress import Progress

log = logging.getLogger(__name__)

STATUS = "status.json"


def batch_dir(workspace, batch: str) -> Path:
    """Where an uploaded batch waits: inside its workspace's folder, under an
    unguessable id (anything but letters and digits is refused)."""
    if not batch.isalnum():
        raise Http404("No such import.")
    return Path(settings.MEDIA_ROOT) / "imports" / str(workspace.pk) / batch


def read_status(folder: Path) -> dict | None:
    try:
        return json.loads((folder / STATUS).read_text())
    except FileNotFoundError:
        return None


def write_status(folder: Path, status: dict) -> None:
    # Written whole and renamed into place: a reader never sees half a file.
    temporary = folder / f".{STATUS}.tmp"
    temporary.write_text(json.dumps(status))
    os.replace(temporary, folder / STATUS)


class StatusFile(Progress):
    """Progress into the batch's status file, at most once a second."""

    def __init__(self, folder: Path, every: float = 1.0) -> None:
        super().__init__()
        self.folder, self.every, self.last = folder, every, 0.0

    def changed(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < self.every:
            return
        self.last = now
        write_status(
            self.folder,
            {
                "state": "running",
                "phase": self.name,
                "done": self.done,
                "total": self.total,
                "phases": self.phases,
            },
        )


def report_dict(report: imports.FileReport) -> dict:
    return {
        "name": report.name,
        "kind": report.kind,
        "rows": report.rows,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "imported": report.imported,
        "errors": [str(e) for e in report.errors],
    }


def run_batch(workspace, batch: str, *, actor=None, request=None) -> list[imports.FileReport]:
    """Import an uploaded batch (files streamed from disk), record it in the
    audit log, and leave only its status behind."""
    from rapport.workspaces import audit

    folder = batch_dir(workspace, batch)
    paths = sorted(folder.glob("*.csv"))
    progress = StatusFile(folder)
    try:
        reports = imports.import_files(workspace, [(p.name, p) for p in paths], progress=progress)
    except Exception as error:
        log.exception("import %s of %s failed", batch, workspace.slug)
        write_status(folder, {"state": "failed", "error": str(error) or type(error).__name__})
        raise
    audit.record(
        audit.Kind.IMPORT,
        workspace=workspace,
        actor=actor,
        target=f"import:{batch}",
        detail={
            r.name: {"imported": bool(r.imported), "created": r.created, "updated": r.updated}
            for r in reports
        },
        request=request,
    )
    for path in paths:
        path.unlink(missing_ok=True)
    write_status(
        folder,
        {"state": "done", "phases": progress.phases, "reports": [report_dict(r) for r in reports]},
    )
    return reports


@task()
def import_batch(workspace_id: int, batch: str, user_id: int | None = None) -> dict:
    from django.contrib.auth import get_user_model

    from rapport.workspaces.models import Workspace

    workspace = Workspace.objects.get(pk=workspace_id)
    actor = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    reports = run_batch(workspace, batch, actor=actor)
    return {"files": [report_dict(r) for r in reports]}
