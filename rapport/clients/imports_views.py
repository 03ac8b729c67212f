"""Import from the browser: upload, preview (first rows and every error), confirm.

Uploaded files wait on disk under an unguessable batch id, inside a folder of
the workspace, until the user confirms; nothing is written to the record
before that, and a batch of one workspace cannot be reached from another.
"""

import secrets
import shutil
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from rapport.clients import examples, imports
from rapport.lib import csvimport
from rapport.workspaces import audit
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


def _batch_dir(workspace, batch: str) -> Path:
    if not batch.isalnum():
        raise Http404("No such import.")
    return Path(settings.MEDIA_ROOT) / "imports" / str(workspace.pk) / batch


def _read_batch(folder: Path) -> list[tuple[str, bytes]]:
    if not folder.is_dir():
        raise Http404("No such import: it may have been imported or cancelled already.")
    return [(path.name, path.read_bytes()) for path in sorted(folder.glob("*.csv"))]


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


@import_required
def import_preview(request, batch):
    workspace = request.workspace
    folder = _batch_dir(workspace, batch)
    files = _read_batch(folder)
    if request.method == "POST":
        if "cancel" in request.POST:
            shutil.rmtree(folder, ignore_errors=True)
            messages.info(request, "Import cancelled; nothing was written.")
            return redirect("clients:import")
        reports = imports.import_files(workspace, files)
        shutil.rmtree(folder, ignore_errors=True)
        audit.record(
            audit.Kind.IMPORT,
            workspace=workspace,
            target=f"import:{batch}",
            detail={
                r.name: {"imported": bool(r.imported), "created": r.created, "updated": r.updated}
                for r in reports
            },
            request=request,
        )
        for report in reports:
            if report.imported:
                messages.success(
                    request,
                    f"{report.name}: {report.created} added, {report.updated} updated, "
                    f"{report.unchanged} unchanged.",
                )
            else:
                messages.error(
                    request, f"{report.name}: not imported ({len(report.errors)} errors)."
                )
        return redirect("clients:list")
    parsed = imports.sort_files([imports.parse_file(data, name) for name, data in files])
    imports.validate(workspace, parsed)
    previews = [
        {
            "file": p,
            "columns": p.header,
            # As they will be stored, written for people ("family, hygiene",
            # "yes"), not as Python would print them.
            "rows": [
                [csvimport.display(row.values.get(col)) for col in p.header]
                for row in p.rows[:PREVIEW_ROWS]
            ],
        }
        for p in parsed
    ]
    context = {
        "previews": previews,
        "batch": batch,
        "any_valid": any(p.ok for p in parsed),
        "all_valid": all(p.ok for p in parsed),
        "nav": "import",
    }
    return TemplateResponse(request, "clients/import_preview.html", context)
