"""The stored lapse figures (models.LapseFigure): written by the morning job
and after each change, read by the win-back page one page at a time."""

import datetime as dt

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce

from rapport.winback import report
from rapport.winback.models import LapseDay, LapseFigure

BATCH = 2000


def _figure(workspace_id: int, row: report.Row) -> LapseFigure:
    call = row.call
    return LapseFigure(
        workspace_id=workspace_id,
        contact_id=row.contact_id,
        status=row.status,
        called=row.called,
        why="\n".join(row.why),
        last_purchase=row.last_purchase,
        days_since=row.days_since,
        interval=row.interval,
        interval_source=row.interval_source,
        p_alive=row.p_alive,
        p_alive_note=row.p_alive_note,
        revenue_at_risk=row.revenue_at_risk,
        estimated=row.estimated,
        last_touch=row.last_touch,
        holds="\n".join(row.holds),
        call_on=call.on if call else None,
        call_outcome=call.outcome if call else "",
        call_came_back=call.came_back if call else False,
    )


def store(workspace, on: dt.date, contact_ids=None, *, only_if_stored: bool = False) -> int:
    """Compute and store the figures for `on`: everyone's (the morning job),
    or some contacts' after their facts changed, measured against the
    morning's workspace-wide spend. With `only_if_stored` (a change, not the
    morning), nothing happens unless figures for `on` are stored already."""
    day = LapseDay.objects.filter(workspace=workspace).first()
    if only_if_stored and (day is None or day.on != on):
        return 0  # nothing stored for today: the page computes it
    if contact_ids is not None and not contact_ids:
        return 0
    if day is None or day.on != on:
        contact_ids = None  # some contacts' figures alone would be another day's mix
    rows, typical_spend = report.compute(
        workspace,
        on,
        contact_ids,
        typical_spend=day.typical_spend if contact_ids is not None and day else None,
    )
    with transaction.atomic():
        stale = LapseFigure.objects.filter(workspace=workspace)
        if contact_ids is not None:
            stale = stale.filter(contact_id__in=list(contact_ids))
        stale._raw_delete(stale.db)  # no signals or cascades: one DELETE
        LapseFigure.objects.bulk_create(
            [_figure(workspace.pk, row) for row in rows], batch_size=BATCH
        )
        if contact_ids is None:
            LapseDay.objects.update_or_create(
                workspace=workspace,
                defaults={"on": on, "typical_spend": typical_spend},
            )
    return len(rows)


ORDER = {
    # As report.sort_rows: unknown values last; days since unknown counts as 0.
    "revenue": [
        F("revenue_at_risk").desc(nulls_last=True),
        Coalesce("days_since", 0).desc(),
        "contact_id",
    ],
    "p_alive": [F("p_alive").asc(nulls_last=True), Coalesce("days_since", 0).desc(), "contact_id"],
    "last_purchase": [F("days_since").desc(nulls_last=True), "contact_id"],
}
SHOWN = {
    "all": ~Q(status=report.ACTIVE),
    "lapsed": Q(status=report.LAPSED),
    "at_risk": Q(status=report.AT_RISK),
    "called": Q(called=True),
}
COLUMNS = [
    "contact_id",
    "status",
    "called",
    "why",
    "last_purchase",
    "days_since",
    "interval",
    "interval_source",
    "p_alive",
    "p_alive_note",
    "revenue_at_risk",
    "estimated",
    "last_touch",
    "holds",
    "call_on",
    "call_outcome",
    "call_came_back",
    "contact__external_id",
    "contact__first_name",
    "contact__last_name",
    "contact__email",
    "contact__phone",
]


def _row(values: tuple) -> report.Row:
    (pk, status, called, why, last, since, interval, source, p_alive, note, revenue) = values[:11]
    (estimated, touch, holds, call_on, outcome, came_back) = values[11:17]
    external_id, first, last_name, email, phone = values[17:]
    return report.Row(
        contact_id=pk,
        status=status,
        why=why.splitlines(),
        last_purchase=last,
        days_since=since,
        interval=interval,
        interval_source=source,
        p_alive=p_alive,
        p_alive_note=note,
        revenue_at_risk=revenue,
        estimated=estimated,
        last_touch=touch,
        holds=holds.splitlines(),
        call=report.Call(call_on, outcome, came_back) if call_on else None,
        called=called,
        external_id=external_id,
        name=f"{first} {last_name}".strip(),
        email=email,
        phone=phone,
    )


class Rows:
    """The rows of a stored report, in order, read only as far as they are
    used: a slice is one query (a page of 50), iterating reads in batches
    (the export). What Paginator needs: count() and slicing."""

    def __init__(self, queryset):
        self.queryset = queryset
        self._count = None

    def count(self) -> int:
        if self._count is None:
            self._count = self.queryset.count()
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [_row(v) for v in self.queryset[index].values_list(*COLUMNS)]
        return self[index : index + 1][0]

    def __iter__(self):
        # Keyset would need the sort key; offsets in big batches are few.
        total = self.count()
        for start in range(0, total, BATCH * 5):
            yield from self[start : start + BATCH * 5]


def read(workspace, on: dt.date, show: str, sort: str):
    """(rows, totals) from the figures stored for `on`, or None when the
    stored figures are of another day (or none)."""
    day = LapseDay.objects.filter(workspace=workspace).values_list("on", flat=True).first()
    if day != on:
        return None
    figures = LapseFigure.objects.filter(workspace=workspace)
    shown = figures.filter(SHOWN[show])
    totals = figures.aggregate(
        lapsed=Count("pk", filter=Q(status=report.LAPSED)),
        at_risk=Count("pk", filter=Q(status=report.AT_RISK)),
        called=Count("pk", filter=Q(called=True)),
    )
    money = shown.aggregate(
        revenue=Sum("revenue_at_risk"),
        estimated=Count("pk", filter=Q(estimated=True, revenue_at_risk__isnull=False)),
    )
    totals["revenue_at_risk"] = float(money["revenue"] or 0.0)
    totals["estimated"] = bool(money["estimated"])
    return Rows(shown.order_by(*ORDER[sort])), totals
