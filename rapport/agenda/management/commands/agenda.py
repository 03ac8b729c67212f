import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from rapport.agenda import engine
from rapport.workspaces.models import Workspace


class Command(BaseCommand):
    help = "Print the agenda of a workspace for a day (today in its time zone by default)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument(
            "--date", help="YYYY-MM-DD; default: today in the workspace's time zone"
        )
        parser.add_argument("--json", action="store_true", help="print the agenda as JSON")
        parser.add_argument("--limit", type=int, default=0, help="at most this many items")

    def handle(self, *args, **options):
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace with slug {options['workspace']!r}.")
        try:
            on = dt.date.fromisoformat(options["date"]) if options["date"] else workspace.today()
        except ValueError:
            raise CommandError(f"--date must be YYYY-MM-DD, not {options['date']!r}.") from None
        items, snapshot, _ = engine.build(workspace, on)
        if options["limit"]:
            items = items[: options["limit"]]
        if options["json"]:
            payload = {
                "workspace": workspace.slug,
                "date": on.isoformat(),
                "items": [
                    {
                        "contact": item.external_id,
                        "name": item.name,
                        "action": item.action,
                        "moments": item.moments,
                        "priority": item.priority,
                        "readiness": item.readiness,
                        "why": item.why,
                        "script": item.script,
                    }
                    for item in items
                ],
            }
            self.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False))
            return
        self.stdout.write(f"{workspace.name} — agenda for {on} ({len(items)} items)\n")
        for item in items:
            self.stdout.write(
                f"{item.priority:4.2f}  {item.action:<20} {item.name} [{item.external_id}]  "
                f"readiness {item.readiness}"
            )
            for reason in item.why:
                self.stdout.write(f"        · {reason}")
