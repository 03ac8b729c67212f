"""Rhythms, the workspace lapse model in the agenda, and the lapse triggers."""

import datetime as dt

import numpy as np
import pytest

from rapport.agenda import engine
from rapport.agenda.models import Action
from rapport.clients import rhythm
from rapport.winback import actions as winback
from rapport.winback import rules
from tests import factories


def test_median_gaps_match_a_naive_computation():
    rng = np.random.default_rng(3)
    contacts = rng.integers(0, 40, 600)
    days = rng.integers(0, 2000, 600)
    ids, medians = rhythm.medians(contacts, days)
    for contact, median in zip(ids.tolist(), medians.tolist(), strict=True):
        own = np.unique(days[contacts == contact])
        assert median == pytest.approx(float(np.median(np.diff(own))))
    assert set(ids.tolist()) == {
        c for c in set(contacts.tolist()) if len(set(days[contacts == c])) >= 2
    }


def test_medians_of_nothing_and_of_same_day_purchases():
    assert rhythm.medians(np.array([], dtype=np.int64), np.array([], dtype=np.int64))[0].size == 0
    ids, _ = rhythm.medians(np.array([1, 1, 1]), np.array([5, 5, 5]))
    assert ids.size == 0  # one day: no rhythm


@pytest.mark.django_db
def test_rhythm_is_the_median_and_kept_current_by_purchases(acme, today):
    ann = factories.contact(acme)
    gaps = [35, 35, 35, 200, 35]  # one long holiday
    days, day = [], today - dt.timedelta(days=sum(gaps) + 10)
    for gap in [0, *gaps]:
        day += dt.timedelta(days=gap)
        days.append(day)
    factories.purchases(ann, days)
    assert ann.rhythm_days == 35


def test_update_counts_the_contacts_it_changed(acme, today):
    """Regression: on SQLite the set-based update (a WITH … UPDATE) returned
    -1, as Python's sqlite3 reports no rowcount for it."""
    ann, bea = factories.contact(acme), factories.contact(acme)
    for who in (ann, bea):
        factories.purchases(who, [today - dt.timedelta(days=d) for d in (90, 60, 30)])
    assert rhythm.update(acme) == 0  # kept current already
    acme_contacts = type(ann).objects.filter(pk__in=[ann.pk, bea.pk])
    acme_contacts.update(rhythm_days=None)
    assert rhythm.update(acme) == 2
    assert rhythm.update(acme, [ann.pk]) == 0


@pytest.mark.django_db
def test_a_small_workspace_falls_back_and_says_why(acme, today):
    ann = factories.client_with_history(acme, today)
    winback.refit_lapse_model(acme, today)
    acme.refresh_from_db()
    assert "fallback" in acme.lapse_model and "needed to fit" in acme.lapse_model["fallback"]
    items, snapshot, _ = engine.build(acme, today, [ann.pk])
    assert np.isnan(snapshot.p_alive).all()


@pytest.mark.django_db
def test_the_workspace_model_flags_a_regular_client_who_stopped(acme, today):
    # Eighty clients of varied habits over two years, some of whom drifted
    # away (the heterogeneity BG/NBD needs), and one weekly client who stopped.
    rng = np.random.default_rng(1)
    for n in range(80):
        person = factories.contact(acme, first_name=f"R{n}")
        every = rng.gamma(2.0, 10.0) + 3
        stop = 730 if rng.random() < 0.6 else rng.uniform(60, 730)
        offsets = np.cumsum(rng.exponential(every, 200))
        offsets = offsets[offsets < stop]
        days = sorted(
            {today - dt.timedelta(days=730 - int(o)) for o in offsets}
            | {today - dt.timedelta(days=730)}
        )
        factories.purchases(person, days)
    gone = factories.contact(acme, first_name="Gone")
    factories.purchases(gone, [today - dt.timedelta(days=60 + 7 * k) for k in range(12)])
    winback.refit_lapse_model(acme, today)
    acme.refresh_from_db()
    assert {"r", "alpha", "a", "b"} <= set(acme.lapse_model)
    items, snapshot, _ = engine.build(acme, today, [gone.pk])
    assert snapshot.p_alive[0] < rules.P_ALIVE_THRESHOLD
    item = {i.action: i for i in items}[Action.REACTIVATE]
    assert item.why[0].startswith("used to come every week; nothing for 9 weeks")
    assert "chance they are still a client" in item.why[1]


@pytest.mark.django_db
def test_recall_triggers_on_the_day_in_the_workspace_time_zone(acme):
    # Recall every 183 days, last visit 2026-01-01: due on 2026-07-03 (London
    # date), lapsed from 244 days; the time zone decides which day "now" is.
    acme.recall_interval_days = 183
    acme.save()
    pat = factories.contact(acme, first_name="Pat")
    factories.purchases(pat, [dt.date(2025, 7, 1), dt.date(2026, 1, 1)])
    late_evening = dt.datetime(2026, 7, 2, 23, 30, tzinfo=dt.UTC)  # 00:30 on the 3rd in London
    day = acme.today(late_evening)
    assert day == dt.date(2026, 7, 3)

    def actions_on(on):
        return {i.action for i in engine.build(acme, on, [pat.pk])[0]}

    assert Action.RECALL not in actions_on(day - dt.timedelta(days=1))
    assert Action.RECALL in actions_on(day)
    assert Action.REACTIVATE not in actions_on(dt.date(2026, 1, 1) + dt.timedelta(days=243))
    assert Action.REACTIVATE in actions_on(dt.date(2026, 1, 1) + dt.timedelta(days=244))


def test_typical_amounts_ignore_purchases_without_an_amount():
    contacts = np.array([1, 1, 2, 2, 3])
    amounts = np.array([10.0, 30.0, np.nan, 5.0, np.nan])
    assert rhythm.typical_amounts(contacts, amounts) == {1: 20.0, 2: 5.0}
