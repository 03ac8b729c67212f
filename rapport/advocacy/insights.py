"""Which moments, scripts and channels bring referrals: the figures of the
insights page and its CSV, over a chosen period. A read: nothing is written.

Set-based: one query for the period's referrals (each annotated with the ask
it is attributed to and the value won), one for the asks grouped by script,
channel and outcome, one for the testimonials per contact, one for review
clicks — whatever the number of contacts.

Attribution: a referral is credited to the latest referral ask made to the
referrer on or before the referral's date, if within ATTRIBUTION_DAYS and
the referral is not marked unsolicited; else it came without an ask. The
value won by a referral is what the referred client's won or completed
deals are worth, or, without deal values, what they have bought.
"""

import csv
import datetime as dt
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, OuterRef, Q, Subquery, Sum

from rapport.advocacy.models import Referral, ReviewClick, Testimonial
from rapport.clients.models import Deal, DealStage, Purchase
from rapport.lib.spreadsheet import csv_safe
from rapport.outreach.models import Ask, AskKind, Channel, Outcome

ATTRIBUTION_DAYS = 90
TOP_ADVOCATES = 10
POSITIVE = {Outcome.YES, Outcome.GAVE_NAMES}
NO_ASK = "(no ask before it)"

MOMENT_LABELS = {
    "praise": "Praise",
    "testimonial": "A testimonial",
    "referral": "A referral",
    "saved_us": "“You saved us”",
    "partner_association": "A partner joined an association",
    "project_completed": "A project completed",
    "point_of_sale": "Point of sale",
    "permission_due": "A permission came due",
    "lapsed": "Drifted away",
    "recall_due": "Routine visit due",
    "promoter": "A promoter (NPS 9–10)",
    "detractor": "A detractor (NPS 0–6)",
    "": "(no moment recorded)",
}
TIME_BUCKETS = [
    (0, 0, "same day"),
    (1, 7, "1–7 days"),
    (8, 30, "8–30 days"),
    (31, 90, "31–90 days"),
]


@dataclass
class Figure:
    key: str
    title: str
    description: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    # Which column the chart draws, and which labels it.
    chart_column: int = 1
    unit: str = ""

    def chart(self) -> dict:
        return bar_chart(self.key, self.title, self.description, self.chart_rows(), self.unit)

    def chart_rows(self) -> list[tuple[str, float]]:
        return [(str(row[0]), float(row[self.chart_column] or 0)) for row in self.rows]


@dataclass
class Report:
    start: dt.date
    end: dt.date
    totals: dict
    figures: list[Figure]

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def _script_titles(workspace) -> dict[str, str]:
    from rapport.agenda.scripts import DEFAULTS_BY_KEY

    titles = {key: script.title for key, script in DEFAULTS_BY_KEY.items()}
    titles.setdefault("ask_review", "Review request")
    titles[""] = "(no script recorded)"
    return titles


