"""Tests for the BG/NBD lapse model (rapport.lib.bgnbd); fast, no data download."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import optimize, special

from rapport.lib import bgnbd

CDNOW_PARAMS = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


def random_histories(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Valid (x, t_x, T) with a mix of zero and positive frequencies and repeated rows."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 60, n) / 7.0 * 7  # whole weeks: makes identical rows likely
    x = rng.poisson(1.2, n).astype(float)
    t_x = np.where(x > 0, np.floor(rng.uniform(0, 1, n) * T), 0.0)
    return x, t_x, T


def simulate_histories(
    n: int, params: bgnbd.BgNbdParams = CDNOW_PARAMS, seed: int = 0, resolution: float = 1 / 7
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers drawn from a BG/NBD by following each one (a plain loop: an independent check),
    with times rounded down to ``resolution`` (days, in weeks) so that histories repeat."""
    rng = np.random.default_rng(seed)
    x, t_x, T = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        rate = rng.gamma(params.r, 1 / params.alpha)
        dropout = rng.beta(params.a, params.b)
        T[i] = np.floor(rng.uniform(27, 39) / resolution) * resolution
        clock = 0.0
        while True:
            clock += rng.exponential(1 / rate)
            if clock > T[i]:
                break
            x[i] += 1
            t_x[i] = clock
            if rng.random() < dropout:
                break
    t_x = np.floor(t_x / resolution) * resolution
    return x, t_x, T


def naive_log_likelihood(params: bgnbd.BgNbdParams, x, t_x, T) -> float:
    """FHL (2005) eq. 6 written out directly, as an independent oracle."""
    r, alpha, a, b = params.as_tuple()
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common = (
        special.betaln(a, b + x)
        - special.betaln(a, b)
        + special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
    )
    alive = np.exp(common - (r + x) * np.log(alpha + T))
    with np.errstate(divide="ignore"):
        dropped = np.where(
            x > 0,
            np.exp(
                special.betaln(a + 1, np.maximum(b + x - 1, 1e-300))
                - special.betaln(a, b)
                + special.gammaln(r + x)
                - special.gammaln(r)
                + r * np.log(alpha)
                - (r + x) * np.log(alpha + t_x)
            ),
            0.0,
        )
    return float(np.sum(np.log(alive + dropped)))


# ------------------------------------------------------------------------------------------
# Likelihood and derivatives
# ------------------------------------------------------------------------------------------


def test_log_likelihood_matches_the_papers_formula():
    x, t_x, T = random_histories(500)
    for params in (CDNOW_PARAMS, bgnbd.BgNbdParams(2.0, 10.0, 1.5, 0.7)):
        ours = bgnbd.log_likelihood(params, x, t_x, T)
        assert ours == pytest.approx(naive_log_likelihood(params, x, t_x, T), rel=1e-12)


