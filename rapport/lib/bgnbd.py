"""The BG/NBD customer-lapse model, fitted by maximum likelihood with NumPy/SciPy.

Reference: Fader, Hardie & Lee, "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2), 2005 (below: FHL). A customer buys at a Poisson rate
lambda ~ Gamma(r, alpha) while active and, after each repeat purchase, drops out for good with
probability p ~ Beta(a, b).

Why a hand-written likelihood rather than a library: the usual Python implementation (lifetimes)
is unmaintained, pinned to old numpy/pandas and slow on large workspaces (autograd gradients over
every customer plus a Hessian on each fit). Here every pass over the data is plain vectorised
NumPy, the functions of the frequency alone (log-gamma, digamma) are evaluated once per distinct
frequency rather than once per customer, customers with identical histories are collapsed into
weighted rows, and the optimum is polished with exact Newton steps so that few passes are needed.

Time is measured in an arbitrary unit (weeks in FHL); the fitted ``alpha`` and the
log-likelihood are expressed in the unit of the inputs. No Django imports: this module is used by
the win-back feature and by the ``rapport bench lapse`` benchmark alike.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import linalg, special

__all__ = [
    "BgNbdParams",
    "FitResult",
    "Scores",
    "Summary",
    "expected_purchases",
    "expected_purchases_new",
    "fit",
    "log_likelihood",
    "p_alive",
    "params_from",
    "score",
    "summarize",
    "weekly_history",
]

FloatArray = NDArray[np.float64]

# Log-parameters are kept within +-LOG_BOUND: exp(18) ~ 6.6e7. A fit that ends on a bound means
# the data do not identify the model (e.g. no sign of drop-out), which is reported as a fallback.
LOG_BOUND = 18.0
# Above this many distinct rows, starting values come from a fit on a random subsample of rows and
# the full data only see the last few Newton passes.
SUBSAMPLE_ROWS = 20_000
# Newton iterations stop when the predicted gain in the *mean* log-likelihood is below this (and
# then take that last step): below ~1e-14 the decrement is rounding noise of sums over customers.
NEWTON_DECREMENT_TOL = 1e-13
SUBSAMPLE_DECREMENT_TOL = 1e-10
NOISE_DECREMENT = 1e-10
MAX_NEWTON_ITERATIONS = 50
MAX_LINE_SEARCH_STEPS = 20
# Largest change of a log-parameter in one Newton step (a factor e^3 = 20).
MAX_LOG_STEP = 3.0
# A non-converged fit with a log-parameter beyond this (a parameter above ~1e4 or below ~1e-4
# times its natural scale) is drifting along a direction the data do not pin down.
DRIFT_LOG_BOUND = 9.2


# --------------------------------------------------------------------------------------------
# Summary of raw purchases: (x, t_x, T) per customer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """Per-customer history as the model sees it, customers in ascending id order.

    ``x`` is the number of repeat purchase days (a customer's first day is not counted, and several
    purchases on one day count once), ``t_x`` the time from the first to the last purchase day and
    ``T`` the time from the first purchase day to ``end``, both in units of ``unit_days`` days.
    """

    customer_ids: np.ndarray
    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    first_day: np.ndarray
    unit_days: float

    def __len__(self) -> int:
        return len(self.customer_ids)


def _to_day_numbers(values: ArrayLike) -> NDArray[np.int64]:
    """Dates (datetime64 of any unit, date objects, ISO strings) or integer day numbers -> int64."""
    array = np.asarray(values)
    if array.dtype.kind == "M":
        return array.astype("datetime64[D]").view(np.int64)
    if array.dtype.kind in "iu":
        return array.astype(np.int64, copy=False)
    if array.dtype.kind == "f":
        if array.size and not np.all(np.isfinite(array) & (array == np.floor(array))):
            raise ValueError("float day numbers must be whole numbers")
        return array.astype(np.int64)
    # Objects or strings: let NumPy parse them as calendar dates.
    return array.astype("datetime64[D]").view(np.int64)


def _end_day_number(end: object) -> int:
    if isinstance(end, _dt.datetime):
        end = end.date()
    if isinstance(end, int | np.integer):
        return int(end)
    return int(np.datetime64(end, "D").astype(np.int64))


def _factorize(values: np.ndarray) -> tuple[np.ndarray, NDArray[np.int64]]:
    """Sorted distinct values and each element's index into them.

    Sort-based on purpose: np.unique can take a hash-based path on recent NumPy that is two orders
    of magnitude slower than a sort on millions of distinct integers (4.5 s against 35 ms).
    """
    order = np.argsort(values, kind="stable" if values.dtype.kind in "OUS" else None)
    ordered = values[order]
    starts = np.empty(len(ordered), dtype=bool)
    if len(ordered):
        starts[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    codes = np.empty(len(values), dtype=np.int64)
    codes[order] = np.cumsum(starts) - 1
    return ordered[starts], codes


def summarize(
    customer_ids: ArrayLike,
    dates: ArrayLike,
    *,
    end: object,
    unit_days: float = 7.0,
) -> Summary:
    """Collapse purchase records into the BG/NBD summary (x, t_x, T) per customer.

    ``dates`` are numpy datetime64 (any resolution, truncated to the day), dates or ISO strings, or
    integer day numbers; ``end`` is the last day of the observation period (inclusive), as a date
    or a day number. Day numbers count from 1970-01-01 (numpy's datetime64[D]) when mixed with
    dates.
    Purchases after ``end`` are ignored, and so are customers whose first purchase is after it.
    Fully vectorised: one sort of (customer, day) keys, no loop over customers.
    """
    ids = np.asarray(customer_ids)
    days = _to_day_numbers(dates)
    if ids.shape != days.shape or ids.ndim != 1:
        raise ValueError("customer_ids and dates must be 1-d arrays of the same length")
    if unit_days <= 0:
        raise ValueError("unit_days must be positive")
    end_day = _end_day_number(end)

    observed = days <= end_day
    if not observed.all():
        ids, days = ids[observed], days[observed]
    if len(days) == 0:
        empty = np.empty(0)
        return Summary(ids[:0], empty, empty, empty, np.empty(0, np.int64), float(unit_days))

    first_day_overall = int(days.min())
    span = end_day - first_day_overall + 1
    # One int64 key per purchase: customer * span + day offset. Integer ids are used as they are
    # when the key cannot overflow; anything else is first replaced by its rank.
    id_labels: np.ndarray | None = None
    if ids.dtype.kind in "iu":
        id_min, id_max = int(ids.min()), int(ids.max())
        if (id_max - id_min + 1) * span < 2**62:
            id_codes = ids.astype(np.int64) - id_min
        else:
            id_labels, id_codes = _factorize(ids)
    else:
        id_labels, id_codes = _factorize(ids)
    keys = id_codes * span + (days - first_day_overall)
    keys.sort()
    distinct = np.empty(len(keys), dtype=bool)
    distinct[0] = True
    np.not_equal(keys[1:], keys[:-1], out=distinct[1:])
    keys = keys[distinct]  # one key per customer-day, sorted by customer then day

    customer_code, day_offset = np.divmod(keys, span)
    new_customer = np.empty(len(keys), dtype=bool)
    new_customer[0] = True
    np.not_equal(customer_code[1:], customer_code[:-1], out=new_customer[1:])
    starts = np.flatnonzero(new_customer)
    ends = np.append(starts[1:], len(keys)) - 1

    first = day_offset[starts]
    x = (ends - starts).astype(np.float64)
    t_x = (day_offset[ends] - first) / float(unit_days)
    T = ((end_day - first_day_overall) - first) / float(unit_days)
    codes = customer_code[starts]
    out_ids = id_labels[codes] if id_labels is not None else codes + id_min
    return Summary(out_ids, x, t_x, T, first + first_day_overall, float(unit_days))


# --------------------------------------------------------------------------------------------
# Parameters, data preparation and the likelihood
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters; ``alpha`` is in the time unit of the data it was fitted on."""

    r: float
    alpha: float
    a: float
    b: float

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.r, self.alpha, self.a, self.b)


