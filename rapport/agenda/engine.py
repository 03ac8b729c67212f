"""The agenda engine: every action for a day, with its priority, why and script.

One `Snapshot` loads the facts of a workspace (or of a few contacts) in a
fixed number of set-based queries — never one per contact — and the rules
below turn them into items. Screening that touches every contact (readiness,
lapse, touch plan) is vectorised with NumPy; only contacts that end up with
an item get per-contact Python work.

The gates of DESIGN.md hold here, for every entry point: an open issue or an
unhandled complaint blocks every ask; suspects and prospects are never asked
for a referral; a readiness below the workspace threshold turns an ask into
"earn it first"; one ask of a kind per cooldown; a decline holds back unless
permission was granted since; a permission's date holds exactly.
"""

import datetime as dt
import functools
import json
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q

from rapport.advocacy.models import Referral, ReferralGiven, Testimonial
from rapport.agenda import readiness as scoring
from rapport.agenda import recovery
from rapport.agenda.models import Action, AgendaDecision, AgendaItem
from rapport.agenda.moments import POSITIVE, Moment, MomentKind, moments_on
from rapport.agenda.scripts import bodies_for, render
from rapport.clients.models import (
    Activity,
    Contact,
    Deal,
    DealStage,
    Issue,
    Permission,
    PermissionKind,
    Purchase,
    Stage,
)
from rapport.outreach.models import Ask, AskKind, Outcome
from rapport.winback import lapse
from rapport.workspaces.models import Workspace

# A client this new, with no permission on record, is due the upfront contract.
UPFRONT_WINDOW_DAYS = 60
# Decisions older than this cannot match a live key any more (keys carry dates
# or ids of recent facts); skipping them keeps the query small after years.
DECISION_MEMORY_DAYS = 730
# "8 months for a 6-month recall": past this multiple of the recall interval
# the routine reminder becomes a win-back.
RECALL_LAPSE_FACTOR = 4 / 3
# Without a recall schedule, a regular client's own rhythm is the schedule:
# due a quarter past the usual interval, lapsed after twice it.
DUE_FACTOR = 1.25
LAPSE_FACTOR = 2.0

BASE_PRIORITY = {
    Action.RECOVER: 0.95,
    Action.FOLLOW_UP_PERMISSION: 0.9,
    Action.ASK_MORE_NAMES: 0.82,
    Action.THANK: 0.8,
    Action.ASK_REFERRAL: 0.6,
    Action.ASK_TESTIMONIAL: 0.58,
    Action.UPFRONT_CONTRACT: 0.55,
    Action.REACTIVATE: 0.45,
    Action.RECALL: 0.42,
    Action.EARN_FIRST: 0.35,
    Action.TOUCH: 0.2,
}

# The moment that opens a referral ask picks the words.
SCRIPT_FOR_MOMENT = {
    MomentKind.PRAISE: "moment_praise",
    MomentKind.TESTIMONIAL: "moment_testimonial",
    MomentKind.SAVED_US: "moment_saved_us",
    MomentKind.PARTNER_ASSOCIATION: "moment_partner_association",
    MomentKind.PROJECT_COMPLETED: "moment_project_completed",
    MomentKind.POINT_OF_SALE: "point_of_sale",
    MomentKind.PROMOTER: "moment_praise",
}

# How a moment reads inside a script ("thank you so much for …").
MOMENT_PHRASE = {
    MomentKind.PRAISE: "you took the time to tell us how happy you are",
    MomentKind.TESTIMONIAL: "your kind words",
    MomentKind.SAVED_US: "you felt we made a real difference",
    MomentKind.PARTNER_ASSOCIATION: "sharing your news",
    MomentKind.PROJECT_COMPLETED: "the project is finished",
    MomentKind.POINT_OF_SALE: "you decided to go ahead",
    MomentKind.PROMOTER: "you rated us so highly",
}


@dataclass
class Item:
    contact_id: int
    action: str
    key: str
    priority: float
    why: list[str]
    script_key: str
    moments: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    readiness: int = 0
    issue_pk: int | None = None  # a recover item's issue, and its next step
    step: str = ""
    script: str = ""  # filled by fill_scripts
    name: str = ""
    external_id: str = ""


@dataclass
class ContactView:
    """Everything the engine concluded about one contact, for its page."""

    readiness: int
    reasons: list[str]
    moments: list[Moment]
    holds: list[str]
    items: list[Item]


# The wording helpers below are cached: a morning refresh words tens of
# thousands of gaps and rhythms, but only a few hundred distinct ones.


def _since(days: float, rhythm: float | None = None) -> str:
    """A gap in plain words, in the same unit as the rhythm it breaks:
    "every 5 weeks; nothing for 16 weeks" reads better than "4 months"."""
    return _gap(int(days), rhythm is not None and rhythm < 60)


@functools.cache
def _gap(days: int, in_weeks: bool) -> str:
    if in_weeks and days < 365:
        return f"{round(days / 7)} weeks"
    if days < 60:
        return f"{days} days"
    if days < 730:
        return f"{round(days / 30.4)} months"
    return f"{days / 365.25:.1f} years"


def _every(days: float) -> str:
    return _rhythm(round(days))


@functools.cache
def _rhythm(days: int) -> str:
    if days < 13:
        return f"every {days} days"
    if days < 60:
        return f"every {round(days / 7)} weeks"
    return f"every {round(days / 30.4)} months"


