import importlib
import sys

from django.core.management.base import BaseCommand, CommandError

# Each benchmark is a module with main(argv) -> exit status; see docs/benchmarks.md.
BENCHES = {
    "agenda": "rapport.agenda.bench",
    "lapse": "rapport.winback.bench",
    "feed": "rapport.dev.bench_feed",
    "redirect": "rapport.dev.bench_redirect",
    "pages": "rapport.dev.bench_pages",
    "import": "rapport.dev.bench_import",
}


class Command(BaseCommand):
    help = (
        "Benchmarks: `rapport bench agenda --contacts N`, `rapport bench lapse --cdnow --json`, "
        "`rapport bench feed|redirect --requests N --rate R --json`, "
        "`rapport bench pages --contacts N --json`, "
        "`rapport bench import --contacts N --purchases M --json`."
    )

    def add_arguments(self, parser):
        parser.add_argument("which", choices=list(BENCHES))
        parser.add_argument("args", nargs="*")

    def run_from_argv(self, argv):
        # The benchmarks parse their own options: hand them everything after the name.
        if len(argv) < 3 or argv[2] not in BENCHES:
            raise CommandError(f"usage: rapport bench {'|'.join(BENCHES)} [options]")
        from django import setup

        setup()
        sys.exit(importlib.import_module(BENCHES[argv[2]]).main(argv[3:]))

    def handle(self, *args, **options):  # pragma: no cover - run_from_argv does the work
        raise CommandError(f"use: rapport bench {'|'.join(BENCHES)} [options]")
