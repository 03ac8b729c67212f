import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand

from rapport import scheduler


class Command(BaseCommand):
    help = "Run background tasks (the database task queue) and the scheduled jobs."

    def add_arguments(self, parser):
        parser.add_argument("--no-scheduler", action="store_true", help="run tasks only")
        parser.add_argument("--interval", type=float, default=1.0, help="queue polling interval")

    def handle(self, *args, **options):
        stop = threading.Event()
        thread = None
        if not options["no_scheduler"]:
            thread = threading.Thread(
                target=scheduler.loop, args=(stop,), name="scheduler", daemon=True
            )
            thread.start()
        try:
            call_command("db_worker", interval=options["interval"], queue_name="*")
        finally:
            stop.set()
            if thread:
                thread.join(timeout=10)