@pytest.mark.parametrize("collapse", [True, False])
def test_analytic_gradient_and_hessian_match_finite_differences(collapse):
    x, t_x, T = random_histories(400, seed=1)
    data = bgnbd._prepare(x, t_x, T, np.ones(len(x)), scale=T.mean(), collapse=collapse)
    step = 1e-6
    for theta in (np.log([0.5, 0.3, 1.2, 2.0]), np.log([0.05, 2.0, 0.3, 8.0])):
        _, gradient, hessian = bgnbd._pass(theta, data, 2)
        basis = np.eye(4)
        numeric_gradient = np.array(
            [
                (
                    bgnbd._pass(theta + step * e, data, 0)[0]
                    - bgnbd._pass(theta - step * e, data, 0)[0]
                )
                / (2 * step)
                for e in basis
            ]
        )
        numeric_hessian = np.array(
            [
                (
                    bgnbd._pass(theta + step * e, data, 1)[1]
                    - bgnbd._pass(theta - step * e, data, 1)[1]
                )
                / (2 * step)
                for e in basis
            ]
        )
        np.testing.assert_allclose(gradient, numeric_gradient, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(hessian, numeric_hessian, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(hessian, hessian.T)


def test_collapsing_identical_histories_changes_nothing():
    x, t_x, T = random_histories(2000, seed=2)
    weights = np.ones(len(x))
    collapsed = bgnbd._prepare(x, t_x, T, weights, scale=1.0, collapse=True)
    full = bgnbd._prepare(x, t_x, T, weights, scale=1.0, collapse=False)
    assert collapsed.rows < full.rows
    theta = np.log([0.4, 5.0, 0.8, 2.0])
    a, b = bgnbd._pass(theta, collapsed, 2), bgnbd._pass(theta, full, 2)
    assert a[0] == pytest.approx(b[0], rel=1e-13)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(a[2], b[2], rtol=1e-11, atol=1e-14)


# ------------------------------------------------------------------------------------------
# Fitting
# ------------------------------------------------------------------------------------------


def test_fit_reaches_the_maximum():
    x, t_x, T = simulate_histories(3000, seed=3)
    result = bgnbd.fit(x, t_x, T)
    assert result.usable and result.converged, result.reason
    # A generic optimiser on the naive formula cannot do better.
    generic = optimize.minimize(
        lambda theta: -naive_log_likelihood(bgnbd.BgNbdParams(*np.exp(theta)), x, t_x, T),
        np.log(result.params.as_tuple()) + 0.3,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000, "maxfev": 20000},
    )
    assert result.log_likelihood >= -generic.fun - 1e-7
    assert result.log_likelihood == pytest.approx(
        naive_log_likelihood(result.params, x, t_x, T), rel=1e-12
    )
    assert all(se is not None and se > 0 for se in result.standard_errors)


def test_fit_on_a_subsample_start_matches_a_direct_fit(monkeypatch):
    x, t_x, T = simulate_histories(20_000, seed=4, resolution=1e-9)  # few repeated rows
    direct = bgnbd.fit(x, t_x, T)
    monkeypatch.setattr(bgnbd, "SUBSAMPLE_ROWS", 1000)
    via_subsample = bgnbd.fit(x, t_x, T)
    assert via_subsample.subsample_passes > 0 and direct.subsample_passes == 0
    assert via_subsample.converged
    np.testing.assert_allclose(via_subsample.params.as_tuple(), direct.params.as_tuple(), rtol=1e-6)
    assert via_subsample.log_likelihood == pytest.approx(direct.log_likelihood, rel=1e-12)


def test_weights_are_customer_counts():
    x, t_x, T = simulate_histories(300, seed=5)
    weights = np.random.default_rng(5).integers(1, 4, len(x))
    weighted = bgnbd.fit(x, t_x, T, weights=weights)
    expanded = bgnbd.fit(*(np.repeat(v, weights) for v in (x, t_x, T)))
    np.testing.assert_allclose(weighted.params.as_tuple(), expanded.params.as_tuple(), rtol=1e-6)
    assert weighted.log_likelihood == pytest.approx(expanded.log_likelihood, rel=1e-10)
    assert weighted.n_customers == weights.sum()


def test_time_unit_only_rescales_alpha_and_the_likelihood():
    x, t_x, T = simulate_histories(2000, seed=6)
    weeks = bgnbd.fit(x, t_x, T)
    days = bgnbd.fit(x, t_x * 7, T * 7)
    np.testing.assert_allclose(
        [days.r, days.alpha / 7, days.a, days.b], weeks.params.as_tuple(), rtol=1e-6
    )
    # lambda^x in the likelihood: per-day rates are 1/7 of weekly ones.
    assert days.log_likelihood == pytest.approx(
        weeks.log_likelihood - x.sum() * math.log(7), rel=1e-10
    )


def assert_clean_fallback(result: bgnbd.FitResult) -> None:
    assert result.fallback and not result.usable
    assert result.reason
    for value in (result.r, result.alpha, result.a, result.b, result.log_likelihood):
        assert value is None or math.isfinite(value)


@pytest.mark.parametrize(
    ("x", "t_x", "T", "reason"),
    [
        ([], [], [], "no customers"),
        ([3], [10.0], [20.0], "too few customers"),
        ([0] * 50, [0.0] * 50, [30.0] * 50, "no repeat purchases"),
        ([0] * 50, [0.0] * 50, [0.0] * 50, "no repeat purchases"),
    ],
    ids=["empty", "one customer", "all single purchases", "all on the last day"],
)
def test_degenerate_histories_fall_back(x, t_x, T, reason):
    result = bgnbd.fit(x, t_x, T)
    assert_clean_fallback(result)
    assert reason in result.reason
    with pytest.raises(ValueError, match="no fitted parameters"):
        _ = result.params


def test_everything_on_one_day_falls_back_through_summarize():
    ids = np.repeat(np.arange(40), 3)
    dates = np.full(len(ids), np.datetime64("2024-03-01"))
    for end in ("2024-03-01", "2024-06-01"):
        summary = bgnbd.summarize(ids, dates, end=end)
        assert summary.x.sum() == 0
        assert_clean_fallback(bgnbd.fit(summary.x, summary.t_x, summary.T))


@pytest.mark.parametrize("seed", range(6))
def test_tiny_histories_never_give_nan(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 16))
    T = rng.uniform(1, 50, n)
    x = rng.integers(0, 4, n).astype(float)
    t_x = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    if seed % 2:
        t_x = np.where(x > 0, T, 0.0)  # nobody shows any sign of having dropped out
    result = bgnbd.fit(x, t_x, T)
    if result.fallback:
        assert_clean_fallback(result)
    else:
        assert all(math.isfinite(v) for v in (*result.params.as_tuple(), result.log_likelihood))


