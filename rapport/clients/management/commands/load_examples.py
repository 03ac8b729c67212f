from django.core.management.base import BaseCommand, CommandError

from rapport.clients import examples, imports
from rapport.workspaces.models import Workspace


class Command(BaseCommand):
    help = (
        "Import the example CSV files (examples/csv/) into a workspace, every date moved so "
        "that they read as of today in the workspace's time zone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", default="examples", help="the workspace's slug")
        parser.add_argument("--create", action="store_true", help="create the workspace if missing")
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
            workspace.save()
            self.stdout.write(f"Created workspace {slug}.")
        reports = imports.import_files(workspace, examples.files(workspace.today()))
        failed = False
        for report in reports:
            if report.errors:
                failed = True
                for error in report.errors:
                    self.stderr.write(str(error))
            self.stdout.write(
                f"{report.name}: {report.created} added, {report.updated} updated, "
                f"{report.unchanged} unchanged."
            )
        if failed:
            raise CommandError("Some example files were not imported.")
