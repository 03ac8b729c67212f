import sys

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Benchmarks: `rapport bench agenda --contacts N`, `rapport bench lapse --cdnow --json`."

    def add_arguments(self, parser):
        parser.add_argument("which", choices=["agenda", "lapse"])
        parser.add_argument("args", nargs="*")

    def run_from_argv(self, argv):
        # The benchmarks parse their own options: hand them everything after the name.
        if len(argv) < 3 or argv[2] not in ("agenda", "lapse"):
            raise CommandError("usage: rapport bench agenda|lapse [options]")
        from django import setup

        setup()
        if argv[2] == "agenda":
            from rapport.agenda.bench import main
        else:
            from rapport.winback.bench import main
        sys.exit(main(argv[3:]))

    def handle(self, *args, **options):  # pragma: no cover - run_from_argv does the work
        raise CommandError("use: rapport bench agenda|lapse [options]")