def test_identical_customers_are_degenerate():
    result = bgnbd.fit([1.0] * 20, [30.0] * 20, [30.0] * 20)
    assert_clean_fallback(result)
    assert "degenerate" in result.reason


@pytest.mark.parametrize(
    ("x", "t_x", "T"),
    [([-1], [0], [1]), ([1.5], [0], [1]), ([1], [2], [1]), ([1], [np.nan], [1])],
)
def test_invalid_histories_raise(x, t_x, T):
    with pytest.raises(ValueError):
        bgnbd.fit(x * 20, t_x * 20, T * 20)


# ------------------------------------------------------------------------------------------
# Scoring
# ------------------------------------------------------------------------------------------


def test_p_alive_rises_with_recency():
    recency = np.linspace(0, 40, 81)
    for x in (1, 2, 5, 20):
        alive = bgnbd.p_alive(CDNOW_PARAMS, np.full(81, x), recency, np.full(81, 40.0))
        assert np.all(np.diff(alive) > 0)
        assert alive[0] > 0 and alive[-1] <= 1
    assert np.all(bgnbd.p_alive(CDNOW_PARAMS, [0, 0], [0, 0], [5.0, 50.0]) == 1.0)


def quadrature_expectation(params, t, x, t_x, T):
    """Independent oracle: P(alive) times a 128-point Gauss-Jacobi integral over p."""
    r, alpha, a, b = params.as_tuple()
    x, T = np.asarray(x, float), np.asarray(T, float)
    t = np.broadcast_to(np.asarray(t, float), x.shape)
    if_alive = bgnbd._expected_if_alive_quadrature(r, alpha, a, b, x, T, t)
    return bgnbd.p_alive(params, x, t_x, T) * if_alive


@pytest.mark.parametrize(
    "params",
    [
        CDNOW_PARAMS,
        bgnbd.BgNbdParams(1.7, 12.0, 2.5, 9.0),
        bgnbd.BgNbdParams(0.1, 0.8, 0.2, 0.4),
        bgnbd.BgNbdParams(0.6, 3.0, 1.0, 4.0),  # a = 1: the closed form is 0/0 here
        bgnbd.BgNbdParams(0.6, 3.0, 1.003, 4.0),
        bgnbd.BgNbdParams(3.0, 3.0, 1.0 + 1e-9, 4.0),
        bgnbd.BgNbdParams(2.0, 5.0, 4.0, 0.3),  # c - a - b is an integer: scipy's weak spot
    ],
)
def test_expected_purchases_match_quadrature(params):
    rng = np.random.default_rng(7)
    n = 300
    x = rng.choice([0, 1, 2, 5, 12, 40, 150], n).astype(float)
    T = rng.uniform(0, 80, n)
    t_x = np.where(x > 0, rng.uniform(0, 1, n) * T, 0.0)
    t = rng.uniform(0.5, 1, n) * (params.alpha + T) * rng.choice([0.05, 1.0, 5.0], n)
    ours = bgnbd.expected_purchases(params, t, x, t_x, T)
    np.testing.assert_allclose(ours, quadrature_expectation(params, t, x, t_x, T), rtol=2e-8)


def test_expected_purchases_of_new_customers():
    # Short horizons: the mean purchase rate r / alpha; long ones grow, then level off.
    small = bgnbd.expected_purchases_new(CDNOW_PARAMS, 1e-4)
    assert small == pytest.approx(1e-4 * CDNOW_PARAMS.r / CDNOW_PARAMS.alpha, rel=1e-3)
    values = bgnbd.expected_purchases_new(CDNOW_PARAMS, [1.0, 39.0, 78.0, 1000.0])
    assert np.all(np.diff(values) > 0)
    at_zero = bgnbd.expected_purchases(CDNOW_PARAMS, 39.0, [0.0], [0.0], [0.0])
    assert values[1] == pytest.approx(at_zero[0], rel=1e-14)


