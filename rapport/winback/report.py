"""The win-back report: the clients who drifted or are drifting, what they
were worth, and what came of each win-back call.

Set-based, like the agenda it mirrors: one agenda `Snapshot` (its own facts,
P(alive) included) and the lapse rules' own verdicts (`winback.rules.screen`),
so a client is "lapsed" here exactly when the agenda
proposes a win-back call, in the same words; then two grouped queries (spend
per visit, the latest win-back call of each client). Names are read only for
the rows shown (one page) or exported, 5,000 a query. Never a query per
contact.

Who is listed: every customer (customer and every rung above) who is

- **lapsed**: the agenda has a `reactivate` reason for them today;
- **at risk**: not lapsed, but due a routine visit or past their own rhythm
  (a `recall` reason), or the lapse model gives them less than a 70% chance
  of still being a client;
- and, on request, everyone **called** to win them back in the last year,
  whatever they are now (to see what the calls achieved).

Revenue at risk (the page's footnote says the same in plain words)::

    365 / usual interval          visits a year, if they were still a client
  × spend per visit               their own average; else the workspace's
  × (1 − P(alive))                the chance they are gone

The usual interval is the one the lapse rules read: the recall schedule when
there is one, else their median gap between purchase days (their average gap
while the nightly median is not stored yet); with fewer than three purchase
days, the workspace's typical interval. Spend per visit is the amounts of
their purchases over the days those purchases were made (one visit a day,
like the interval); a client without amounts takes the workspace's average.

When P(alive) is unknown (fewer than three purchase days, or a workspace too
small to fit the model), the client is assumed to sit on the edge of the
group they are in: lapsed → 50% (the model's own lapse threshold), at risk →
70% (the at-risk threshold), otherwise 100% (nothing at risk). These are the
most hopeful values consistent with the label, so the estimate errs low; such
amounts are marked as estimated on the page.
"""

import csv
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, Sum

from rapport.agenda import gates, wording
from rapport.agenda.facts import CUSTOMER_RANK, EPOCH, Snapshot, to_date
from rapport.agenda.models import Action
from rapport.agenda.rules import Run
from rapport.clients.models import Contact, Purchase
from rapport.lib.spreadsheet import csv_safe
from rapport.outreach.models import Ask, AskKind, Outcome
from rapport.winback import rules

# Below this chance of still being a client, a customer is at risk.
AT_RISK_BELOW = 0.7
# P(alive) assumed when the model cannot say (see the module docstring).
ASSUMED_ALIVE_LAPSED = rules.P_ALIVE_THRESHOLD
ASSUMED_ALIVE_AT_RISK = AT_RISK_BELOW
# "Called": a win-back call this recent.
CALLED_WITHIN_DAYS = 365
YEAR_DAYS = 365.0
CHUNK = 5000

LAPSED, AT_RISK, ACTIVE = "lapsed", "at_risk", "active"
STATUS_LABEL = {LAPSED: "lapsed", AT_RISK: "at risk", ACTIVE: "active"}

SHOW = {
    "all": "Lapsed and at risk",
    "lapsed": "Lapsed",
    "at_risk": "At risk",
    "called": "Called to win back (last year)",
}
SORTS = {
    "revenue": "Revenue at risk",
    "p_alive": "Chance still a client",
    "last_purchase": "Last purchase",
}

# Where the usual interval comes from.
NO_INTERVAL, RECALL, MEDIAN, MEAN, TYPICAL = range(5)
INTERVAL_SOURCE = {
    NO_INTERVAL: "",
    RECALL: "routine visit",
    MEDIAN: "their usual gap",
    MEAN: "their average gap",
    TYPICAL: "typical here (too few purchases)",
}

# A win-back call's outcome, as the win-back view says it.
CALL_OUTCOME = {
    Outcome.YES: "coming back",
    Outcome.LATER: "not now",
    Outcome.DECLINED: "not interested",
    Outcome.PROBLEM: "revealed a problem",
    Outcome.PENDING: "waiting for an answer",
    Outcome.NO_ANSWER: "no answer",
    Outcome.GAVE_NAMES: "gave names",
    Outcome.ANSWERED: "answered the questions",
}

