"""Today: a day's work a person can do.

The stored agenda ranks everything; a person can do only so many actions a
day (their `Membership.daily_capacity`, 25 by default). Today shows the top of
the ranking up to that capacity, grouped by action (the strongest group
first), and keeps the rest one click away, in pages of the same size. What is
not done today is still there tomorrow, ranked by priority again. Win-back
calls beyond the day's capacity are offered as one batch of emails (through
the outbox, and every gate): a practice with hundreds of lapsed patients
does not call them all in a day.
"""

import math
from dataclasses import dataclass, field

from django.db.models import QuerySet

from rapport.agenda.engine import fill_scripts
from rapport.agenda.models import Action, AgendaItem
from rapport.outreach.models import Ask

ACTION_LABEL = dict(Action.choices)


@dataclass
class Group:
    action: str
    label: str
    items: list[AgendaItem] = field(default_factory=list)


@dataclass
class Day:
    groups: list[Group]
    total: int  # items in scope
    capacity: int
    page: int
    pages: int
    beyond_reactivations: int  # win-back calls ranked past the day's capacity

    @property
    def shown(self) -> int:
        return sum(len(group.items) for group in self.groups)

    @property
    def more(self) -> int:
        return max(self.total - self.page * self.capacity, 0)


def in_scope(workspace, user, *, scope: str = "mine", action: str | None = None) -> QuerySet:
    """The stored items a user sees, most important first."""
    items = AgendaItem.objects.in_workspace(workspace)
    if scope == "mine":
        items = items.for_user(user)
    if action in Action.values:
        items = items.filter(action=action)
    return items.order_by("-priority", "id")


def beyond_capacity(items: QuerySet, capacity: int, action: str) -> QuerySet:
    """Items of `action` ranked after the first `capacity` items."""
    first = list(items.values_list("pk", flat=True)[:capacity])
    return items.filter(action=action).exclude(pk__in=first)


def last_asks(workspace, contact_ids) -> dict[int, Ask]:
    """The latest ask of each contact (one query, whatever their number)."""
    latest: dict[int, Ask] = {}
    asks = (
        Ask.objects.filter(workspace=workspace, contact_id__in=list(contact_ids))
        .only("contact_id", "kind", "asked_on", "outcome", "channel")
        .order_by("contact_id", "-asked_at", "-id")
    )
    for ask in asks:
        latest.setdefault(ask.contact_id, ask)
    return latest


def plan_day(workspace, user, *, capacity: int, scope="mine", action=None, page=1) -> Day:
    items = in_scope(workspace, user, scope=scope, action=action)
    total = items.count()
    pages = max(math.ceil(total / capacity), 1)
    page = min(max(page, 1), pages)
    shown = list(
        items.select_related("contact", "contact__organization")[
            (page - 1) * capacity : page * capacity
        ]
    )
    fill_scripts(workspace, shown)
    asks = last_asks(workspace, {item.contact_id for item in shown})
    groups: dict[str, Group] = {}
    for item in shown:
        item.last_ask = asks.get(item.contact_id)
        groups.setdefault(item.action, Group(item.action, ACTION_LABEL[item.action]))
        groups[item.action].items.append(item)
    beyond = 0
    if action in (None, "", Action.REACTIVATE):
        beyond = beyond_capacity(items, page * capacity, Action.REACTIVATE).count()
    return Day(list(groups.values()), total, capacity, page, pages, beyond)