def _and_list(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


EPOCH = dt.date(1970, 1, 1)


def _days(values) -> np.ndarray:
    """Dates (date objects or ISO strings, None for missing) as float day
    numbers since 1970, NaN for missing: vectorised, no per-row parsing."""
    days = np.array(values, dtype="datetime64[D]")
    out = days.astype("int64").astype(float)
    out[np.isnat(days)] = np.nan
    return out


def _date(day: float) -> dt.date:
    return _day(int(day))


@functools.cache
def _day(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=day)


STAGE_RANK = {stage: rank for rank, stage in enumerate(Stage.values)}
STAGE_LABEL = dict(Stage.choices)
CUSTOMER_RANK = STAGE_RANK[Stage.CUSTOMER]


class Snapshot:
    """The facts of a workspace on a day, loaded set-based."""

    def __init__(self, workspace, on: dt.date, contact_ids=None):
        self.workspace = workspace
        self.on = on
        self.today = float((on - EPOCH).days)

        def scoped(queryset, contact_field="contact_id"):
            queryset = queryset.filter(workspace=workspace)
            if contact_ids is not None:
                queryset = queryset.filter(**{f"{contact_field}__in": contact_ids})
            return queryset.order_by()  # no model ordering in GROUP BY

        # One row per contact, ordered by pk: (pk, stage, relationship, org,
        # owner, recall, readiness, rhythm, typical amount, created day,
        # purchase days, first purchase, last purchase, last activity).
        rows = self._contacts_with_history(workspace, on, contact_ids)
        n = len(rows)
        columns = list(zip(*rows, strict=True)) if rows else [()] * 14
        self.ids = np.array(columns[0], dtype=np.int64)
        self.index = dict(zip(columns[0], range(n), strict=True))
        self.stages = columns[1]
        self.stage_rank = np.fromiter(map(STAGE_RANK.__getitem__, columns[1]), np.int64, n)
        self.relationship = np.array(columns[2], dtype=float)  # None → NaN
        self.organization = columns[3]
        self.owner = columns[4]
        self.recall = np.array(columns[5], dtype=float)
        if workspace.recall_interval_days:
            self.recall[np.isnan(self.recall)] = workspace.recall_interval_days
        self.stored_readiness = np.array(columns[6], dtype=np.int64)
        self.rhythm = np.array(columns[7], dtype=float)  # None → NaN
        self.typical_amount = np.array(columns[8], dtype=float)
        self.created = _days(columns[9])
        self.purchases = np.nan_to_num(np.array(columns[10], dtype=float), nan=0.0)
        self.first_purchase = _days(columns[11])
        self.last_purchase = _days(columns[12])
        last_activity = _days(columns[13])

        # The lapse model: refitted with the first full refresh of each day
        # (a partial refresh uses the day's fit), then every client scored.
        fitted_on = (workspace.lapse_model or {}).get("fitted_on")
        if contact_ids is None and fitted_on != on.isoformat():
            lapse.fit(
                workspace, self.purchases, self.first_purchase, self.last_purchase, self.today, on
            )
        self.p_alive, self.expected_year = lapse.score(
            workspace, self.purchases, self.first_purchase, self.last_purchase, self.today
        )

        def column(pairs, default=np.nan):
            # Small grouped results (a few contacts each): placed by id.
            values = np.full(n, default, dtype=float)
            for pk, value in pairs:
                i = self.index.get(pk)
                if i is not None:
                    values[i] = value
            return values

        deal_rows = (
            scoped(Deal.objects)
            .filter(stage__in=[DealStage.WON, DealStage.COMPLETED], won_on__lte=on)
            .values("contact_id")
            .annotate(first=Min("won_on"))
            .values_list("contact_id", "first")
        )
        first_deal = column((pk, (day - EPOCH).days) for pk, day in deal_rows)
        self.first_client_day = np.fmin(self.first_purchase, first_deal)

        self.referrals_given_to = column(
            scoped(ReferralGiven.objects)
            .filter(given_on__lte=on)
            .values("contact_id")
            .annotate(n=Count("id"))
            .values_list("contact_id", "n"),
            0.0,
        )
        self.testimonials = column(
            scoped(Testimonial.objects)
            .filter(received_on__lte=on)
            .values("contact_id")
            .annotate(n=Count("id"))
            .values_list("contact_id", "n"),
            0.0,
        )

        # Asks: the recent ones (cooldown, hold-back) in full, the last one
        # of all for the touch plan, and who was ever offered the contract.
        horizon = on - dt.timedelta(
            days=max(workspace.ask_cooldown_days, workspace.decline_holdback_days)
        )
        self.recent_asks: dict[int, list[tuple[str, dt.date, str]]] = defaultdict(list)
        for pk, kind, asked_on, outcome in (
            scoped(Ask.objects)
            .filter(asked_on__range=(horizon, on))
            .values_list("contact_id", "kind", "asked_on", "outcome")
        ):
            self.recent_asks[pk].append((kind, asked_on, outcome))
        ask_rows = list(
            scoped(Ask.objects)
            .filter(asked_on__lte=on)
            .values("contact_id")
            .annotate(last=Max("asked_on"))
            .values_list("contact_id", "last")
        )
        last_ask = column((pk, (day - EPOCH).days) for pk, day in ask_rows)
        self.asked_permission = set(
            scoped(Ask.objects)
            .filter(kind=AskKind.PERMISSION, asked_on__lte=on)
            .values_list("contact_id", flat=True)
        )
        self.last_touch = np.fmax(np.fmax(last_activity, self.last_purchase), last_ask)

        # Issues: where each recovery stands today (recovery.phase) — what it
        # blocks for the contact and for everyone at its organization — and
        # recent ones of any status (a complaint is handled once an issue
        # was opened for it).
        self.blocking_issues: dict[int, list[tuple]] = defaultdict(list)
        self.blocked_orgs: dict[int, list[tuple]] = defaultdict(list)
        self.issue_days: dict[int, list[dt.date]] = defaultdict(list)
        complaint_since = on - dt.timedelta(days=workspace.window_for(MomentKind.COMPLAINT))
        issues = Issue.objects.filter(workspace=workspace, opened_on__lte=on).filter(
            recovery.recent_filter(on, workspace) | Q(opened_on__gte=complaint_since)
        )
        for row in issues.values_list(*recovery.IssueFacts.FIELDS).order_by("opened_on", "pk"):
            facts = recovery.IssueFacts(*row)
            state = recovery.phase(facts, on, workspace)
            if state.blocks_contact:
                self.blocking_issues[facts.contact_id].append((facts, state))
            if state.blocks_colleagues and facts.organization_id:
                self.blocked_orgs[facts.organization_id].append((facts, state))
            self.issue_days[facts.contact_id].append(facts.opened_on)

        self.permissions: dict[int, list[tuple]] = defaultdict(list)
        for perm in (
            scoped(Permission.objects)
            .filter(granted_on__lte=on)
            .values_list("pk", "contact_id", "kind", "granted_on", "ask_after")
            .order_by("granted_on", "pk")
        ):
            self.permissions[perm[1]].append(perm)

        self.referral_counts: dict[int, tuple[int, bool]] = {
            pk: (n, bool(unsolicited))
            for pk, n, unsolicited in scoped(Referral.objects, "referrer_id")
            .filter(date__lte=on)
            .values("referrer_id")
            .annotate(n=Count("id"), unsolicited=Count("id", filter=Q(unsolicited=True)))
            .values_list("referrer_id", "n", "unsolicited")
        }

        self.moments = moments_on(workspace, on, contact_ids, self.purchase_history)
        self.complainers = {
            pk for pk, found in self.moments.items() if any(m.kind == "complaint" for m in found)
        }

        remembered = on - dt.timedelta(days=DECISION_MEMORY_DAYS)
        self.decisions = {
            (pk, action, key): (status, until)
            for pk, action, key, status, until in scoped(AgendaDecision.objects)
            .filter(decided_at__date__gte=remembered)
            .values_list("contact_id", "action", "key", "status", "until")
        }

        self.positive_moments = column(
            (pk, sum(1 for m in ms if m.kind in POSITIVE)) for pk, ms in self.moments.items()
        )
        self.positive_moments = np.nan_to_num(self.positive_moments, nan=0.0)
        self.facts = scoring.Facts(
            relationship=self.relationship,
            stage_rank=self.stage_rank,
            tenure_days=self.today - self.first_client_day,
            positive_moments=self.positive_moments,
            purchases=self.purchases,
            referrals_given_to=self.referrals_given_to,
        )
        self.readiness, self.readiness_parts = scoring.scores(self.facts)

    @staticmethod
    def _contacts_with_history(workspace, on: dt.date, contact_ids):
        """Every contact with its purchase count, first and last purchase and
        last activity, in one statement: one pass over the facts, like the
        floor of `rapport bench agenda`.

        SQL rather than the ORM: the ORM would parse every row's dates in
        Python, where NumPy converts whole columns at once. The shape differs
        by database, each the faster on its own: SQLite answers per-contact
        subqueries from the covering (workspace, contact, date) indexes
        faster than it can group and join (0.49 s against 0.75 s at 100,000
        contacts); PostgreSQL hashes a GROUP BY in one sweep."""
        contact, purchase, activity = (m._meta.db_table for m in (Contact, Purchase, Activity))
        sqlite = connection.vendor == "sqlite"
        only, only_params = "", []
        if contact_ids is not None:
            ids = [int(pk) for pk in contact_ids] or [0]
            only = f" AND {{column}} IN ({', '.join(['%s'] * len(ids))})"
            only_params = ids
        columns = """c.id, c.stage, c.relationship, c.organization_id, c.owner_id,
                   c.recall_interval_days, c.readiness, c.rhythm_days, c.typical_amount"""
        if sqlite:
            facts = f"""
                SELECT {columns}, DATE(c.created_at),
                  (SELECT COUNT(DISTINCT date) FROM {purchase} p
                   WHERE p.workspace_id = c.workspace_id AND p.contact_id = c.id AND p.date <= %s),
                  (SELECT MIN(date) FROM {purchase} p
                   WHERE p.workspace_id = c.workspace_id AND p.contact_id = c.id AND p.date <= %s),
                  (SELECT MAX(date) FROM {purchase} p
                   WHERE p.workspace_id = c.workspace_id AND p.contact_id = c.id AND p.date <= %s),
                  (SELECT MAX(occurred_on) FROM {activity} a
                   WHERE a.workspace_id = c.workspace_id AND a.contact_id = c.id
                     AND a.occurred_on <= %s)
                FROM {contact} c
                WHERE c.workspace_id = %s AND c.erased_at IS NULL{only.format(column="c.id")}
                ORDER BY c.id
            """
            params = [on, on, on, on, workspace.pk, *only_params]
        else:
            in_p, in_a = only.format(column="contact_id"), only.format(column="contact_id")
            facts = f"""
                SELECT {columns}, c.created_at::date, p.n, p.first_day, p.last_day, a.last_day
                FROM {contact} c
                LEFT JOIN (
                    SELECT contact_id, COUNT(DISTINCT date) AS n, MIN(date) AS first_day,
                           MAX(date) AS last_day
                    FROM {purchase} WHERE workspace_id = %s AND date <= %s{in_p}
                    GROUP BY contact_id
                ) p ON p.contact_id = c.id
                LEFT JOIN (
                    SELECT contact_id, MAX(occurred_on) AS last_day
                    FROM {activity} WHERE workspace_id = %s AND occurred_on <= %s{in_a}
                    GROUP BY contact_id
                ) a ON a.contact_id = c.id
                WHERE c.workspace_id = %s AND c.erased_at IS NULL{only.format(column="c.id")}
                ORDER BY c.id
            """
            params = [
                workspace.pk,
                on,
                *only_params,
                workspace.pk,
                on,
                *only_params,
                workspace.pk,
                *only_params,
            ]
        with connection.cursor() as cursor:
            cursor.execute(facts, params)
            return cursor.fetchall()

    def purchase_history(self, contact_ids: set[int]) -> dict[int, tuple]:
        """First purchase day and usual amount of contacts, where this pass
        already knows them (the amount is stored with the rhythm)."""
        known = {}
        for pk in contact_ids:
            i = self.index.get(pk)
            if i is not None and not np.isnan(self.typical_amount[i]):
                known[pk] = (_date(self.first_purchase[i]), float(self.typical_amount[i]))
        return known

    def reasons(self, i: int) -> list[str]:
        return scoring.reasons(i, self.facts, self.readiness_parts, STAGE_LABEL[self.stages[i]])


class Rules:
    """Turns one Snapshot into items. Each method is one rule of the practice."""

    def __init__(self, snapshot: Snapshot):
        self.s = snapshot
        self.ws = snapshot.workspace
        self.on = snapshot.on
        self.items: list[Item] = []
        self.holds: dict[int, list[str]] = defaultdict(list)

    # -- screening, vectorised over every contact ---------------------------

    def lapse_screen(self) -> dict[int, tuple[str, str, list[str], float]]:
        """Contacts due a recall or a win-back call: index → (action, key, why,
        the interval in days they used to come at)."""
        s = self.s
        days_since = s.today - s.last_purchase
        bought = s.purchases >= 1
        # Their own rhythm: the stored median gap, else the mean gap.
        mean_gap = (s.last_purchase - s.first_purchase) / np.maximum(s.purchases - 1, 1)
        own_interval = np.where(
            s.purchases >= 2, np.where(np.isnan(s.rhythm), mean_gap, s.rhythm), np.nan
        )
        regular = s.purchases >= 3
        # Few purchases say little about a rhythm: use the workspace's typical
        # interval (the median of its regular clients) for them.
        typical = float(np.nanmedian(own_interval[regular])) if regular.any() else np.nan
        interval = np.where(regular, own_interval, typical)
        customer = s.stage_rank >= CUSTOMER_RANK
        has_recall = ~np.isnan(s.recall)
        with np.errstate(invalid="ignore"):
            recall_due = customer & bought & has_recall & (days_since >= s.recall)
            recall_lapsed = recall_due & (days_since >= s.recall * RECALL_LAPSE_FACTOR)
            rhythm = customer & bought & ~has_recall & (interval >= 1)
            # Lapsed: the model says they have probably stopped, or the gap
            # is more than twice their usual one. The why says which.
            model_lapsed = rhythm & regular & (s.p_alive < lapse.P_ALIVE_THRESHOLD)
            pattern_lapsed = rhythm & ((days_since > LAPSE_FACTOR * interval) | model_lapsed)
            # A regular client past their own rhythm is due, like a recall.
            pattern_due = rhythm & regular & (days_since >= DUE_FACTOR * interval) & ~pattern_lapsed
        found = {}
        chosen = np.flatnonzero(recall_due | pattern_lapsed | pattern_due)
        # Plain Python values for the loop: indexing NumPy scalars one by one
        # costs more than the rule itself.
        columns = zip(
            chosen.tolist(),
            s.last_purchase[chosen].tolist(),
            days_since[chosen].tolist(),
            s.recall[chosen].tolist(),
            interval[chosen].tolist(),
            recall_due[chosen].tolist(),
            recall_lapsed[chosen].tolist(),
            pattern_due[chosen].tolist(),
            regular[chosen].tolist(),
            s.p_alive[chosen].tolist(),
            strict=True,
        )
        for i, last_day, since, recall, usual, is_recall, lapsed, due, is_regular, alive in columns:
            last = _date(last_day)
            gone = _since(since)
            if is_recall:
                cadence = _every(recall)
                why = [f"routine visit {cadence}; last seen {last} ({gone} ago)"]
                if lapsed:
                    found[i] = (
                        Action.REACTIVATE,
                        f"reactivate:{last}",
                        [
                            *why,
                            f"lapsed: more than {_since(recall * RECALL_LAPSE_FACTOR)} "
                            f"without a visit, for a recall {cadence}",
                        ],
                        recall,
                    )
                else:
                    found[i] = (Action.RECALL, f"recall:{last}", why, recall)
            elif due:
                why = [f"comes {_every(usual)}; last time {last} ({gone} ago)", "due again"]
                found[i] = (Action.RECALL, f"recall:{last}", why, usual)
            else:
                source = "used to come" if is_regular else "clients usually come"
                gone = _since(since, usual)
                why = [f"{source} {_every(usual)}; nothing for {gone} (since {last})"]
                if alive == alive and alive < lapse.P_ALIVE_THRESHOLD:  # not NaN
                    why.append(
                        f"the lapse model gives a {round(alive * 100)}% chance they are "
                        "still a client"
                    )
                if since > LAPSE_FACTOR * usual:
                    why.append("more than twice their usual gap")
                found[i] = (Action.REACTIVATE, f"reactivate:{last}", why, usual)
        return found

    def touch_screen(self) -> np.ndarray:
        s = self.s
        cadence = np.array([self.ws.cadence_for(stage) for stage in Stage.values], dtype=float)[
            s.stage_rank
        ]
        last = np.where(np.isnan(s.last_touch), s.created, s.last_touch)
        return np.flatnonzero((cadence > 0) & (s.today - last > cadence))

    # -- per contact --------------------------------------------------------

    def add(self, i: int, action: str, key: str, why: list[str], script_key: str, **extra) -> None:
        pk = int(self.s.ids[i])
        decision = self.s.decisions.get((pk, action, key))
        if decision:
            status, until = decision
            if status == AgendaDecision.Status.DONE or (until and until > self.on):
                return
        self.items.append(
            Item(pk, action, key, 0.0, why, script_key, readiness=int(self.s.readiness[i]), **extra)
        )

    def blockers(self, i: int) -> list[str]:
        """Why no ask may be made at all: open issues and unhandled complaints."""
        s = self.s
        pk = int(s.ids[i])
        org = s.organization[i]
        found = []
        for facts, state in s.blocking_issues.get(pk, []):
            if state.step == "wait":
                found.extend(state.why)
            else:
                found.append(f"open issue since {facts.opened_on}: {facts.summary[:80]}")
        for facts, _ in s.blocked_orgs.get(org, []) if org else []:
            if facts.contact_id != pk:
                found.append(
                    f"open issue at their organization since {facts.opened_on}: "
                    f"{facts.summary[:80]}"
                )
        for moment in self.unhandled_complaints(i):
            found.append(f"complained on {moment.on}: \u201c{moment.detail}\u201d")
        return found

    def unhandled_complaints(self, i: int) -> list[Moment]:
        pk = int(self.s.ids[i])
        if pk not in self.s.complainers:
            return []
        issue_days = self.s.issue_days.get(pk, [])
        return [
            m
            for m in self.s.moments.get(pk, [])
            if m.kind == MomentKind.COMPLAINT
            and not any(day >= m.on for day in issue_days)
            and (pk, Action.RECOVER, f"complaint:{m.source}") not in self.s.decisions
        ]

    def ask_hold(
        self, i: int, ask_kind: str, *, by_permission: bool = False, cooldown: bool = True
    ) -> str | None:
        """Why an ask of this kind must wait (cooldown, decline, a permission date).

        `by_permission`: the contact said "ask me after D" and D has come, which
        lifts the cooldown and an earlier decline. `cooldown=False`: asking for
        the other names right after a referral is part of the same
        conversation, not a new ask.
        """
        s, ws, on = self.s, self.ws, self.on
        pk = int(s.ids[i])
        permissions = s.permissions.get(pk, [])
        for _, _, kind, _, ask_after in permissions:
            if (kind == PermissionKind.BOTH or kind == ask_kind) and ask_after > on:
                return f"they asked to be asked after {ask_after}"
        if by_permission:
            return None
        last_grant = max((p[3] for p in permissions), default=None)
        for kind, asked_on, outcome in s.recent_asks.get(pk, []):
            recent_decline = (
                outcome == Outcome.DECLINED and (on - asked_on).days < ws.decline_holdback_days
            )
            if recent_decline and not (last_grant and last_grant >= asked_on):
                return f"declined on {asked_on}; holding back {ws.decline_holdback_days} days"
            if cooldown and kind == ask_kind and (on - asked_on).days < ws.ask_cooldown_days:
                return f"already asked for a {ask_kind} on {asked_on}"
        return None

    def run(self) -> list[Item]:
        s = self.s
        lapses = self.lapse_screen()
        candidates: set[int] = set()
        candidates.update(s.index[pk] for pk in s.moments if pk in s.index)
        candidates.update(s.index[pk] for pk in s.blocking_issues if pk in s.index)
        if s.blocked_orgs:
            blocked = s.blocked_orgs
            candidates.update(i for i, org in enumerate(s.organization) if org in blocked)
        candidates.update(s.index[pk] for pk in s.permissions if pk in s.index)
        new_clients = np.flatnonzero(
            (s.stage_rank >= CUSTOMER_RANK) & (s.today - s.first_client_day <= UPFRONT_WINDOW_DAYS)
        )
        candidates.update(new_clients.tolist())
        for i in sorted(candidates):
            self.contact_rules(i, lapses.get(i))
        # Most lapsed clients have nothing else going on: no rule but the
        # win-back applies, so they skip the per-contact rules.
        for i, due in lapses.items():
            if i not in candidates:
                self.lapse_item(i, due)
        with_items = {item.contact_id for item in self.items}
        for i in self.touch_screen().tolist():
            if int(s.ids[i]) not in with_items:
                self.touch(i)
        return self.items

    def lapse_item(self, i: int, lapse: tuple[str, str, list[str], float]) -> None:
        s = self.s
        action, key, why, interval = lapse
        self.add(
            i,
            action,
            key,
            why,
            "recall" if action == Action.RECALL else "reactivation",
            moments=[MomentKind.RECALL_DUE if action == Action.RECALL else MomentKind.LAPSED],
            fields={
                "last_visit": self.spoken(_date(s.last_purchase[i])),
                "usual_interval": _every(interval) if interval >= 1 else "regularly",
            },
        )

    def contact_rules(self, i: int, lapse) -> None:
        s, ws, on = self.s, self.ws, self.on
        pk = int(s.ids[i])
        moments = s.moments.get(pk, [])
        blockers = self.blockers(i)
        readiness = int(s.readiness[i])
        stage_rank = int(s.stage_rank[i])

        for facts, state in s.blocking_issues.get(pk, []):
            if not state.needs_action:
                continue
            # One item per step: "done" on the apology does not hide the fix.
            self.add(
                i,
                Action.RECOVER,
                f"issue:{facts.pk}:{state.step}",
                [
                    *([state.late] if state.late else []),
                    *state.why,
                    "no ask until the client confirms it is put right",
                ],
                recovery.SCRIPT_FOR_STEP[state.step],
                fields={"issue": facts.summary[:120].rstrip(". ")},
                issue_pk=facts.pk,
                step=state.step,
            )
        for moment in self.unhandled_complaints(i):
            self.add(
                i,
                Action.RECOVER,
                f"complaint:{moment.source}",
                [
                    f"complained on {moment.on}: \u201c{moment.detail}\u201d",
                    "open an issue and apologise; no ask meanwhile",
                ],
                "apology",
                moments=[MomentKind.COMPLAINT],
                fields={"issue": moment.detail.rstrip(". ")},
            )
        if blockers:
            self.holds[pk].extend(blockers)

        # Thank-yous are never blocked: gratitude is not an ask. Names given
        # together are thanked together: one thank-you, not one per name.
        referred = [
            m for m in moments if m.kind == MomentKind.REFERRAL and m.source.startswith("referral:")
        ]
        if referred:
            names = _and_list(list(dict.fromkeys(m.detail for m in referred)))
            days = sorted({m.on for m in referred})
            when = f"on {days[0]}" if len(days) == 1 else f"between {days[0]} and {days[-1]}"
            self.add(
                i,
                Action.THANK,
                referred[0].source,
                [f"referred {names} {when}"],
                "thank_you",
                moments=[MomentKind.REFERRAL],
                fields={
                    "moment": f"introducing {names} to us — we'll look after "
                    "them with the same care you've had",
                    "referred_name": names,
                },
            )
        for moment in moments:
            if moment.kind == MomentKind.TESTIMONIAL and moment.source.startswith("testimonial:"):
                self.add(
                    i,
                    Action.THANK,
                    moment.source,
                    [f"sent a testimonial on {moment.on}: \u201c{moment.detail}\u201d"],
                    "thank_you",
                    moments=[MomentKind.TESTIMONIAL],
                    fields={"moment": "your kind words"},
                )

        if lapse and not (lapse[0] == Action.REACTIVATE and blockers):
            self.lapse_item(i, lapse)

        for moment in moments:
            if moment.kind == MomentKind.PASSIVE:
                self.add(
                    i,
                    Action.TOUCH,
                    f"passive:{moment.source}",
                    [
                        f"rated us {moment.detail} on {moment.on}",
                        "a personal touch could turn them into a promoter",
                    ],
                    "touch",
                    moments=[MomentKind.PASSIVE],
                    fields={"last_visit": self.spoken(moment.on)},
                )

        if blockers:
            return

        # Permission: the promise of a date. Due exactly on it, until acted on.
        latest_by_kind = {}
        for perm in s.permissions.get(pk, []):
            latest_by_kind[perm[2]] = perm
        for perm_pk, _, kind, granted_on, ask_after in latest_by_kind.values():
            if ask_after > on or self.permission_used(pk, kind, ask_after):
                continue
            hold = self.ask_hold(
                i, "referral" if kind != PermissionKind.TESTIMONIAL else kind, by_permission=True
            )
            if hold:
                continue
            self.add(
                i,
                Action.FOLLOW_UP_PERMISSION,
                f"permission:{perm_pk}",
                [f"agreed on {granted_on} to be asked after {ask_after}", "the date has come"],
                "follow_up_permission",
                moments=[MomentKind.PERMISSION_DUE],
                fields={"permission_date": self.spoken(ask_after)},
            )

        positive = [m for m in moments if m.kind in POSITIVE]
        if not positive:
            self.upfront(i)
            return
        referral_moments = [m for m in positive if m.kind == MomentKind.REFERRAL]
        other_moments = [m for m in positive if m.kind != MomentKind.REFERRAL]
        gate_why = [f"readiness {readiness} (threshold {ws.readiness_threshold})", "no open issues"]

        if referral_moments:
            moment = referral_moments[0]
            hold = self.ask_hold(i, "referral", cooldown=False)
            if hold:
                self.holds[pk].append(hold)
            else:
                named = [m.detail for m in referral_moments if m.source.startswith("referral:")]
                referred = _and_list(list(dict.fromkeys(named))) if named else "them"
                self.add(
                    i,
                    Action.ASK_MORE_NAMES,
                    f"more_names:{moment.source}",
                    [
                        f"referred {referred} on {moment.on}",
                        "ask for all the other names now",
                        *gate_why[1:],
                    ],
                    "ask_more_names",
                    moments=[MomentKind.REFERRAL],
                    fields={"referred_name": referred},
                )
        if not other_moments or (
            referral_moments and not self.ask_hold(i, "referral", cooldown=False)
        ):
            # Asking for all the other names is the referral ask of the day.
            return

        first_purchase_only = s.purchases[i] <= 1 and not s.permissions.get(pk)
        waiting = [
            hold
            for kind in ("referral", "testimonial")
            if (hold := self.ask_hold(i, kind)) and hold.startswith("they asked to be asked after")
        ]
        if len(waiting) == 2:
            # They agreed a date: until then there is nothing to earn or ask.
            self.holds[pk].append(waiting[0])
            return
        if stage_rank < CUSTOMER_RANK or readiness < ws.readiness_threshold:
            is_customer = stage_rank >= CUSTOMER_RANK
            if first_purchase_only and is_customer and self.upfront(i):
                return
            reason = (
                f"a {STAGE_LABEL[s.stages[i]].lower()} is not asked for a referral"
                if stage_rank < CUSTOMER_RANK
                else f"readiness {readiness} is below the threshold of {ws.readiness_threshold}"
            )
            self.holds[pk].append(reason)
            self.add(
                i,
                Action.EARN_FIRST,
                f"earn:{other_moments[0].source}",
                [
                    *(m.describe() for m in other_moments[:2]),
                    reason,
                    "earn it first: a touch, a thank-you, a referral given to them",
                ],
                "earn_first",
                moments=sorted({m.kind for m in other_moments}),
            )
            return

        # The main ask: a testimonial when a project was completed (the last
        # phase of the funnel), a referral otherwise; the other kind when the
        # first is cooling down.
        strongest = other_moments[0]
        primary = (
            "testimonial"
            if any(m.kind == MomentKind.PROJECT_COMPLETED for m in other_moments)
            and not s.testimonials[i]
            else "referral"
        )
        for kind in (primary, "testimonial" if primary == "referral" else "referral"):
            if kind == "testimonial" and s.testimonials[i] and primary == "referral":
                continue
            hold = self.ask_hold(i, kind)
            if hold:
                self.holds[pk].append(hold)
                continue
            action = Action.ASK_REFERRAL if kind == "referral" else Action.ASK_TESTIMONIAL
            script_key = (
                SCRIPT_FOR_MOMENT.get(strongest.kind, "moment_praise")
                if kind == "referral"
                else (
                    "moment_project_completed"
                    if strongest.kind == MomentKind.PROJECT_COMPLETED
                    else "ask_testimonial"
                )
            )
            self.add(
                i,
                action,
                f"{kind}:{strongest.source}",
                [*(m.describe() for m in other_moments[:3]), *self.relationship_why(i), *gate_why],
                script_key,
                moments=list(dict.fromkeys(m.kind for m in other_moments)),
                fields={
                    "moment": MOMENT_PHRASE.get(strongest.kind, ""),
                    "moment_date": self.spoken(strongest.on),
                },
            )
            break

    def spoken(self, day: dt.date) -> str:
        """A date as said aloud in a script: "21 November" (with the year
        when it is not this year's)."""
        text = f"{day.day} {day:%B}"
        return text if day.year == self.on.year else f"{text} {day.year}"

    def relationship_why(self, i: int) -> list[str]:
        rel = self.s.relationship[i]
        return [] if np.isnan(rel) else [f"relationship {int(rel)}/10"]

    def permission_used(self, pk: int, kind: str, ask_after: dt.date) -> bool:
        for ask_kind, asked_on, _ in self.s.recent_asks.get(pk, []):
            covered = kind == PermissionKind.BOTH or kind == ask_kind
            not_a_favour = ask_kind in (AskKind.PERMISSION, AskKind.RECOVERY)
            if covered and asked_on >= ask_after and not not_a_favour:
                return True
        return False

    def upfront(self, i: int) -> bool:
        s = self.s
        pk = int(s.ids[i])
        if (
            s.stage_rank[i] < CUSTOMER_RANK
            or not (s.today - s.first_client_day[i] <= UPFRONT_WINDOW_DAYS)
            or s.permissions.get(pk)
            or pk in s.asked_permission
        ):
            return False
        since = _date(s.first_client_day[i])
        self.add(
            i,
            Action.UPFRONT_CONTRACT,
            "upfront",
            [
                f"new client since {since}",
                "no permission to ask recorded yet",
                "agree now when you may ask for a referral or testimonial",
            ],
            "upfront_contract",
        )
        return True

    def touch(self, i: int) -> None:
        s = self.s
        cadence = self.ws.cadence_for(s.stages[i])
        last = s.last_touch[i]
        rung = STAGE_LABEL[s.stages[i]].lower()
        plan = f"the plan for {'an' if rung[0] in 'aeiou' else 'a'} {rung} is every {cadence} days"
        if np.isnan(last):
            why = [f"no touch recorded; {plan}"]
            key, last_visit = "touch:never", "we last spoke"
        else:
            day = _date(last)
            why = [f"last touch {day} ({_since(s.today - last)} ago); {plan}"]
            key, last_visit = f"touch:{day}", self.spoken(day)
        self.add(i, Action.TOUCH, key, why, "touch", fields={"last_visit": last_visit})


def _priority(item: Item, snapshot: Snapshot, i: int) -> float:
    base = BASE_PRIORITY[item.action]
    readiness = snapshot.readiness[i] / 100
    if item.action in (Action.ASK_REFERRAL, Action.ASK_TESTIMONIAL, Action.ASK_MORE_NAMES):
        fresh = 0.0
        pk = item.contact_id
        moments = [m for m in snapshot.moments.get(pk, []) if m.kind in item.moments]
        if moments:
            window = snapshot.workspace.window_for(moments[0].kind)
            fresh = 1 - (snapshot.on - moments[0].on).days / max(window, 1)
        return base + 0.2 * readiness + 0.1 * fresh
    if item.action in (Action.REACTIVATE, Action.RECALL):
        # Regular, loyal clients first: more purchases, more to win back.
        return base + 0.1 * min(snapshot.purchases[i], 10) / 10 + 0.05 * readiness
    if item.action == Action.TOUCH:
        return base + 0.1 * readiness
    return base + 0.04 * readiness


def build(
    workspace, on: dt.date, contact_ids=None, *, render_scripts: bool = True
) -> tuple[list[Item], Snapshot, Rules]:
    """Every item for the day. `render_scripts` fills each item's script and
    the contact's name; the stored refresh skips it (scripts are filled when
    an item is shown, so an edited script applies at once)."""
    snapshot = Snapshot(workspace, on, contact_ids)
    rules = Rules(snapshot)
    items = rules.run()
    index = snapshot.index
    for item in items:
        item.priority = round(float(min(_priority(item, snapshot, index[item.contact_id]), 1.0)), 2)
    items.sort(key=lambda item: (-item.priority, item.contact_id, item.action))
    if render_scripts and items:
        fill_scripts(workspace, items)
    return items, snapshot, rules


def fill_scripts(workspace, items) -> None:
    """Render each item's script with the contact's and the workspace's
    merge fields. Works on engine Items and on stored AgendaItems alike."""
    bodies = bodies_for(workspace)
    ids = {item.contact_id for item in items}
    people = {}
    for start in range(0, len(ids), 5000):
        chunk = sorted(ids)[start : start + 5000]
        people.update(
            (pk, rest)
            for pk, *rest in Contact.objects.filter(pk__in=chunk).values_list(
                "pk", "external_id", "first_name", "last_name", "owner__first_name"
            )
        )
    for item in items:
        external_id, first, last, owner = people.get(item.contact_id, ("", "", "", ""))
        item.external_id = external_id
        item.name = f"{first} {last}".strip()
        fields = {
            "first_name": first,
            "name": item.name,
            "business": workspace.name,
            "me": owner or "the team",
            **item.fields,
        }
        item.script = render(bodies.get(item.script_key, ""), fields)


# One encoder, made once: json.dumps(..., ensure_ascii=False) would build a
# new encoder for each of the tens of thousands of values a refresh writes.
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _insert_items(rows: list[tuple]) -> None:
    # Not bulk_create: the morning refresh writes tens of thousands of items,
    # and the ORM spends most of that time preparing values field by field
    # (measured: 1.1 s of a 2.7 s refresh at 20,000 contacts). PostgreSQL
    # takes them by COPY, SQLite by executemany. The columns are the model's.
    names = [
        "workspace",
        "contact",
        "date",
        "action",
        "key",
        "moments",
        "priority",
        "readiness",
        "why",
        "script_key",
        "fields",
    ]
    meta = AgendaItem._meta
    columns = ", ".join(meta.get_field(name).column for name in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {meta.db_table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {meta.db_table} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"
        for start in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[start : start + 5000])


def refresh(workspace, on: dt.date | None = None, contact_ids=None) -> int:
    """Rebuild the stored agenda (all of it, or some contacts') for a day.

    Also stores each contact's readiness, so the contacts list can filter on
    it. Returns the number of items.
    """
    on = on or workspace.today()
    items, snapshot, _ = build(workspace, on, contact_ids, render_scripts=False)
    encoded_moments: dict[tuple, str] = {}  # few distinct lists: encode each once
    rows = []
    for item in items:
        moments = tuple(item.moments)
        if moments not in encoded_moments:
            encoded_moments[moments] = _to_json(item.moments)
        rows.append(
            (
                workspace.pk,
                item.contact_id,
                on,
                item.action,
                item.key,
                encoded_moments[moments],
                item.priority,
                item.readiness,
                "\n".join(item.why),
                item.script_key,
                _to_json(item.fields),
            )
        )
    moved = snapshot.stored_readiness != snapshot.readiness
    changed = {
        int(value): snapshot.ids[moved & (snapshot.readiness == value)].tolist()
        for value in np.unique(snapshot.readiness[moved])
    }
    with transaction.atomic():
        stale = AgendaItem.objects.filter(workspace=workspace)
        if contact_ids is not None:
            stale = stale.filter(contact_id__in=contact_ids)
        stale._raw_delete(stale.db)  # no signals or cascades to run: one DELETE
        _insert_items(rows)
        # One UPDATE per distinct readiness value (at most 101), not per contact.
        for value, pks in changed.items():
            for start in range(0, len(pks), 5000):
                Contact.objects.filter(pk__in=pks[start : start + 5000]).update(readiness=value)
        if contact_ids is None:
            Workspace.objects.filter(pk=workspace.pk).update(agenda_date=on)
            workspace.agenda_date = on
    return len(rows)


def explain(contact, on: dt.date | None = None) -> ContactView:
    """The engine's view of one contact: readiness and reasons, moments, holds."""
    on = on or contact.workspace.today()
    items, snapshot, rules = build(contact.workspace, on, [contact.pk])
    if not len(snapshot.ids):
        return ContactView(0, [], [], [], [])
    return ContactView(
        readiness=int(snapshot.readiness[0]),
        reasons=snapshot.reasons(0),
        moments=snapshot.moments.get(contact.pk, []),
        holds=list(dict.fromkeys(rules.holds.get(contact.pk, []))),
        items=items,
    )


def ask_blockers(contact, on: dt.date | None = None) -> list[str]:
    """Why no ask may be made to this contact now (open issues, a recovery
    still under way, an unhandled complaint); empty when none. The outbox
    asks this again at send time: an issue opened after an ask was queued
    stops it."""
    snapshot = Snapshot(contact.workspace, on or contact.workspace.today(), [contact.pk])
    if not len(snapshot.ids):
        return ["the contact no longer exists"]
    return Rules(snapshot).blockers(0)