CSV_COLUMNS = [
    "external_id",
    "name",
    "email",
    "phone",
    "last_purchase",
    "days_since",
    "usual_interval_days",
    "p_alive",
    "revenue_at_risk",
    "last_touch",
    "last_reactivation_on",
    "last_reactivation_outcome",
    "came_back",
]


@dataclass
class Call:
    """The latest win-back call (an Ask of kind reactivation)."""

    on: dt.date
    outcome: str
    came_back: bool  # a purchase on or after the day of the call

    @property
    def outcome_label(self) -> str:
        return CALL_OUTCOME.get(self.outcome, self.outcome)


@dataclass
class Row:
    contact_id: int
    status: str
    why: list[str]
    last_purchase: dt.date | None
    days_since: int | None
    interval: float | None
    interval_source: str
    p_alive: float | None  # the model's; None when it cannot say
    p_alive_note: str  # why it cannot say
    revenue_at_risk: float | None
    estimated: bool  # revenue computed with an assumed P(alive) or spend
    last_touch: dt.date | None
    holds: list[str]  # open issues etc.: recover before any win-back call
    call: Call | None
    called: bool = False  # a win-back call in the last year (show "called")
    # Filled by fill_contacts, for the rows shown or exported only.
    external_id: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""

    @property
    def status_label(self) -> str:
        return STATUS_LABEL[self.status]

    @property
    def since_words(self) -> str:
        if self.days_since is None:
            return ""
        return wording.since(self.days_since, self.interval)

    @property
    def rhythm_words(self) -> str:
        return wording.every(self.interval) if self.interval else ""

    @property
    def p_alive_percent(self) -> int | None:
        return None if self.p_alive is None else round(self.p_alive * 100)


@dataclass
class Report:
    on: dt.date
    show: str
    sort: str
    rows: list[Row]
    lapsed: int  # in the whole workspace, whatever is shown
    at_risk: int
    model: str  # the lapse model's status, in words
    revenue_at_risk: float = 0.0  # of the rows shown
    estimated: bool = False  # some of it rests on assumptions
    counts: dict[str, int] = field(default_factory=dict)


# -- the vectorised parts, plain functions --------------------------------


def _own(purchases, first, last, rhythm):
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_gap = (last - first) / np.maximum(purchases - 1, 1)
    has_median = ~np.isnan(rhythm)
    own = np.where(purchases >= 2, np.where(has_median, rhythm, mean_gap), np.nan)
    return own, has_median, purchases >= 3


def typical_interval(purchases, first, last, rhythm) -> float:
    """The median of the regular clients' own intervals (NaN without any)."""
    own, _, regular = _own(purchases, first, last, rhythm)
    return float(np.nanmedian(own[regular])) if regular.any() else np.nan


