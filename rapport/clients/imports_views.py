"""Import from the browser: upload, preview (first rows and every error), confirm.

Uploaded files wait on disk under an unguessable batch id, inside a folder of
the workspace, until the user confirms; nothing is written to the record
before that, and a batch of one workspace cannot be reached from another.
"""

import itertools
import secrets
import shutil
from pathlib import Path

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from rapport.clients import examples, imports, tasks
from rapport.lib import csvimport
from rapport.workspaces.access import import_required

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PREVIEW_ROWS = 5


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    # Django's documented way to take several files in one field.
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".csv,text/csv"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = data if isinstance(data, list | tuple) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="CSV files",
        help_text="One or more of: contacts, purchases, activities, deals, issues, permissions, "
        "referrals.",
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        for upload in files:
            if upload.size > MAX_UPLOAD_BYTES:
                raise forms.ValidationError(f"{upload.name} is larger than 20 MB.")
            if not upload.name.lower().endswith(".csv"):
                raise forms.ValidationError(f"{upload.name} is not a .csv file.")
        return files


# Past either size, the import runs as a background task and the page follows
# its progress: a request should not hold a browser for a minute.
BACKGROUND_BYTES = 1024 * 1024
BACKGROUND_ROWS = 5000


def _batch_dir(workspace, batch: str) -> Path:
    return tasks.batch_dir(workspace, batch)


def _batch_files(folder: Path) -> list[tuple[str, Path]]:
    if not folder.is_dir():
        raise Http404("No such import: it may have been imported or cancelled already.")
    return [(path.name, path) for path in sorted(folder.glob("*.csv"))]


def _is_large(files: list[tuple[str, Path]]) -> bool:
    if sum(path.stat().st_size for _, path in files) > BACKGROUND_BYTES:
        return True
    return sum(csvimport.count_lines(path) for _, path in files) > BACKGROUND_ROWS


@import_required
def import_upload(request):
    if request.method == "POST" and "examples" in request.POST:
        # The example files, dated from today (rapport.clients.examples), to
        # the same preview as an upload: nothing is written before Import.
        batch = secrets.token_hex(16)
        folder = _batch_dir(request.workspace, batch)
        folder.mkdir(parents=True)
        for name, data in examples.files(request.workspace.today()):
            (folder / name).write_bytes(data)
        return redirect("clients:import_preview", batch=batch)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        batch = secrets.token_hex(16)
        folder = _batch_dir(request.workspace, batch)
        folder.mkdir(parents=True)
        for upload in form.cleaned_data["files"]:
            name = Path(upload.name).name.replace("/", "_")
            with open(folder / name, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
        return redirect("clients:import_preview", batch=batch)
    context = {"form": form, "kinds": imports.KINDS, "nav": "import"}
    return TemplateResponse(request, "clients/import_upload.html", context)


def _report_messages(request, reports: list[dict]) -> None:
    for report in reports:
        if report["imported"]:
            messages.success(
                request,
                f"{report['name']}: {report['created']} added, {report['updated']} updated, "
                f"{report['unchanged']} unchanged.",
            )
        else:
            messages.error(
                request, f"{report['name']}: not imported ({len(report['errors'])} errors)."
            )


@import_required
def import_preview(request, batch):
    workspace = request.workspace
    folder = _batch_dir(workspace, batch)
    if folder.is_dir() and tasks.read_status(folder) is not None:
        return redirect("clients:import_status", batch=batch)  # already started
    files = _batch_files(folder)
    if request.method == "POST":
        if "cancel" in request.POST:
            shutil.rmtree(folder, ignore_errors=True)
            messages.info(request, "Import cancelled; nothing was written.")
            return redirect("clients:import")
        if _is_large(files):
            tasks.write_status(folder, {"state": "queued", "phases": []})
            tasks.import_batch.enqueue(workspace.pk, batch, request.user.pk)
            return redirect("clients:import_status", batch=batch)
        reports = tasks.run_batch(workspace, batch, request=request)
        shutil.rmtree(folder, ignore_errors=True)
        _report_messages(request, [tasks.report_dict(r) for r in reports])
        return redirect("clients:list")
    large = _is_large(files)
    if large:
        # A large batch is checked in full by the import itself (in the
        # background, every error listed on its page): the preview reads only
        # the headers and the first rows, so it opens at once.
        checked = [_glance(name, path) for name, path in files]
    else:
        checked = imports.check(workspace, files, preview_rows=PREVIEW_ROWS)
    previews = [
        {
            "file": file,
            "columns": file.parsed.header,
            # As they will be stored, written for people ("family, hygiene",
            # "yes"), not as Python would print them.
            "rows": [
                [csvimport.display(row.values.get(col)) for col in file.parsed.header]
                for row in file.preview
            ],
        }
        for file in checked
    ]
    context = {
        "previews": previews,
        "batch": batch,
        "any_valid": any(not f.errors for f in checked),
        "all_valid": all(not f.errors for f in checked),
        "large": large,
        "nav": "import",
    }
    return TemplateResponse(request, "clients/import_preview.html", context)


def _glance(name: str, path: Path) -> imports.CheckedFile:
    parsed = csvimport.read_header(path, name, imports.KINDS)
    file = imports.CheckedFile(name, path, parsed, rows=csvimport.count_lines(path))
    file.preview = list(itertools.islice(csvimport.iter_rows(path, parsed), PREVIEW_ROWS))
    return file


@import_required
def import_status(request, batch):
    """A background import's progress; the page reloads itself until the
    import is done (a meta refresh: no script needed to see the end)."""
    folder = _batch_dir(request.workspace, batch)
    status = tasks.read_status(folder) if folder.is_dir() else None
    if status is None:
        raise Http404("No such import.")
    context = {
        "status": status,
        "batch": batch,
        "running": status["state"] in ("queued", "running"),
        "nav": "import",
    }
    return TemplateResponse(request, "clients/import_status.html", context)