def _referral_rows(workspace, start: dt.date, end: dt.date) -> list[dict]:
    last_ask = Ask.objects.filter(
        contact=OuterRef("referrer_id"), kind=AskKind.REFERRAL, asked_on__lte=OuterRef("date")
    ).order_by("-asked_on", "-id")
    money = DecimalField(max_digits=14, decimal_places=2)
    deals = (
        Deal.objects.filter(
            contact=OuterRef("referred_id"), stage__in=[DealStage.WON, DealStage.COMPLETED]
        )
        .order_by()
        .values("contact")
        .annotate(total=Sum("value"))
        .values("total")
    )
    purchases = (
        Purchase.objects.filter(contact=OuterRef("referred_id"))
        .order_by()
        .values("contact")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return list(
        Referral.objects.filter(workspace=workspace, date__gte=start, date__lte=end)
        .annotate(
            ask_on=Subquery(last_ask.values("asked_on")[:1]),
            ask_moment=Subquery(last_ask.values("moment")[:1]),
            ask_script=Subquery(last_ask.values("script_key")[:1]),
            ask_channel=Subquery(last_ask.values("channel")[:1]),
            deal_value=Subquery(deals, output_field=money),
            purchase_value=Subquery(purchases, output_field=money),
        )
        .values(
            "id",
            "date",
            "how",
            "unsolicited",
            "status",
            "referrer_id",
            "referrer__first_name",
            "referrer__last_name",
            "ask_on",
            "ask_moment",
            "ask_script",
            "ask_channel",
            "deal_value",
            "purchase_value",
        )
        .order_by("date", "id")
    )


def _attributed(row: dict) -> bool:
    # An unsolicited referral came unasked, whatever asks went before it.
    on = row["ask_on"]
    return not row["unsolicited"] and on is not None and (row["date"] - on).days <= ATTRIBUTION_DAYS


def _value(row: dict) -> Decimal:
    if row["status"] != Referral.Status.WON:
        return Decimal(0)
    return Decimal(row["deal_value"] or row["purchase_value"] or 0)


def _rate(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def build(workspace, start: dt.date, end: dt.date) -> Report:
    rows = _referral_rows(workspace, start, end)
    for row in rows:
        row["attributed"] = _attributed(row)
        row["value"] = _value(row)
        row["won"] = row["status"] == Referral.Status.WON
    won = [r for r in rows if r["won"]]
    totals = {
        "referrals": len(rows),
        "won": len(won),
        "lost": sum(1 for r in rows if r["status"] == Referral.Status.LOST),
        "conversion": _rate(len(won), len(rows)),
        "value": sum((r["value"] for r in rows), Decimal(0)),
        "unsolicited": sum(1 for r in rows if r["unsolicited"]),
    }
    figures = [
        _by_source(rows),
        _by_moment(rows),
        _value_per_referrer(rows),
        _top_advocates(workspace, rows, start, end),
        _time_to_referral(rows, totals),
        *_asks(workspace, rows, start, end),
        _review_clicks(workspace, start, end),
    ]
    return Report(start=start, end=end, totals=totals, figures=figures)


def _by_source(rows) -> Figure:
    labels = dict(Referral.How.choices)
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        groups[row["how"]].append(row)
    figure = Figure(
        "by_source",
        "Referrals by source",
        "How each referral came, with how many became clients.",
        ["Source", "Referrals", "Won", "Conversion %", "Unsolicited"],
    )
    for how, group in sorted(groups.items(), key=lambda kv: (-len(kv[1]), labels.get(kv[0], ""))):
        won = sum(1 for r in group if r["won"])
        figure.rows.append(
            [
                labels.get(how, how),
                len(group),
                won,
                _rate(won, len(group)),
                sum(1 for r in group if r["unsolicited"]),
            ]
        )
    return figure


def _by_moment(rows) -> Figure:
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        key = (row["ask_moment"] or "") if row["attributed"] else NO_ASK
        groups[key].append(row)
    figure = Figure(
        "by_moment",
        "Referrals by moment",
        f"The moment of the ask each referral followed (within {ATTRIBUTION_DAYS} days).",
        ["Moment", "Referrals", "Won", "Conversion %"],
    )
    for key, group in sorted(
        groups.items(), key=lambda kv: (-len(kv[1]), MOMENT_LABELS.get(kv[0], kv[0]))
    ):
        won = sum(1 for r in group if r["won"])
        figure.rows.append([MOMENT_LABELS.get(key, key), len(group), won, _rate(won, len(group))])
    return figure


def _name(row) -> str:
    return f"{row['referrer__first_name']} {row['referrer__last_name']}".strip()


def _value_per_referrer(rows) -> Figure:
    per: dict[int, dict] = {}
    for row in rows:
        entry = per.setdefault(
            row["referrer_id"], {"name": _name(row), "won": 0, "value": Decimal(0)}
        )
        if row["won"]:
            entry["won"] += 1
            entry["value"] += row["value"]
    figure = Figure(
        "value_per_referrer",
        "Value won per referrer",
        "What the clients each referrer sent are worth (won or completed deals, else purchases).",
        ["Referrer", "Value won", "Referrals won"],
        unit="",
    )
    ranked = sorted(per.values(), key=lambda e: (-e["value"], -e["won"], e["name"]))
    figure.rows = [[e["name"], e["value"], e["won"]] for e in ranked if e["won"]]
    return figure


def _top_advocates(workspace, rows, start, end) -> Figure:
    given = dict(
        Testimonial.objects.filter(
            workspace=workspace, received_on__gte=start, received_on__lte=end
        )
        .order_by()
        .values_list("contact")
        .annotate(n=Count("id"))
        .values_list("contact", "n")
    )
    per: dict[int, dict] = {}
    for row in rows:
        entry = per.setdefault(
            row["referrer_id"],
            {"name": _name(row), "referrals": 0, "won": 0, "value": Decimal(0)},
        )
        entry["referrals"] += 1
        entry["won"] += row["won"]
        entry["value"] += row["value"]
    figure = Figure(
        "top_advocates",
        "Top advocates",
        "The clients who referred most in the period, with what they also wrote.",
        ["Advocate", "Referrals", "Won", "Value won", "Testimonials"],
    )
    ranked = sorted(
        per.items(), key=lambda kv: (-kv[1]["referrals"], -kv[1]["value"], kv[1]["name"])
    )
    for pk, e in ranked[:TOP_ADVOCATES]:
        figure.rows.append([e["name"], e["referrals"], e["won"], e["value"], given.get(pk, 0)])
    return figure


def _time_to_referral(rows, totals) -> Figure:
    days = [(r["date"] - r["ask_on"]).days for r in rows if r["attributed"]]
    figure = Figure(
        "time_to_referral",
        "Time from ask to referral",
        "Days between the ask and the referral that followed it.",
        ["Time", "Referrals"],
    )
    for low, high, label in TIME_BUCKETS:
        figure.rows.append([label, sum(1 for d in days if low <= d <= high)])
    totals["median_days"] = statistics.median(days) if days else None
    totals["mean_days"] = round(statistics.fmean(days), 1) if days else None
    return figure


def _asks(workspace, rows, start, end) -> list[Figure]:
    counts = (
        Ask.objects.filter(workspace=workspace, asked_on__gte=start, asked_on__lte=end)
        .order_by()
        .values("script_key", "channel", "outcome")
        .annotate(n=Count("id"))
    )
    by_script: dict[str, Counter] = defaultdict(Counter)
    by_channel: dict[str, Counter] = defaultdict(Counter)
    for row in counts:
        for table, key in ((by_script, row["script_key"]), (by_channel, row["channel"])):
            table[key]["asks"] += row["n"]
            table[key][row["outcome"]] += row["n"]
    for row in rows:
        if row["attributed"]:
            by_script[row["ask_script"] or ""]["referrals"] += 1
            by_channel[row["ask_channel"] or ""]["referrals"] += 1
    measures = ["Asks", "Yes", "Later", "Declined", "No answer", "Waiting", "Referrals", "Yes %"]

    def table(key, title, description, groups, labels, first) -> Figure:
        figure = Figure(key, title, description, [first, *measures], chart_column=8, unit="%")
        for name, c in sorted(
            groups.items(), key=lambda kv: (-kv[1]["asks"], labels.get(kv[0], kv[0]))
        ):
            yes = sum(c[o] for o in POSITIVE)
            figure.rows.append(
                [
                    labels.get(name, name),
                    c["asks"],
                    yes,
                    c[Outcome.LATER],
                    c[Outcome.DECLINED],
                    c[Outcome.NO_ANSWER],
                    c[Outcome.PENDING],
                    c["referrals"],
                    _rate(yes, c["asks"]),
                ]
            )
        return figure

    return [
        table(
            "asks_by_script",
            "Asks and outcomes by script",
            "Which words work: every ask of the period by the script it used, and what came of it.",
            by_script,
            _script_titles(workspace),
            "Script",
        ),
        table(
            "asks_by_channel",
            "Asks and outcomes by channel",
            "The same asks by the way they were made.",
            by_channel,
            {**dict(Channel.choices), "": "(not recorded)"},
            "Channel",
        ),
    ]


def _review_clicks(workspace, start, end) -> Figure:
    tz = workspace.tzinfo
    since = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    rows = (
        ReviewClick.objects.filter(workspace=workspace, at__gte=since, at__lt=until)
        .order_by()
        .values("site__platform", "site__label")
        .annotate(n=Count("id"), requests=Count("id", filter=Q(placement="request")))
        .order_by("-n")
    )
    figure = Figure(
        "review_clicks",
        "Clicks through to review sites",
        "Clients who went on to a public review site, by site.",
        ["Site", "Clicks", "From a review request"],
    )
    from rapport.advocacy.models import ReviewSite

    platforms = dict(ReviewSite.Platform.choices)
    for row in rows:
        name = row["site__label"] or platforms.get(row["site__platform"], row["site__platform"])
        figure.rows.append([name, row["n"], row["requests"]])
    return figure


# -- presentation --------------------------------------------------------------------

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 230
BAR_WIDTH = 330
VALUE_WIDTH = 90


def bar_chart(key: str, title: str, description: str, rows, unit: str = "") -> dict:
    """Geometry of a horizontal bar chart, drawn by the template as SVG."""
    top = max((value for _, value in rows), default=0) or 1
    bars = []
    for index, (label, value) in enumerate(rows):
        y = index * (BAR_HEIGHT + GAP)
        text = f"{value:g}{unit}" if value != int(value) else f"{int(value)}{unit}"
        bars.append(
            {
                "label": label if len(label) <= 34 else label[:33] + "…",
                "full_label": label,
                "value": text,
                "y": y,
                "text_y": y + BAR_HEIGHT * 0.7,
                "width": round(BAR_WIDTH * value / top, 1),
                "value_x": round(LABEL_WIDTH + BAR_WIDTH * value / top + 6, 1),
            }
        )
    return {
        "id": f"chart-{key}",
        "title": title,
        "description": description,
        "bars": bars,
        "height": max(len(bars) * (BAR_HEIGHT + GAP), BAR_HEIGHT),
        "width": LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH,
        "label_width": LABEL_WIDTH,
        "bar_x": LABEL_WIDTH,
        "value_x": LABEL_WIDTH + 6,
        "bar_height": BAR_HEIGHT,
    }


def to_csv(report: Report) -> str:
    """Every figure in one long table: figure, row label, measure, value."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period_start", "period_end", "figure", "row", "measure", "value"])
    for name, value in report.totals.items():
        writer.writerow([report.start, report.end, "totals", "", name, _cell(value)])
    for figure in report.figures:
        for row in figure.rows:
            for measure, value in zip(figure.columns[1:], row[1:], strict=True):
                # Row labels are people's and sources' names: never a formula.
                writer.writerow(
                    [report.start, report.end, figure.key, csv_safe(row[0]), measure, _cell(value)]
                )
    return out.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)