def usual_intervals(
    purchases, first, last, rhythm, recall, *, typical: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The interval each client is expected to come back at, in days, and
    where it comes from (RECALL, MEDIAN, MEAN, TYPICAL; NO_INTERVAL and NaN
    when nothing says). The lapse rules read the same intervals. `typical`:
    the workspace's, when these arrays are only some of its clients."""
    own, has_median, regular = _own(purchases, first, last, rhythm)
    if typical is None:
        typical = float(np.nanmedian(own[regular])) if regular.any() else np.nan
    has_recall = ~np.isnan(recall)
    interval = np.where(has_recall, recall, np.where(regular, own, typical))
    source = np.select(
        [has_recall, regular & has_median, regular, ~np.isnan(interval)],
        [RECALL, MEDIAN, MEAN, TYPICAL],
        NO_INTERVAL,
    )
    interval = np.where(interval >= 1, interval, np.nan)
    source = np.where(np.isnan(interval), NO_INTERVAL, source)
    return interval, source


def assumed_alive(p_alive, lapsed, at_risk) -> np.ndarray:
    """P(alive) where the model gives it; else the edge of the client's
    group: lapsed 0.5, at risk 0.7, anyone else 1 (nothing at risk)."""
    fallback = np.where(lapsed, ASSUMED_ALIVE_LAPSED, np.where(at_risk, ASSUMED_ALIVE_AT_RISK, 1.0))
    return np.where(np.isnan(p_alive), fallback, p_alive)


def revenue_at_risk(interval, spend, alive) -> np.ndarray:
    """(365 / interval) × spend per visit × (1 − P(alive)); NaN when the
    interval or the spend is unknown."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return YEAR_DAYS / interval * spend * (1.0 - alive)


def spend_per_visit(workspace, on: dt.date, index: dict[int, int], n: int, contact_ids=None):
    """Each contact's spend per purchase day (NaN without amounts), and the
    workspace's (of `contact_ids` only, when given), in one grouped query."""
    purchases = Purchase.objects.filter(workspace=workspace, date__lte=on, amount__isnull=False)
    if contact_ids is not None:
        purchases = purchases.filter(contact_id__in=contact_ids)
    rows = (
        purchases.order_by()
        .values("contact_id")
        .annotate(total=Sum("amount"), days=Count("date", distinct=True))
        .values_list("contact_id", "total", "days")
    )
    spend = np.full(n, np.nan)
    total = days = 0.0
    for pk, amount, count in rows:
        amount = float(amount)
        total += amount
        days += count
        i = index.get(pk)
        if i is not None and count:
            spend[i] = amount / count
    return spend, (total / days if days else np.nan)


def latest_calls(workspace, on: dt.date, contact_ids=None) -> dict[int, tuple[dt.date, str]]:
    """The latest win-back call of each contact: {pk: (asked_on, outcome)}."""
    asks = Ask.objects.filter(workspace=workspace, kind=AskKind.REACTIVATION, asked_on__lte=on)
    if contact_ids is not None:
        asks = asks.filter(contact_id__in=contact_ids)
    asks = asks.order_by("contact_id", "-asked_on", "-asked_at", "-pk").values_list(
        "contact_id", "asked_on", "outcome"
    )
    latest: dict[int, tuple[dt.date, str]] = {}
    for pk, asked_on, outcome in asks:
        latest.setdefault(pk, (asked_on, outcome))
    return latest


def model_status(workspace) -> str:
    model = workspace.lapse_model or {}
    if "r" in model:
        customers = model.get("customers")
        on = f" with {customers:,} customers" if customers else ""
        return f"Lapse model (BG/NBD) fitted on {model.get('fitted_on')}{on}."
    if "fallback" in model:
        return (
            f"No lapse model (checked {model.get('fitted_on')}): {model['fallback']}. "
            "The chance each client is still a client is unknown; their rhythms decide."
        )
    return "The lapse model has not been fitted yet."


def p_alive_note(workspace, purchase_days: float) -> str:
    """Why P(alive) is unknown for a client."""
    model = workspace.lapse_model or {}
    if "r" in model:
        return "too few purchases" if purchase_days < 3 else "not scored"
    reason = model.get("fallback")
    if not reason:
        return "no lapse model yet"
    if "needed to fit" in reason:
        return f"workspace too small for the model: {reason}"
    return f"no lapse model: {reason}"


# -- the report -------------------------------------------------------------


def compute(
    workspace, on: dt.date, contact_ids=None, typical_spend: float | None = None
) -> tuple[list[Row], float]:
    """Every client the page can list on `on` (lapsed, at risk, or called in
    the last year), unsorted, without names; and the workspace's spend per
    visit. With `contact_ids`, only those contacts, judged as the morning
    judged them: against the whole workspace's typical interval, and
    `typical_spend` (the morning's) when given."""
    s = Snapshot(workspace, on, contact_ids)
    run = Run(s)
    lapses = s.memo(rules.screen)
    n = len(s.ids)

    lapsed = np.zeros(n, dtype=bool)
    due = np.zeros(n, dtype=bool)
    for i, lapse in lapses.items():
        (lapsed if lapse.action == Action.REACTIVATE else due)[i] = True
    customer = s.stage_rank >= CUSTOMER_RANK
    with np.errstate(invalid="ignore"):
        model_risk = customer & (s.p_alive < AT_RISK_BELOW)
    at_risk = ~lapsed & (due | model_risk)

    calls = latest_calls(workspace, on, s.contact_ids)
    call_day = np.full(n, np.nan)
    for pk, (asked_on, _) in calls.items():
        i = s.index.get(pk)
        if i is not None:
            call_day[i] = (asked_on - EPOCH).days
    with np.errstate(invalid="ignore"):
        called = customer & (call_day >= s.today - CALLED_WITHIN_DAYS)

    typical = None
    if s.contact_ids is not None:
        w = s.whole()
        typical = typical_interval(w.purchases, w.first_purchase, w.last_purchase, w.rhythm)
    interval, source = usual_intervals(
        s.purchases, s.first_purchase, s.last_purchase, s.rhythm, s.recall, typical=typical
    )
    for i, lapse in lapses.items():
        interval[i] = lapse.interval  # the very interval the reason was given for
    spend, workspace_spend = spend_per_visit(workspace, on, s.index, n, s.contact_ids)
    if typical_spend is None:
        typical_spend = workspace_spend
    own_spend = ~np.isnan(spend)
    spend = np.where(own_spend, spend, typical_spend)
    alive = assumed_alive(s.p_alive, lapsed, at_risk)
    revenue = revenue_at_risk(interval, spend, alive)
    estimated = np.isnan(s.p_alive) | ~own_spend

    rows = []
    for i in np.flatnonzero(lapsed | at_risk | called).tolist():
        pk = int(s.ids[i])
        status = LAPSED if lapsed[i] else AT_RISK if at_risk[i] else ACTIVE
        if i in lapses:
            why = list(lapses[i].why)
        elif model_risk[i]:
            why = [
                f"the lapse model gives a {round(float(s.p_alive[i]) * 100)}% chance "
                "they are still a client"
            ]
        else:
            why = []
        p_alive = None if np.isnan(s.p_alive[i]) else float(s.p_alive[i])
        last = s.last_purchase[i]
        touch = s.last_touch[i]
        call = None
        if pk in calls:
            asked_on, outcome = calls[pk]
            came_back = not np.isnan(last) and last >= (asked_on - EPOCH).days
            call = Call(asked_on, outcome, bool(came_back))
        rows.append(
            Row(
                contact_id=pk,
                status=status,
                why=why,
                last_purchase=None if np.isnan(last) else to_date(last),
                days_since=None if np.isnan(last) else int(s.today - last),
                interval=None if np.isnan(interval[i]) else float(interval[i]),
                interval_source=INTERVAL_SOURCE[int(source[i])],
                p_alive=p_alive,
                p_alive_note="" if p_alive is not None else p_alive_note(workspace, s.purchases[i]),
                revenue_at_risk=None if np.isnan(revenue[i]) else float(revenue[i]),
                estimated=bool(estimated[i]),
                last_touch=None if np.isnan(touch) else to_date(touch),
                holds=gates.blockers(run, i),
                call=call,
                called=bool(called[i]),
            )
        )
    return rows, float(typical_spend)


def shows(row: Row, show: str) -> bool:
    if show == "lapsed":
        return row.status == LAPSED
    if show == "at_risk":
        return row.status == AT_RISK
    if show == "called":
        return row.called
    return row.status != ACTIVE


def build(workspace, on: dt.date | None = None, *, show="all", sort="revenue") -> Report:
    """Every row to list for `show` (see SHOW), sorted by `sort` (see SORTS),
    without names (fill_contacts adds them to the rows used), computed from
    the facts now. `read` gives the same from the stored figures."""
    on = on or workspace.today()
    show = show if show in SHOW else "all"
    sort = sort if sort in SORTS else "revenue"
    listed, _ = compute(workspace, on)
    rows = [row for row in listed if shows(row, show)]
    sort_rows(rows, sort)
    known = [row.revenue_at_risk for row in rows if row.revenue_at_risk is not None]
    lapsed = sum(row.status == LAPSED for row in listed)
    at_risk = sum(row.status == AT_RISK for row in listed)
    return Report(
        on=on,
        show=show,
        sort=sort,
        rows=rows,
        lapsed=lapsed,
        at_risk=at_risk,
        model=model_status(workspace),
        revenue_at_risk=float(sum(known)),
        estimated=any(row.estimated for row in rows if row.revenue_at_risk is not None),
        counts={"all": lapsed + at_risk, "called": sum(row.called for row in listed)},
    )


def read(workspace, on: dt.date | None = None, *, show="all", sort="revenue") -> Report:
    """The report for `on` from the figures the morning job stored (and each
    change since kept current); its rows are a lazy sequence read one page at
    a time. When nothing is stored for that day, `build`."""
    from rapport.winback import figures

    on = on or workspace.today()
    show = show if show in SHOW else "all"
    sort = sort if sort in SORTS else "revenue"
    stored = figures.read(workspace, on, show, sort)
    if stored is None:
        return build(workspace, on, show=show, sort=sort)
    rows, totals = stored
    return Report(
        on=on,
        show=show,
        sort=sort,
        rows=rows,
        lapsed=totals["lapsed"],
        at_risk=totals["at_risk"],
        model=model_status(workspace),
        revenue_at_risk=totals["revenue_at_risk"],
        estimated=totals["estimated"],
        counts={"all": totals["lapsed"] + totals["at_risk"], "called": totals["called"]},
    )


def sort_rows(rows: list[Row], sort: str) -> None:
    """In place. Revenue: most first; chance still a client: least first;
    last purchase: longest ago first. Unknown values go last."""
    if sort == "p_alive":
        rows.sort(
            key=lambda r: (
                r.p_alive is None,
                r.p_alive if r.p_alive is not None else 0.0,
                -(r.days_since or 0),
                r.contact_id,
            )
        )
    elif sort == "last_purchase":
        rows.sort(key=lambda r: (r.days_since is None, -(r.days_since or 0), r.contact_id))
    else:
        rows.sort(
            key=lambda r: (
                r.revenue_at_risk is None,
                -(r.revenue_at_risk or 0.0),
                -(r.days_since or 0),
                r.contact_id,
            )
        )


def fill_contacts(workspace, rows: list[Row]) -> None:
    """Names and ways to reach them, for these rows only."""
    # Rows read from the stored figures come with their names already.
    by_pk = {row.contact_id: row for row in rows if not row.external_id}
    ids = sorted(by_pk)
    for start in range(0, len(ids), CHUNK):
        people = Contact.objects.filter(
            workspace=workspace, pk__in=ids[start : start + CHUNK]
        ).values_list("pk", "external_id", "first_name", "last_name", "email", "phone")
        for pk, external_id, first, last, email, phone in people:
            row = by_pk[pk]
            row.external_id = external_id
            row.name = f"{first} {last}".strip()
            row.email = email
            row.phone = phone


# -- CSV ----------------------------------------------------------------------

# csv_safe: rapport.lib.spreadsheet (imported above), shared with the insights CSV.


def csv_record(row: Row) -> list:
    call = row.call
    return [
        row.external_id,
        row.name,
        row.email,
        row.phone,
        row.last_purchase.isoformat() if row.last_purchase else "",
        row.days_since if row.days_since is not None else "",
        round(row.interval) if row.interval else "",
        f"{row.p_alive:.3f}" if row.p_alive is not None else "",
        f"{row.revenue_at_risk:.2f}" if row.revenue_at_risk is not None else "",
        row.last_touch.isoformat() if row.last_touch else "",
        call.on.isoformat() if call else "",
        call.outcome if call else "",
        ("yes" if call.came_back else "no") if call else "",
    ]


def write_csv(rows: list[Row], out) -> None:
    """The rows as CSV (CSV_COLUMNS), to a file-like object."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([csv_safe(value) for value in csv_record(row)])
