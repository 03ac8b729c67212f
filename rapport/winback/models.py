"""What win-back stores: each listed client's lapse figures for the day.

The win-back page and its export read these rows instead of rebuilding the
agenda's snapshot and grouping every purchase on each request (3.5 s at
100,000 contacts). The morning job writes them for everyone
(`actions.morning`, after the lapse model is refitted), and each change to
a contact's facts rewrites that contact's row (`actions.follow_the_record`),
so they are the report's own figures (`report.compute`) for the day they
name. A day the morning job has not run yet, the page computes the report
itself, as before.
"""

from django.db import models

from rapport.workspaces.models import WorkspaceOwned


class LapseDay(WorkspaceOwned):
    """The day the stored figures are for, and the workspace-wide figures a
    client refreshed alone is measured against (as the morning measured
    them)."""

    workspace = models.OneToOneField(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+"
    )
    on = models.DateField()
    typical_spend = models.FloatField(null=True)

    def __str__(self) -> str:
        return f"lapse figures of {self.workspace_id} on {self.on}"


class LapseFigure(WorkspaceOwned):
    """One client on the win-back list (lapsed, at risk, or called in the
    last year): `report.Row`, stored."""

    workspace = models.ForeignKey(
        "workspaces.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.OneToOneField("clients.Contact", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=8)
    called = models.BooleanField(default=False)
    why = models.TextField(blank=True)  # one reason a line
    last_purchase = models.DateField(null=True)
    days_since = models.IntegerField(null=True)
    interval = models.FloatField(null=True)
    interval_source = models.CharField(max_length=40, blank=True)
    p_alive = models.FloatField(null=True)
    p_alive_note = models.CharField(max_length=200, blank=True)
    revenue_at_risk = models.FloatField(null=True)
    estimated = models.BooleanField(default=False)
    last_touch = models.DateField(null=True)
    holds = models.TextField(blank=True)  # one a line
    call_on = models.DateField(null=True)
    call_outcome = models.CharField(max_length=20, blank=True)
    call_came_back = models.BooleanField(default=False)

    class Meta:
        # Each sort of the page, served by an index; the page reads 50 rows.
        indexes = [
            models.Index(fields=["workspace", "status", "revenue_at_risk"]),
            models.Index(fields=["workspace", "called"]),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.status}"
