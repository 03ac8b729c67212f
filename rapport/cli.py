"""The `rapport` console script.

The named subcommands of DESIGN.md are Django management commands living in
the apps; any other word runs the Django command of that name, so
`rapport migrate` and `rapport check --deploy` work as users expect.
"""

import os
import sys

# `import` is a Python keyword, so that command's module has another name.
ALIASES = {"import": "import_csv", "examples": "load_examples"}

USAGE = """usage: rapport <command> [options]

  up [--demo] [--port 8000]      migrate, load the demo when empty, serve web + worker
  import PATH... --workspace S   import CSV files (contacts, purchases, activities, ...)
  examples [--workspace S]       import examples/csv/, every date moved to read as of today
  agenda --workspace S [--json]  the agenda for a day
  worker                         run background tasks and scheduled jobs
  demo                           create or refresh the demo workspaces
  bench agenda|lapse|redirect|feed|import|pages  benchmarks
  backup PATH                    an online, consistent copy of the database
  restore PATH [--force]         restore it (refuses a database holding data without --force)
  <django command>               any Django management command (migrate, createsuperuser, ...)
"""


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    from django.core.management import execute_from_command_line

    command = ALIASES.get(argv[0], argv[0])
    execute_from_command_line(["rapport", command, *argv[1:]])


if __name__ == "__main__":
    main()
