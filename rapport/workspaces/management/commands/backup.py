from django.core.management.base import BaseCommand, CommandError

from rapport.workspaces import backup


class Command(BaseCommand):
    help = (
        "Write an online, consistent copy of the database to PATH (SQLite's backup API, or "
        "pg_dump for PostgreSQL) while Rapport keeps running."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="file to write (replaced only once the copy is whole)")

    def handle(self, *args, **options):
        try:
            done = backup.backup(options["path"])
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up ({done['engine']}) to {done['path']}: {done['bytes']} bytes"
            )
        )
