from django.core.management.base import BaseCommand, CommandError

from rapport.workspaces import backup


class Command(BaseCommand):
    help = (
        "Restore the database from a file written by `rapport backup`. Refuses a database that "
        "holds data unless --force is given; stop the server and the worker first."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="a backup written by `rapport backup`")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that already holds data"
        )

    def handle(self, *args, **options):
        try:
            done = backup.restore(options["path"], force=options["force"])
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"Restored ({done['engine']}) from {options['path']}"))
