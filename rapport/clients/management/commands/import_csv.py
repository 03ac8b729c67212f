from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from rapport.clients import imports
from rapport.lib import progress
from rapport.workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Import CSV files (contacts, purchases, activities, deals, issues, permissions, "
        "referrals). Each file is validated first and goes in whole or not at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("--create", action="store_true", help="create the workspace if missing")
        parser.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
        parser.add_argument("--time-zone", default="UTC", help="for a workspace made with --create")

    def handle(self, *args, **options):
        slug = options["workspace"]
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            if not options["create"]:
                raise CommandError(f"No workspace with slug {slug!r} (use --create to make it).")
            workspace = Workspace(
                name=slug.replace("-", " ").title(), slug=slug, time_zone=options["time_zone"]
            )
            workspace.full_clean()
            with transaction.atomic():
                workspace.save()
            self.stdout.write(f"Created workspace {slug}.")
        files = []
        for name in options["paths"]:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file")
            files.append((path.name, path))  # streamed from disk, never read whole
        # A bar per phase on a terminal; in a log or a pipe, a plain line every few seconds.
        with progress.for_output(self.stdout, prefix="import: ") as bar:
            reports = imports.import_files(
                workspace, files, dry_run=options["dry_run"], progress=bar
            )
        failed = False
        for report in reports:
            if report.errors:
                failed = True
                self.stderr.write(
                    f"{report.name}: {len(report.errors)} error(s); nothing imported from it"
                )
                for error in report.errors:
                    self.stderr.write(f"  {error}")
            elif options["dry_run"]:
                self.stdout.write(f"{report.name}: {report.rows} {report.kind} rows are valid")
            else:
                self.stdout.write(
                    f"{report.name}: {report.kind}: {report.created} added, "
                    f"{report.updated} updated, {report.unchanged} unchanged"
                )
        if failed:
            raise CommandError("Some files had errors and were not imported.", returncode=1)
