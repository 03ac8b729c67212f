import time

from django.core.management.base import BaseCommand, CommandError

from rapport.dev import demo


class Command(BaseCommand):
    help = (
        "Create or refresh the demo workspaces (a dental practice and a consulting firm), "
        "dated from today, and the demo login."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--patients", type=int, default=500, help="patients in the dental practice"
        )
        parser.add_argument(
            "--clients", type=int, default=80, help="contacts in the consulting firm"
        )

    def handle(self, *args, **options):
        if options["patients"] < 100 or options["clients"] < 64:
            raise CommandError("The demo needs at least 100 patients and 64 clients.")
        started = time.perf_counter()
        try:
            summaries = demo.build_all(patients=options["patients"], clients=options["clients"])
        except demo.DemoError as error:
            raise CommandError(str(error)) from None
        for summary in summaries:
            for line in summary.lines():
                self.stdout.write(line)
        self.stdout.write(f"Demo ready in {time.perf_counter() - started:.1f} s.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo login: {demo.DEMO_EMAIL} / {demo.DEMO_PASSWORD} "
                "(owner of both demo workspaces; the demo's staff accounts share the password)"
            )
        )