def test_score_on_many_customers_uses_distinct_pairs_consistently():
    x, t_x, T = random_histories(20_000, seed=8)
    scores = bgnbd.score(CDNOW_PARAMS, 39.0, x, t_x, T)
    direct = bgnbd._expected_if_alive(CDNOW_PARAMS.as_tuple(), x, T, np.full(len(x), 39.0))
    np.testing.assert_allclose(scores.expected_purchases, scores.p_alive * direct, rtol=1e-14)
    np.testing.assert_allclose(scores.p_alive, bgnbd.p_alive(CDNOW_PARAMS, x, t_x, T))


def test_scoring_accepts_a_fit_result_and_keeps_shapes():
    x, t_x, T = simulate_histories(2000, seed=9)
    result = bgnbd.fit(x, t_x, T)
    assert result.usable, result.reason
    grid = bgnbd.expected_purchases(
        result, 10.0, x.reshape(40, 50), t_x.reshape(40, 50), T.reshape(40, 50)
    )
    assert grid.shape == (40, 50)
    assert np.all(np.isfinite(grid)) and np.all(grid >= 0)


# ------------------------------------------------------------------------------------------
# Summary of raw purchases
# ------------------------------------------------------------------------------------------


def naive_summary(ids, days, end, unit):
    per_customer: dict[object, set[int]] = {}
    for customer, day in zip(ids, days, strict=True):
        if day <= end:
            per_customer.setdefault(customer, set()).add(int(day))
    rows = []
    for customer in sorted(per_customer):
        purchase_days = sorted(per_customer[customer])
        first, last = purchase_days[0], purchase_days[-1]
        rows.append((customer, len(purchase_days) - 1, (last - first) / unit, (end - first) / unit))
    return rows


@pytest.mark.parametrize("id_kind", ["small ints", "huge ints", "strings"])
def test_summarize_agrees_with_a_naive_reference(id_kind):
    rng = np.random.default_rng(10)
    n = 5000
    ids = rng.integers(0, 700, n)
    if id_kind == "huge ints":
        ids = ids * 10**15 - 2**62  # forces the ranking path (the key would overflow)
    elif id_kind == "strings":
        ids = np.array([f"cust-{i:04d}" for i in ids])
    days = rng.integers(10_000, 10_400, n)  # many same-day repeats
    end = 10_350  # some purchases after the end
    summary = bgnbd.summarize(ids, days, end=end, unit_days=7)
    expected = naive_summary(ids.tolist(), days.tolist(), end, 7.0)
    assert summary.customer_ids.tolist() == [row[0] for row in expected]
    np.testing.assert_array_equal(summary.x, [row[1] for row in expected])
    np.testing.assert_allclose(summary.t_x, [row[2] for row in expected], rtol=1e-15)
    np.testing.assert_allclose(summary.T, [row[3] for row in expected], rtol=1e-15)
    assert len(summary) == len(expected)


def test_summarize_accepts_dates_in_several_forms():
    ids = np.array([1, 1, 2, 1, 2])
    as_dates = [dt.date(2024, 1, 1), dt.date(2024, 1, 8), dt.date(2024, 1, 3), dt.date(2024, 1, 8),
                dt.date(2024, 2, 1)]  # fmt: skip
    expected = bgnbd.summarize(ids, np.array(as_dates, dtype="datetime64[D]"), end="2024-01-31")
    for dates in (
        as_dates,
        np.array(as_dates, dtype="datetime64[D]").astype("datetime64[ns]"),
        [d.isoformat() for d in as_dates],
    ):
        got = bgnbd.summarize(ids, dates, end=dt.date(2024, 1, 31))
        np.testing.assert_array_equal(got.x, expected.x)
        np.testing.assert_array_equal(got.T, expected.T)
    # Customer 2's second purchase is after the end; customer 1 bought twice on 2024-01-08.
    np.testing.assert_array_equal(expected.x, [1, 0])
    np.testing.assert_allclose(expected.t_x, [1.0, 0.0])
    np.testing.assert_allclose(expected.T, [30 / 7, 28 / 7])
    in_days = bgnbd.summarize(ids, as_dates, end="2024-01-31", unit_days=1)
    np.testing.assert_allclose(in_days.T, [30, 28])


def test_summarize_empty_and_all_after_end():
    empty = bgnbd.summarize(np.array([], dtype=np.int64), np.array([], dtype="datetime64[D]"),
                            end="2024-01-01")  # fmt: skip
    assert len(empty) == 0
    late = bgnbd.summarize([1, 2], ["2024-02-01", "2024-03-01"], end="2024-01-01")
    assert len(late) == 0
    assert_clean_fallback(bgnbd.fit(late.x, late.t_x, late.T))
