import sys

from django.core.management.base import BaseCommand, CommandError

BENCHES = ["agenda", "lapse", "feed"]


class Command(BaseCommand):
    help = (
        "Benchmarks: `rapport bench agenda --contacts N`, `rapport bench lapse --cdnow --json`, "
        "`rapport bench feed --requests N --rate R --json`."
    )

    def add_arguments(self, parser):
        parser.add_argument("which", choices=BENCHES)
        parser.add_argument("args", nargs="*")

    def run_from_argv(self, argv):
        # The benchmarks parse their own options: hand them everything after the name.
        if len(argv) < 3 or argv[2] not in BENCHES:
            raise CommandError(f"usage: rapport bench {'|'.join(BENCHES)} [options]")
        from django import setup

        setup()
        if argv[2] == "agenda":
            from rapport.agenda.bench import main
        elif argv[2] == "feed":
            from rapport.dev.bench_feed import main
        else:
            from rapport.winback.bench import main
        sys.exit(main(argv[3:]))

    def handle(self, *args, **options):  # pragma: no cover - run_from_argv does the work
        raise CommandError(f"use: rapport bench {'|'.join(BENCHES)} [options]")