def params_from(stored: dict) -> BgNbdParams | None:
    """Parameters stored as a mapping ({"r", "alpha", "a", "b", ...}); None
    when the mapping holds no fitted model (a fallback, or nothing yet)."""
    if not all(key in stored for key in ("r", "alpha", "a", "b")):
        return None
    return BgNbdParams(stored["r"], stored["alpha"], stored["a"], stored["b"])


WEEK_DAYS = 7.0


def weekly_history(
    purchase_days: FloatArray, first_day: FloatArray, last_day: FloatArray, today: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(x, t_x, T) in weeks from per-customer counts of purchase days and the
    day numbers of their first and last purchase (customers with at least one)."""
    x = purchase_days - 1
    t_x = (last_day - first_day) / WEEK_DAYS
    T = (today - first_day) / WEEK_DAYS
    return x, t_x, T


def _unpack(params: ParamsLike) -> tuple[float, float, float, float]:
    if isinstance(params, FitResult):
        params = params.params
    if isinstance(params, BgNbdParams):
        return params.as_tuple()
    r, alpha, a, b = (float(v) for v in params)
    return r, alpha, a, b


def _as_histories(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Validated float64 copies of (x, t_x, T, weights); invalid histories raise ValueError."""
    x_arr, t_arr, T_arr = (np.asarray(v, dtype=np.float64).ravel() for v in (x, t_x, T))
    if not (len(x_arr) == len(t_arr) == len(T_arr)):
        raise ValueError("x, t_x and T must have the same length")
    w_arr = np.ones(len(x_arr)) if weights is None else np.asarray(weights, np.float64).ravel()
    if len(w_arr) != len(x_arr):
        raise ValueError("weights must have the same length as x")
    if len(x_arr):
        finite = np.isfinite(x_arr) & np.isfinite(t_arr) & np.isfinite(T_arr) & np.isfinite(w_arr)
        if not finite.all():
            raise ValueError("x, t_x, T and weights must be finite")
        if (x_arr < 0).any() or (x_arr != np.floor(x_arr)).any():
            raise ValueError("x must be non-negative whole numbers")
        if (t_arr < 0).any() or (t_arr > T_arr * (1 + 1e-12) + 1e-12).any():
            raise ValueError("0 <= t_x <= T must hold for every customer")
        if (w_arr < 0).any():
            raise ValueError("weights must be non-negative")
    return x_arr, t_arr, T_arr, w_arr


def _group_sum(keys: np.ndarray, weights: FloatArray) -> tuple[np.ndarray, FloatArray, np.ndarray]:
    """Sorted distinct keys, the summed weights per key, and the first index of each in ``keys``."""
    order = np.argsort(keys)
    ordered = keys[order]
    starts = np.empty(len(ordered), dtype=bool)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    start_index = np.flatnonzero(starts)
    return ordered[start_index], np.add.reduceat(weights[order], start_index), order[start_index]


@dataclass
class _Prepared:
    """Data in the form the likelihood passes use; times already divided by ``scale``."""

    total_weight: float
    x_weights: FloatArray  # total weight per frequency 0..max(x)
    zero_T: FloatArray  # customers with x == 0 depend on T alone: grouped by T
    zero_w: FloatArray
    pos_x: FloatArray  # customers with x > 0, one (possibly collapsed) row each
    pos_xi: NDArray[np.int64]
    pos_t: FloatArray
    pos_T: FloatArray
    pos_w: FloatArray
    scale: float
    weighted_x: float  # sum of w * x, for converting the log-likelihood between time units

    @property
    def rows(self) -> int:
        return len(self.zero_T) + len(self.pos_x)


def _prepare(
    x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray, scale: float, collapse: bool
) -> _Prepared:
    keep = w > 0
    if not keep.all():
        x, t_x, T, w = x[keep], t_x[keep], T[keep], w[keep]
    xi = x.astype(np.int64)
    x_weights = np.bincount(xi, weights=w).astype(np.float64)
    zero = xi == 0
    zero_T, zero_w = T[zero] / scale, w[zero]
    if len(zero_T) > 1:
        # A customer without repeat purchases contributes -r log(alpha + T) (plus frequency terms)
        zero_T, zero_w, _ = _group_sum(zero_T, zero_w)
    pos = ~zero
    pos_xi, pos_t, pos_T, pos_w = xi[pos], t_x[pos] / scale, T[pos] / scale, w[pos]
    if collapse and len(pos_xi) > 1:
        # Identical (x, t_x, T) rows give identical terms: one weighted row per distinct history.
        # The three columns are turned into dense codes and combined into one int64 key.
        t_values, t_codes = _factorize(pos_t)
        T_values, T_codes = _factorize(pos_T)
        n_t, n_T = len(t_values), len(T_values)
        if (int(pos_xi.max()) + 1) * n_t * n_T < 2**62:
            key = (pos_xi * n_t + t_codes) * n_T + T_codes
            _, pos_w, first = _group_sum(key, pos_w)
            pos_xi, pos_t, pos_T = pos_xi[first], pos_t[first], pos_T[first]
    return _Prepared(
        total_weight=float(w.sum()),
        x_weights=x_weights,
        zero_T=np.ascontiguousarray(zero_T),
        zero_w=np.ascontiguousarray(zero_w),
        pos_x=pos_xi.astype(np.float64),
        pos_xi=pos_xi,
        pos_t=np.ascontiguousarray(pos_t),
        pos_T=np.ascontiguousarray(pos_T),
        pos_w=np.ascontiguousarray(pos_w),
        scale=scale,
        weighted_x=float(_dot(w, x)),
    )


def _pass(
    theta: FloatArray, data: _Prepared, order: int, exact: bool = False
) -> tuple[float, FloatArray | None, FloatArray | None]:
    """Mean negative log-likelihood at log-parameters ``theta`` = log(r, alpha, a, b).

    ``order`` 0 returns the value only, 1 adds the gradient and 2 the Hessian (all with respect to
    theta, all divided by the total weight so that tolerances do not depend on the data size).
    ``exact`` sums the value with correct rounding, for comparing nearby optima (slower).

    Per customer (FHL eq. 6, in logs):
        ll = A1(x) + A2(x) + log(exp(A3) + [x > 0] exp(A4))
        A1 = log G(r + x) - log G(r) + r log(alpha)
        A2 = log B(a, b + x) - log B(a, b)
        A3 = -(r + x) log(alpha + T)
        A4 = log a - log(b + x - 1) - (r + x) log(alpha + t_x)
    A1 + A2 only depend on x, so they are evaluated once per distinct frequency. For x > 0 the last
    term is A3 + softplus(d) with d = A4 - A3, computed stably; its derivative is the weight
    p = sigmoid(d) of the "dropped out after the last purchase" branch.
    """
    r, alpha, a, b = np.exp(theta)
    gradient = np.zeros(4) if order >= 1 else None
    hessian = np.zeros((4, 4)) if order >= 2 else None

    # Terms in x alone, over the frequencies 0..max(x) with their total weights.
    nk = data.x_weights
    k = np.arange(len(nk), dtype=np.float64)
    total = data.total_weight
    value_dot = _exact_dot if exact else _dot
    value = value_dot(
        nk, special.gammaln(r + k) + special.gammaln(b + k) - special.gammaln(a + b + k)
    ) + total * (
        special.gammaln(a + b) - special.gammaln(r) - special.gammaln(b) + r * np.log(alpha)
    )
    if gradient is not None:
        psi_r, psi_b, psi_ab = (special.psi(v + k) for v in (r, b, a + b))
        gradient[0] = _dot(nk, psi_r) - total * (special.psi(r) - np.log(alpha))
        gradient[1] = total * r / alpha
        gradient[2] = total * special.psi(a + b) - _dot(nk, psi_ab)
        gradient[3] = _dot(nk, psi_b - psi_ab) + total * (special.psi(a + b) - special.psi(b))
    if hessian is not None:
        tri_r, tri_b, tri_ab = (special.polygamma(1, v + k) for v in (r, b, a + b))
        tri_ab0 = float(special.polygamma(1, a + b))
        hessian[0, 0] = _dot(nk, tri_r) - total * float(special.polygamma(1, r))
        hessian[0, 1] = total / alpha
        hessian[1, 1] = -total * r / alpha**2
        hessian[2, 2] = hessian[2, 3] = total * tri_ab0 - _dot(nk, tri_ab)
        hessian[3, 3] = _dot(nk, tri_b - tri_ab) + total * (
            tri_ab0 - float(special.polygamma(1, b))
        )

    # Customers without repeat purchases: -r log(alpha + T).
    if len(data.zero_T):
        log_T0 = np.log(alpha + data.zero_T)
        w0_log = value_dot(data.zero_w, log_T0)
        value -= r * w0_log
        if gradient is not None:
            inv_T0 = 1.0 / (alpha + data.zero_T)
            w0_inv = _dot(data.zero_w, inv_T0)
            gradient[0] -= w0_log
            gradient[1] -= r * w0_inv
            if hessian is not None:
                hessian[0, 1] -= w0_inv
                hessian[1, 1] += r * _dot(data.zero_w, inv_T0 * inv_T0)

    # Customers with repeat purchases.
    if len(data.pos_x):
        w = data.pos_w
        rx = r + data.pos_x
        log_T = np.log(alpha + data.pos_T)
        log_diff = np.log(alpha + data.pos_t)
        log_diff -= log_T  # log((alpha + t_x) / (alpha + T)) <= 0
        max_x = len(nk) - 1
        inv_bx = np.zeros(max_x + 1)
        inv_bx[1:] = 1.0 / (b + k[1:] - 1.0)
        log_a_bx = np.log(a) + np.log(inv_bx[1:])
        d = np.concatenate(([0.0], log_a_bx))[data.pos_xi]
        d -= rx * log_diff  # A4 - A3
        e = np.exp(-np.abs(d))
        softplus = np.log1p(e)
        softplus += np.maximum(d, 0.0)
        value += value_dot(w, softplus) - value_dot(w, rx * log_T)
        if gradient is not None:
            p = np.where(d >= 0.0, 1.0, e)
            p /= 1.0 + e  # sigmoid(d): weight of the "dropped out at t_x" branch
            wp = w * p
            inv_T = 1.0 / (alpha + data.pos_T)
            inv_diff = 1.0 / (alpha + data.pos_t)
            inv_diff -= inv_T  # 1/(alpha + t_x) - 1/(alpha + T) >= 0
            row_inv_bx = inv_bx[data.pos_xi]
            gradient[0] -= _dot(w, log_T) + _dot(wp, log_diff)
            w_rx = w * rx
            gradient[1] -= _dot(w_rx, inv_T) + _dot(wp, rx * inv_diff)
            sum_wp = wp.sum()
            gradient[2] += sum_wp / a
            gradient[3] -= _dot(wp, row_inv_bx)
            if hessian is not None:
                # Hessian of softplus(d) = p (1 - p) grad(d) grad(d)' + p hess(d), plus hess(A3).
                q = wp * (1.0 - p)
                # grad(d) = (-log_diff, -rx inv_diff, 1/a, -inv_bx); products taken pairwise
                # rather than as one matrix product, which would go to multi-threaded BLAS.
                grads = (-log_diff, -rx * inv_diff, None, -row_inv_bx)
                q_grads = [None if g is None else q * g for g in grads]
                sum_q = float(q.sum())
                for i in (0, 1, 3):
                    for j in (0, 1, 3):
                        if j >= i:
                            hessian[i, j] += _dot(q_grads[i], grads[j])
                    hessian[min(i, 2), max(i, 2)] += float(q_grads[i].sum()) / a
                hessian[2, 2] += sum_q / (a * a)
                inv_sum = inv_diff + 2.0 * inv_T  # 1/(alpha+t) + 1/(alpha+T)
                hessian[0, 1] -= _dot(w, inv_T) + _dot(wp, inv_diff)
                hessian[1, 1] += _dot(w_rx, inv_T * inv_T) + _dot(wp * rx, inv_diff * inv_sum)
                hessian[2, 2] -= sum_wp / (a * a)
                hessian[3, 3] += _dot(wp, row_inv_bx * row_inv_bx)

    scale = 1.0 / total
    params = np.array([r, alpha, a, b])
    if gradient is not None:
        if hessian is not None:
            hessian = np.triu(hessian) + np.triu(hessian, 1).T  # only the upper half was summed
            # Chain rule to log-parameters: d2/dtheta2 = phi_i phi_j H_ij + delta_ij phi_i g_i.
            hessian = hessian * np.outer(params, params) + np.diag(params * gradient)
            hessian *= -scale
        gradient = -scale * params * gradient
    return -scale * value, gradient, hessian


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """Inner product without BLAS.

    OpenBLAS runs ddot on several threads above 10,000 elements; interleaved with the
    element-wise work of a pass, waking and spinning those threads cost more than the sums
    themselves (a 20,000-row L-BFGS-B run took 100 ms instead of 5 ms on two cores).
    """
    return float(np.einsum("i,i->", u, v))


def _exact_dot(u: np.ndarray, v: np.ndarray) -> float:
    """Inner product with one rounding of the sum (math.fsum), ~20 ns per element."""
    return math.fsum((np.asarray(u, np.float64) * v).tolist())


def _log_likelihood_units(data: _Prepared, mean_negative: float) -> float:
    """Total log-likelihood in the caller's time unit from a mean value on scaled times.

    With times divided by s, lambda^x in the likelihood becomes (s lambda)^x: the two differ by
    sum(w x) log(s).
    """
    return float(-mean_negative * data.total_weight - data.weighted_x * math.log(data.scale))


def log_likelihood(
    params: ParamsLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> float:
    """Total BG/NBD log-likelihood (FHL eq. 6) of the histories, in the unit of t_x and T.

    Sums are correctly rounded (math.fsum), so that two nearby parameter sets, e.g. two
    optimisers' answers, can be compared below the rounding noise of plain sums (~1e-15
    relative, i.e. ~1e-8 on a million customers, as large as the differences being compared).
    """
    x_arr, t_arr, T_arr, w_arr = _as_histories(x, t_x, T, weights)
    if not len(x_arr):
        return 0.0
    data = _prepare(x_arr, t_arr, T_arr, w_arr, scale=1.0, collapse=False)
    value, _, _ = _pass(np.log(np.array(_unpack(params))), data, 0, exact=True)
    return _log_likelihood_units(data, value)


# --------------------------------------------------------------------------------------------
# Fitting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitResult:
    """Outcome of :func:`fit`.

    When ``fallback`` is true the data cannot support the model (``reason`` says why) and the
    caller should use a simpler rule; parameters are then None, or, when the optimiser ran but
    ended on a degenerate solution, finite values kept for diagnostics only. Never NaN.
    """

    r: float | None
    alpha: float | None
    a: float | None
    b: float | None
    log_likelihood: float | None
    converged: bool
    fallback: bool
    reason: str
    iterations: int  # optimiser iterations, all stages
    passes: int  # likelihood passes over the full data
    subsample_passes: int  # passes over the subsample used for starting values
    n_customers: float  # total weight
    n_rows: int  # distinct rows after collapsing identical histories
    standard_errors: tuple[float, float, float, float] | None = field(default=None)

    @property
    def params(self) -> BgNbdParams:
        if self.r is None or self.alpha is None or self.a is None or self.b is None:
            raise ValueError(f"no fitted parameters: {self.reason}")
        return BgNbdParams(self.r, self.alpha, self.a, self.b)

    @property
    def usable(self) -> bool:
        return not self.fallback


ParamsLike = BgNbdParams | FitResult | tuple[float, float, float, float]


def _fallback(reason: str, n_customers: float = 0.0, n_rows: int = 0) -> FitResult:
    return FitResult(
        r=None,
        alpha=None,
        a=None,
        b=None,
        log_likelihood=None,
        converged=False,
        fallback=True,
        reason=reason,
        iterations=0,
        passes=0,
        subsample_passes=0,
        n_customers=n_customers,
        n_rows=n_rows,
    )


def _starting_values(data: _Prepared) -> FloatArray:
    """Rough log-parameters: r = 1 and alpha matching the mean observed rate; a = 1, b = 3.

    Times are scaled to mean T = 1, so these are within a few units of typical optima.
    """
    total = data.total_weight
    mean_x = float(_dot(data.x_weights, np.arange(len(data.x_weights)))) / total
    alpha = 1.0 / max(mean_x, 1e-3)
    return np.log(np.array([1.0, alpha, 1.0, 3.0]))


def _subsample(data: _Prepared, size: int, seed: int = 0) -> _Prepared:
    """A random subset of the repeat-purchase rows, reweighted to stand for all of them.

    Customers without repeat purchases are already only a few hundred grouped rows and are kept
    whole. The subsample likelihood is an unbiased estimate of the full one, so its optimum is a
    good start for Newton steps on the full data.
    """
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(data.pos_x), size)
    factor = data.pos_w.sum() / data.pos_w[pick].sum()
    pos_w = data.pos_w[pick] * factor
    pos_xi = data.pos_xi[pick]
    x_weights = np.bincount(pos_xi, weights=pos_w, minlength=len(data.x_weights))
    x_weights[0] = data.x_weights[0]
    return _Prepared(
        total_weight=float(x_weights.sum()),
        x_weights=x_weights,
        zero_T=data.zero_T,
        zero_w=data.zero_w,
        pos_x=data.pos_x[pick],
        pos_xi=pos_xi,
        pos_t=data.pos_t[pick],
        pos_T=data.pos_T[pick],
        pos_w=pos_w,
        scale=data.scale,
        weighted_x=float(_dot(pos_w, data.pos_x[pick])),
    )


def fit(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    min_customers: int = 10,
    collapse: bool = True,
) -> FitResult:
    """Maximum-likelihood BG/NBD fit to per-customer (x, t_x, T), optionally weighted.

    ``weights`` are customer counts per row (for data already collapsed by the caller).
    Degenerate or too small data (fewer than ``min_customers`` customers, nobody with a repeat
    purchase, no observation time) give ``fallback=True`` with a ``reason`` rather than an
    exception or NaN. Invalid data (negative counts, t_x > T, NaN) raise ValueError.

    Method: Newton's method in log-parameters with the analytic gradient and Hessian, from rough
    starting values; with many distinct histories it first converges on a random subsample of
    20,000 rows, so that the full data see only the last few (quadratically converging) steps.
    The Hessian at the optimum also gives standard errors. ``log_likelihood`` is in the time unit
    of t_x and T.
    """
    x_arr, t_arr, T_arr, w_arr = _as_histories(x, t_x, T, weights)
    n_customers = float(w_arr.sum())
    if n_customers <= 0:
        return _fallback("no customers")
    if n_customers < min_customers:
        return _fallback(
            f"too few customers to fit ({n_customers:g} < {min_customers})", n_customers
        )
    positive = w_arr > 0
    if not (x_arr[positive] > 0).any():
        return _fallback("no repeat purchases: nobody bought on a second day", n_customers)
    mean_T = float(_dot(w_arr, T_arr)) / n_customers
    if not (T_arr[positive] > 0).any() or mean_T <= 0:
        return _fallback("no observation time: all purchases on the last day", n_customers)

    # Work in time units with mean T = 1 so that the starting values and tolerances fit any unit.
    data = _prepare(x_arr, t_arr, T_arr, w_arr, scale=mean_T, collapse=collapse)
    theta = _starting_values(data)
    iterations = subsample_passes = 0
    if len(data.pos_x) > SUBSAMPLE_ROWS:
        start = _newton(_subsample(data, SUBSAMPLE_ROWS), theta, SUBSAMPLE_DECREMENT_TOL)
        iterations, subsample_passes = start.iterations, start.passes
        if start.converged:
            theta = start.theta
    final = _newton(data, theta, NEWTON_DECREMENT_TOL)
    return _finish(data, final, iterations + final.iterations, final.passes, subsample_passes)


@dataclass
class _Optimum:
    theta: FloatArray
    value: float
    hessian: FloatArray | None
    converged: bool
    iterations: int
    passes: int


def _newton(data: _Prepared, theta: FloatArray, tolerance: float) -> _Optimum:
    """Damped Newton iterations in log-parameters, each one pass with the analytic Hessian.

    Why not scipy's L-BFGS-B: it needs 15-25 passes where Newton from the same start needs about
    ten, and its C core calls OpenBLAS, whose worker threads made a 4-parameter run take 10-30 ms
    instead of 0.3 ms whenever another process kept the second core busy.

    Converged when the Newton decrement (the predicted gain in the mean log-likelihood) is below
    ``tolerance``; that last step is still taken if it does not lose, which puts the optimum at
    the rounding-noise floor of the sums (~1e-15 of the mean). Steps are capped at MAX_LOG_STEP
    in each log-parameter and backtracked until the value improves, and indefinite Hessians have
    their eigenvalues lifted.
    """
    passes = 1
    value, gradient, hessian = _pass(theta, data, 2)
    iterations = 0
    converged = False
    while math.isfinite(value) and iterations < MAX_NEWTON_ITERATIONS:
        assert gradient is not None and hessian is not None
        step = _newton_step(gradient, hessian)
        decrement = -float(_dot(gradient, step))
        if decrement < tolerance:
            converged = True
            polished = np.clip(theta + step, -LOG_BOUND, LOG_BOUND)
            passes += 1
            polished_value, polished_gradient, polished_hessian = _pass(polished, data, 2)
            if math.isfinite(polished_value) and polished_value <= value:
                theta, value, hessian = polished, polished_value, polished_hessian
            break
        largest = float(np.abs(step).max())
        if largest > MAX_LOG_STEP:
            step *= MAX_LOG_STEP / largest
        iterations += 1
        accepted = False
        for _ in range(MAX_LINE_SEARCH_STEPS):  # backtracking line search on the value
            trial = np.clip(theta + step, -LOG_BOUND, LOG_BOUND)
            passes += 1
            trial_value, trial_gradient, trial_hessian = _pass(trial, data, 2)
            if math.isfinite(trial_value) and trial_value <= value + 1e-4 * float(
                _dot(gradient, trial - theta)
            ):
                accepted = True
                break
            step = step * 0.5
        if not accepted or value - trial_value <= 0.0:
            # No representable progress: optimal to rounding noise if the decrement is tiny.
            converged = decrement < NOISE_DECREMENT
            if accepted:
                theta, value, hessian = trial, trial_value, trial_hessian
            break
        theta, value, gradient, hessian = trial, trial_value, trial_gradient, trial_hessian
    return _Optimum(theta, value, hessian, converged, iterations, passes)


def _newton_step(gradient: FloatArray, hessian: FloatArray) -> FloatArray:
    """Newton direction, with the Hessian's eigenvalues lifted when it is not positive definite."""
    eigenvalues, eigenvectors = np.linalg.eigh(hessian)
    floor = 1e-8 * max(1.0, float(np.abs(eigenvalues).max()))
    eigenvalues = np.maximum(np.abs(eigenvalues), floor)
    return -eigenvectors @ ((eigenvectors.T @ gradient) / eigenvalues)


def _finish(
    data: _Prepared, optimum: _Optimum, iterations: int, passes: int, subsample_passes: int
) -> FitResult:
    n_customers, n_rows = data.total_weight, data.rows
    theta, value, hessian, converged = (
        optimum.theta,
        optimum.value,
        optimum.hessian,
        optimum.converged,
    )
    if not (np.all(np.isfinite(theta)) and math.isfinite(value)):
        return _fallback("numerical failure in the fit", n_customers, n_rows)
    r, alpha, a, b = (float(v) for v in np.exp(theta))
    alpha *= data.scale
    reason = ""
    names = ("r", "alpha", "a", "b")
    at_bound = [name for name, v in zip(names, theta, strict=True) if abs(v) >= LOG_BOUND - 1e-6]
    drifting = [name for name, v in zip(names, theta, strict=True) if abs(v) > DRIFT_LOG_BOUND]
    if at_bound:
        reason = (
            "degenerate fit: " + ", ".join(at_bound) + " ran to the edge of its range "
            "(these histories do not identify the model)"
        )
    elif not converged and drifting:
        reason = (
            "degenerate fit: " + ", ".join(drifting) + " drifting towards 0 or infinity "
            "(these histories do not identify the model)"
        )
    elif not converged:
        reason = "the optimiser did not converge"
    standard_errors = None
    if hessian is not None and not reason:
        # Covariance of log-parameters from the observed information; delta method to phi.
        try:
            covariance = np.linalg.inv(hessian * data.total_weight)
            log_se = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
            se = log_se * np.array([r, alpha, a, b])
            standard_errors = (float(se[0]), float(se[1]), float(se[2]), float(se[3]))
        except np.linalg.LinAlgError:
            standard_errors = None
    return FitResult(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=_log_likelihood_units(data, value),
        converged=converged,
        fallback=bool(reason),
        reason=reason,
        iterations=iterations,
        passes=passes,
        subsample_passes=subsample_passes,
        n_customers=n_customers,
        n_rows=n_rows,
        standard_errors=standard_errors,
    )


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def _log_odds_dead(
    params: tuple[float, float, float, float], x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """log[a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)] for x > 0 and -inf for x == 0."""
    r, alpha, a, b = params
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.log(a / (b + x - 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(x > 0, d, -np.inf)


def p_alive(params: ParamsLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Probability that each customer is still active at T (FHL eq. 13)."""
    x_arr, t_arr, T_arr, _, shape = _broadcast_scoring(None, x, t_x, T)
    return special.expit(-_log_odds_dead(_unpack(params), x_arr, t_arr, T_arr)).reshape(shape)


# The closed form of E[Y(t) | alive] divides by (a - 1) and cancels against it: near a = 1 it is
# interpolated from points at 1 +- A_NEAR_ONE_STEP and 1 +- 2 A_NEAR_ONE_STEP (cubic Lagrange).
A_NEAR_ONE_STEP = 5e-3
# Gauss-Jacobi nodes for the quadrature used when scipy's hyp2f1 returns a non-finite value.
QUADRATURE_NODES = 128


def _expected_if_alive_hyp2f1(
    r: float, alpha: float, a: float, b: float, x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    """E[purchases in (T, T+t] | alive at T]: FHL eq. 10 without its P(alive) denominator.

    FHL write it with 2F1(r+x, b+x; a+b+x-1; z), z = t/(alpha+T+t), multiplied by
    ((alpha+T)/(alpha+T+t))^(r+x). That 2F1 overflows for large x and long horizons, where the
    product is inf * 0. Euler's transformation 2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A,C-B;C;z)
    absorbs the power exactly and leaves 2F1(a+b-1-r, a-1; a+b+x-1; z), whose first two
    parameters do not grow with x. Against 30-digit mpmath values this kept a relative error
    below 1e-9 for random r in [0.02, 20], alpha in [0.1, 200], a in [0.05, 10], b in [0.1, 100],
    x up to 300, T up to 300 and t up to 1000 (|a - 1| > 1e-3), where the textbook form gave NaN
    for large x and long horizons.
    """
    c = a + b + x - 1.0
    log_one_minus_z = np.log(alpha + T) - np.log(alpha + T + t)
    z = -np.expm1(log_one_minus_z)
    with np.errstate(all="ignore"):
        hyp = special.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        return c / (a - 1.0) * -np.expm1((a - 1.0) * log_one_minus_z + np.log(hyp))


def _beta_quadrature(nodes: int, a: float, b: float) -> tuple[FloatArray, FloatArray]:
    """Gauss-Jacobi rule for the Beta(a, b) distribution: points in (0, 1), weights summing to 1.

    Golub-Welsch on the Jacobi recurrence, which stays finite for the huge a and b of nearly
    homogeneous drop-out (scipy's roots_jacobi overflows in its normalising constant there).
    """
    alpha_j, beta_j = b - 1.0, a - 1.0  # exponents of (1 - y) and (1 + y), y = 2p - 1
    n = np.arange(nodes, dtype=np.float64)
    s = 2.0 * n + alpha_j + beta_j
    with np.errstate(divide="ignore", invalid="ignore"):
        diagonal = (beta_j - alpha_j) * (beta_j + alpha_j) / (s * (s + 2.0))
        diagonal[0] = (beta_j - alpha_j) / (alpha_j + beta_j + 2.0)
        m = n[1:]
        sm = s[1:]
        off = np.sqrt(
            4.0
            * m
            * (m + alpha_j)
            * (m + beta_j)
            * (m + alpha_j + beta_j)
            / (sm * sm * (sm + 1.0) * (sm - 1.0))
        )
    points, vectors = linalg.eigh_tridiagonal(diagonal, off)
    weights = vectors[0] ** 2
    return (1.0 + points) / 2.0, weights / weights.sum()


def _expected_if_alive_quadrature(
    r: float, alpha: float, a: float, b: float, x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    """The same expectation as an integral over the posterior drop-out probability.

    Alive at T, a customer's p is Beta(a, b + x) and lambda is Gamma(r + x, alpha + T); given
    both, the expected purchases in the next t are (1 - exp(-lambda p t)) / p. Averaging over
    lambda gives g(p) = (1 - (1 + p u)^-(r+x)) / p with u = t / (alpha + T), a smooth function
    that Gauss-Jacobi quadrature integrates against the Beta weight. Accurate to ~1e-10 for
    u <= 10, degrading for much longer horizons: a fallback and a test oracle, not the main path.
    """
    out = np.empty(len(x))
    u = t / (alpha + T)
    for value in np.unique(x):
        rows = x == value
        p, weights = _beta_quadrature(QUADRATURE_NODES, a, b + value)
        g = -np.expm1(-(r + value) * np.log1p(np.outer(u[rows], p))) / p
        out[rows] = g @ weights
    return out


def _expected_if_alive_direct(
    r: float, alpha: float, a: float, b: float, x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    value = _expected_if_alive_hyp2f1(r, alpha, a, b, x, T, t)
    bad = ~np.isfinite(value)
    if bad.any():
        # scipy's 1 - z transformation can fail when c - a - b = x + r + 1 - a is an integer;
        # moving r by a relative 1e-9 leaves the degenerate case for a 1e-9 change.
        value[bad] = _expected_if_alive_hyp2f1(
            r * (1.0 + 1e-9), alpha, a, b, x[bad], T[bad], t[bad]
        )
        bad = ~np.isfinite(value)
        if bad.any():
            value[bad] = _expected_if_alive_quadrature(r, alpha, a, b, x[bad], T[bad], t[bad])
    return value


def _expected_if_alive(
    params: tuple[float, float, float, float], x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    r, alpha, a, b = params
    step = A_NEAR_ONE_STEP
    if abs(a - 1.0) >= 2.0 * step:
        return _expected_if_alive_direct(r, alpha, a, b, x, T, t)
    # Cubic Lagrange interpolation in a through 1 - 2s, 1 - s, 1 + s, 1 + 2s: the function is
    # smooth in a, only its closed form is 0/0 at a = 1.
    nodes = 1.0 + step * np.array([-2.0, -1.0, 1.0, 2.0])
    result = np.zeros(len(x))
    for i, node in enumerate(nodes):
        others = np.delete(nodes, i)
        weight = float(np.prod((a - others) / (node - others)))
        result += weight * _expected_if_alive_direct(r, alpha, float(node), b, x, T, t)
    return result


def _pairs(x: FloatArray, T: FloatArray) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """Distinct (x, T) pairs and each customer's index into them.

    E[purchases | alive] depends on x and T alone and hyp2f1 costs ~0.1 us per call, so it is
    evaluated once per distinct pair (tens of thousands at daily resolution, whatever the number
    of customers) when that is cheaper than once per customer.
    """
    T_values, T_codes = _factorize(T)
    x_int = x.astype(np.int64)
    key = x_int * len(T_values) + T_codes
    key_values, codes = _factorize(key)
    pair_x, pair_T_codes = np.divmod(key_values, len(T_values))
    return pair_x.astype(np.float64), T_values[pair_T_codes], codes


def _broadcast_scoring(
    t: ArrayLike | None, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None, tuple[int, ...]]:
    arrays = [np.asarray(v, dtype=np.float64) for v in (x, t_x, T)]
    if t is not None:
        arrays.append(np.asarray(t, dtype=np.float64))
    shaped = np.broadcast_arrays(*arrays)
    shape = shaped[0].shape
    flat = [np.ascontiguousarray(v).ravel() for v in shaped]
    if (flat[0] < 0).any() or (flat[0] != np.floor(flat[0])).any():
        raise ValueError("x must be non-negative whole numbers")
    horizon = flat[3] if t is not None else None
    return flat[0], flat[1], flat[2], horizon, shape


@dataclass(frozen=True)
class Scores:
    """Per-customer scores: P(alive at T) and expected repeat purchases in the next t."""

    p_alive: FloatArray
    expected_purchases: FloatArray


def score(params: ParamsLike, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Scores:
    """P(alive) (FHL eq. 13) and E[Y(t) | x, t_x, T] (FHL eq. 10) in one vectorised pass.

    ``t`` is the horizon in the data's time unit, a scalar or an array broadcastable with x.
    """
    unpacked = _unpack(params)
    x_arr, t_arr, T_arr, horizon, shape = _broadcast_scoring(t, x, t_x, T)
    assert horizon is not None
    alive = special.expit(-_log_odds_dead(unpacked, x_arr, t_arr, T_arr))
    n = len(x_arr)
    if n > 4096 and np.all(horizon == horizon[0]):
        pair_x, pair_T, codes = _pairs(x_arr, T_arr)
        if len(pair_x) < n // 2:
            if_alive = _expected_if_alive(
                unpacked, pair_x, pair_T, np.full(len(pair_x), horizon[0])
            )[codes]
        else:
            if_alive = _expected_if_alive(unpacked, x_arr, T_arr, horizon)
    else:
        if_alive = _expected_if_alive(unpacked, x_arr, T_arr, horizon)
    return Scores(alive.reshape(shape), (alive * if_alive).reshape(shape))


def expected_purchases(
    params: ParamsLike, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Expected repeat purchases in (T, T + t] given each customer's history (FHL eq. 10)."""
    return score(params, t, x, t_x, T).expected_purchases


def expected_purchases_new(params: ParamsLike, t: ArrayLike) -> FloatArray:
    """E[X(t)]: expected repeat purchases of a new customer in their first t (FHL eq. 9).

    Eq. 9 is eq. 10 for a customer seen at their first purchase (x = t_x = T = 0).
    """
    horizon = np.asarray(t, dtype=np.float64)
    zeros = np.zeros(horizon.size)
    values = _expected_if_alive(_unpack(params), zeros, zeros, horizon.ravel())
    return values.reshape(horizon.shape)
