"""``rapport bench lapse``: the BG/NBD lapse model on CDNOW and on synthetic workspaces.

``--cdnow`` reproduces Fader, Hardie & Lee (2005) on the 2,357-customer CDNOW sample and checks
the 39-week holdout against lifetimes. ``--customers N`` draws N customers from a BG/NBD with the
paper's parameters, with daily purchase dates, and times the summary step, the fit and the
scoring against lifetimes on the same data.

lifetimes stays out of Rapport's environment: it needs old numpy/pandas, so it is installed in its
own virtual environment (``var/bench/lifetimes-venv``, built once with python3.11 and reused) and
run in a subprocess; data go through .npy files in a temporary directory and the timings are
taken inside the subprocess, around the library calls only. Needs no Django settings.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy
from numpy.typing import NDArray

from rapport.lib import bgnbd, cdnow

LIFETIMES_PINS = (
    "lifetimes==0.11.3",
    "numpy==1.26.4",
    "scipy==1.14.1",
    "pandas==1.5.3",
    "autograd==1.9.1",
    "setuptools<82",  # lifetimes imports pkg_resources
)
VENV_MARKER = ".rapport-pins"
VENV_BUILD_TIMEOUT_SECONDS = 1200
WORKER_TIMEOUT_SECONDS = 3600

# Synthetic workspaces: CDNOW-like cohort acquired over 12 weeks, observed for 78 weeks at daily
# resolution; each purchase day has 1 + Poisson(0.8) order lines, which gives about 5 million
# lines for 1,000,000 customers and makes the one-purchase-per-day rule do real work.
SYNTHETIC_PARAMS = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
SYNTHETIC_START = np.datetime64("1997-01-01", "D")
ACQUISITION_DAYS = 84
WINDOW_DAYS = 546
EXTRA_LINES_MEAN = 0.8
SCORING_HORIZON_WEEKS = 39.0


class LifetimesUnavailable(RuntimeError):
    """The lifetimes virtual environment could not be built or run."""


# --------------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------------


def simulate_transactions(
    n_customers: int,
    params: bgnbd.BgNbdParams = SYNTHETIC_PARAMS,
    *,
    seed: int = 0,
    acquisition_days: int = ACQUISITION_DAYS,
    window_days: int = WINDOW_DAYS,
    extra_lines_mean: float = EXTRA_LINES_MEAN,
) -> tuple[NDArray[np.int64], NDArray[np.datetime64], np.datetime64]:
    """Order lines (customer id, date) of customers drawn from a BG/NBD, in random order.

    Vectorised, exact for the model in continuous time (weeks): lambda ~ Gamma(r, alpha) and
    p ~ Beta(a, b) per customer; the number of repeat purchases before drop-out is K ~
    Geometric(p) (>= 1: drop-out happens right after a repeat purchase) and a Poisson process
    would give N ~ Poisson(lambda T) purchases in the customer's window of T weeks; the customer
    makes x = min(K, N) of them. Given N, purchase times are the smallest x of N sorted uniforms,
    U_(j) = S_j / (S_x + G) with S_j sums of unit exponentials and G ~ Gamma(N - x + 1). Times
    are then floored to days. Returns ids, dates and the end of the observation window.
    """
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    rates = rng.gamma(params.r, 1.0 / params.alpha, n)  # per week
    dropout = rng.beta(params.a, params.b, n)
    first_day = rng.integers(0, acquisition_days, n)
    end_day = window_days - 1
    window_weeks = (end_day - first_day) / 7.0
    before_dropout = rng.geometric(dropout)
    poisson_count = rng.poisson(rates * window_weeks)
    repeat_count = np.minimum(before_dropout, poisson_count)
    remainder = rng.gamma(poisson_count - repeat_count + 1.0)

    owner = np.repeat(np.arange(n), repeat_count)
    sums = np.cumsum(rng.exponential(size=len(owner)))
    segment_end = np.cumsum(repeat_count)
    segment_start = segment_end - repeat_count
    sums -= np.repeat(np.concatenate(([0.0], sums))[segment_start], repeat_count)
    last = np.zeros(n)
    has_repeat = repeat_count > 0
    last[has_repeat] = sums[segment_end[has_repeat] - 1]
    fractions = sums / np.repeat(last + remainder, repeat_count)
    repeat_days = first_day[owner] + np.floor(fractions * window_weeks[owner] * 7.0).astype(
        np.int64
    )

    customers = np.concatenate((np.arange(n), owner))
    days = np.concatenate((first_day, repeat_days))
    lines = 1 + rng.poisson(extra_lines_mean, len(days))
    customers, days = np.repeat(customers, lines), np.repeat(days, lines)
    order = rng.permutation(len(days))
    ids = customers[order] + 1_000_000  # ids that are not row numbers
    dates = SYNTHETIC_START + days[order]
    return ids.astype(np.int64), dates.astype("datetime64[D]"), SYNTHETIC_START + end_day


# --------------------------------------------------------------------------------------------
# The lifetimes side, in its own virtual environment
# --------------------------------------------------------------------------------------------


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_venv() -> Path:
    return project_root() / "var" / "bench" / "lifetimes-venv"


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_lifetimes_venv(venv: Path, log: Callable[[str], None] = print) -> Path:
    """Python of a virtual environment with the pinned lifetimes stack, built on first use.

    Several processes may ask at once (the test suite runs in parallel): a
    file lock makes one of them build while the others wait for it.
    """
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_lifetimes_venv(venv, log)


def _ensure_lifetimes_venv(venv: Path, log: Callable[[str], None]) -> Path:
    marker = venv / VENV_MARKER
    pins = "\n".join(LIFETIMES_PINS)
    python = _venv_python(venv)
    if python.exists() and marker.exists() and marker.read_text() == pins:
        return python
    interpreter = shutil.which("python3.11")
    if interpreter is None and sys.version_info[:2] == (3, 11):
        interpreter = sys.executable
    if interpreter is None:
        raise LifetimesUnavailable("python3.11 not found (lifetimes' pins need Python 3.11)")
    if venv.exists() and any(venv.iterdir()) and not (venv / "pyvenv.cfg").exists():
        raise LifetimesUnavailable(f"{venv} exists and is not a virtual environment")
    log(f"building the lifetimes environment in {venv} (once) ...")
    if venv.exists():
        shutil.rmtree(venv)  # an incomplete or outdated build
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [
        [interpreter, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q", *LIFETIMES_PINS],
        [str(python), "-c", "import lifetimes, pandas, numpy"],
    ]
    for step in steps:
        try:
            completed = subprocess.run(
                step, capture_output=True, text=True, timeout=VENV_BUILD_TIMEOUT_SECONDS
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise LifetimesUnavailable(f"{' '.join(step[:4])}: {error}") from error
        if completed.returncode != 0:
            tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-5:])
            raise LifetimesUnavailable(
                f"{' '.join(step[:4])} ... exited with {completed.returncode}:\n{tail}"
            )
    marker.write_text(pins)
    return python


# Runs inside the lifetimes environment (numpy 1.26, pandas 1.5). Times only the library calls.
WORKER_SCRIPT = r"""
import json, sys, time, warnings
from pathlib import Path
import numpy as np
import pandas as pd
warnings.simplefilter("ignore")
import lifetimes.fitters as fitters
from lifetimes import BetaGeoFitter
from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

folder = Path(sys.argv[1])
task = json.loads((folder / "task.json").read_text())
load = lambda name: np.load(folder / (name + ".npy"))
out = {}

# Count objective evaluations of lifetimes' optimiser (scipy.optimize.minimize, BFGS).
evaluations = []
_minimize = fitters.minimize
def counting_minimize(*args, **kwargs):
    result = _minimize(*args, **kwargs)
    evaluations.append({"nfev": int(result.nfev), "nit": int(result.nit)})
    return result
fitters.minimize = counting_minimize

def frame():
    days = load("days").astype("datetime64[D]").astype("datetime64[ns]")
    return pd.DataFrame({"customer_id": load("ids"), "date": days})

def params(fitter):
    return {name: float(fitter.params_[name]) for name in ("r", "alpha", "a", "b")}

if task["kind"] == "holdout":
    data = calibration_and_holdout_data(
        frame(), "customer_id", "date",
        calibration_period_end=task["calibration_end"],
        observation_period_end=task["observation_end"],
        freq="D", freq_multiplier=task["unit_days"],
    )
    fitter = BetaGeoFitter().fit(data["frequency_cal"], data["recency_cal"], data["T_cal"])
    predicted = fitter.conditional_expected_number_of_purchases_up_to_time(
        data["duration_holdout"], data["frequency_cal"], data["recency_cal"], data["T_cal"]
    )
    out.update(
        params=params(fitter),
        customers=int(len(data)),
        predicted_total=float(np.sum(predicted)),
        actual_total=float(data["frequency_holdout"].sum()),
        duration_holdout=float(data["duration_holdout"].iloc[0]),
    )
    np.save(folder / "out_ids.npy", data.index.to_numpy().astype(np.int64))
    np.save(folder / "out_x.npy", data["frequency_cal"].to_numpy(dtype=float))
    np.save(folder / "out_t_x.npy", data["recency_cal"].to_numpy(dtype=float))
    np.save(folder / "out_T.npy", data["T_cal"].to_numpy(dtype=float))
    np.save(folder / "out_holdout.npy", data["frequency_holdout"].to_numpy(dtype=float))
else:
    # Interleaved with ours: the parent sends one step name a line (summary,
    # fit, score) and waits for its timing before timing its own side, so a
    # change of the machine's load falls on both sides alike.
    transactions = frame()
    end = pd.Timestamp(task["end"])
    x, t_x, T = load("x"), load("t_x"), load("T")
    horizon = task["horizon"]
    state = {}

    def do_summary():
        state["summary"] = summary_data_from_transaction_data(
            transactions, "customer_id", "date", observation_period_end=end,
            freq="D", freq_multiplier=task["unit_days"],
        )

    def do_fit():
        evaluations.clear()
        state["fitter"] = BetaGeoFitter().fit(x, t_x, T)

    def do_score():
        fitter = state["fitter"]
        alive = fitter.conditional_probability_alive(x, t_x, T)
        expected = fitter.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T)
        state["scores"] = (alive, expected)

    steps = {"summary": do_summary, "fit": do_fit, "score": do_score}
    timings = {name: {"wall": [], "cpu": []} for name in steps}
    print("@@ ready", flush=True)
    for line in sys.stdin:
        name = line.strip()
        if name == "done":
            break
        cpu, wall = time.process_time(), time.perf_counter()
        steps[name]()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        timings[name]["wall"].append(wall)
        timings[name]["cpu"].append(cpu)
        print("@@ " + json.dumps({"wall": wall, "cpu": cpu}), flush=True)
    summary = state["summary"].sort_index()
    ids = load("summary_ids")
    same_ids = bool(np.array_equal(summary.index.to_numpy().astype(np.int64), ids))
    out["summary_customers"] = int(len(summary))
    out["summary_same_customers"] = same_ids
    if same_ids:
        out["summary_max_abs_difference"] = float(max(
            np.abs(summary["frequency"].to_numpy() - x).max(),
            np.abs(summary["recency"].to_numpy() - t_x).max(),
            np.abs(summary["T"].to_numpy() - T).max(),
        ))
    for name, timing in timings.items():
        out[f"{name}_seconds"] = min(timing["wall"])
    out["timings"] = timings
    out["params"] = params(state["fitter"])
    out["optimizer"] = evaluations[-1]
    alive, expected = state["scores"]
    np.save(folder / "out_alive.npy", np.asarray(alive, dtype=float))
    np.save(folder / "out_expected.npy", np.asarray(expected, dtype=float))

out["versions"] = {
    "lifetimes": __import__("lifetimes").__version__, "numpy": np.__version__,
    "pandas": pd.__version__, "scipy": __import__("scipy").__version__,
}
(folder / "result.json").write_text(json.dumps(out))
"""


def run_lifetimes(
    python: Path, task: dict[str, Any], arrays: dict[str, np.ndarray]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Run one task in the lifetimes environment; returns its JSON result and output arrays."""
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as folder:
        directory = Path(folder)
        for name, array in arrays.items():
            np.save(directory / f"{name}.npy", array)
        (directory / "task.json").write_text(json.dumps(task))
        script = directory / "worker.py"
        script.write_text(WORKER_SCRIPT)
        try:
            completed = subprocess.run(
                [str(python), str(script), str(directory)],
                capture_output=True, text=True, timeout=WORKER_TIMEOUT_SECONDS,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            raise LifetimesUnavailable(f"lifetimes worker failed: {error}") from error
        result_path = directory / "result.json"
        if completed.returncode != 0 or not result_path.exists():
            tail = "\n".join(completed.stderr.strip().splitlines()[-8:])
            raise LifetimesUnavailable(f"lifetimes worker exited {completed.returncode}:\n{tail}")
        outputs = {path.stem[4:]: np.load(path) for path in sorted(directory.glob("out_*.npy"))}
        return json.loads(result_path.read_text()), outputs


class LifetimesSession:
    """The lifetimes worker kept running for the whole comparison: data
    loaded once, then one step at a time on request (see WORKER_SCRIPT), so
    its runs interleave with ours."""

    def __init__(self, python: Path, task: dict[str, Any], arrays: dict[str, np.ndarray]):
        self._folder = tempfile.TemporaryDirectory(prefix="rapport-bench-")
        self.directory = Path(self._folder.name)
        for name, array in arrays.items():
            np.save(self.directory / f"{name}.npy", array)
        (self.directory / "task.json").write_text(json.dumps(task))
        script = self.directory / "worker.py"
        script.write_text(WORKER_SCRIPT)
        self._stderr = open(self.directory / "stderr.txt", "w+")  # noqa: SIM115 - closed in finish
        try:
            self.process = subprocess.Popen(
                [str(python), str(script), str(self.directory)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
            )  # fmt: skip
        except OSError as error:
            self.close()
            raise LifetimesUnavailable(f"lifetimes worker failed: {error}") from error
        self._reply("ready")

    def _fail(self, what: str) -> LifetimesUnavailable:
        self.process.kill()
        self.process.wait()
        self._stderr.seek(0)
        tail = "\n".join(self._stderr.read().strip().splitlines()[-8:])
        self.close()
        return LifetimesUnavailable(f"lifetimes worker {what}:\n{tail}")

    def _reply(self, expect: str | None = None) -> dict[str, Any]:
        for line in self.process.stdout:
            if not line.startswith("@@ "):
                continue  # anything the libraries print
            body = line[3:].strip()
            if expect is not None:
                if body == expect:
                    return {}
                continue
            return json.loads(body)
        raise self._fail("stopped")

    def step(self, name: str) -> dict[str, float]:
        """Run one step there; its wall and CPU time, taken inside the worker."""
        try:
            self.process.stdin.write(name + "\n")
            self.process.stdin.flush()
        except OSError:
            raise self._fail("stopped") from None
        return self._reply()

    def finish(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        try:
            self.process.stdin.write("done\n")
            self.process.stdin.close()
            returncode = self.process.wait(timeout=WORKER_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired):
            raise self._fail("did not finish") from None
        result_path = self.directory / "result.json"
        if returncode != 0 or not result_path.exists():
            raise self._fail(f"exited {returncode}")
        outputs = {p.stem[4:]: np.load(p) for p in sorted(self.directory.glob("out_*.npy"))}
        result = json.loads(result_path.read_text())
        self.close()
        return result, outputs

    def close(self) -> None:
        self._stderr.close()
        self._folder.cleanup()


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------


def _spreads(timing: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {
        what: {
            "min": min(values),
            "median": float(np.median(values)),
            "max": max(values),
        }
        for what, values in timing.items()
    }


def _params_dict(params: bgnbd.BgNbdParams | bgnbd.FitResult) -> dict[str, float]:
    p = params.params if isinstance(params, bgnbd.FitResult) else params
    return {"r": p.r, "alpha": p.alpha, "a": p.a, "b": p.b}


def _relative(value: float, reference: float) -> float:
    return (value - reference) / abs(reference) if reference else float("inf")


def machine_description() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def holdout_purchase_days(
    customer_ids: np.ndarray,
    dates: np.ndarray,
    *,
    after: object,
    until: object,
    for_ids: np.ndarray,
) -> NDArray[np.float64]:
    """Purchase days in (after, until] per customer of ``for_ids`` (sorted), one per day."""
    days = dates.astype("datetime64[D]").view(np.int64)
    start = int(np.datetime64(after, "D").astype(np.int64))
    stop = int(np.datetime64(until, "D").astype(np.int64))
    inside = (days > start) & (days <= stop)
    position = np.searchsorted(for_ids, customer_ids[inside])
    known = position < len(for_ids)
    known[known] = for_ids[position[known]] == customer_ids[inside][known]
    pairs = np.unique(position[known] * (stop - start + 1) + (days[inside][known] - start))
    return np.bincount(pairs // (stop - start + 1), minlength=len(for_ids)).astype(np.float64)


def cdnow_report(venv: Path | None, log: Callable[[str], None]) -> dict[str, Any]:
    """Fit on the CDNOW sample's calibration period; holdout against lifetimes when possible."""
    sample = cdnow.load_sample()
    calibration = bgnbd.summarize(
        sample.customer_ids, sample.dates, end=cdnow.CALIBRATION_END, unit_days=7
    )
    published = cdnow.load_summary()
    same_customers = np.array_equal(calibration.customer_ids, published.customer_ids)
    result = bgnbd.fit(calibration.x, calibration.t_x, calibration.T)
    report: dict[str, Any] = {
        **_params_dict(result),
        "log_likelihood": result.log_likelihood,
        "paper": {**cdnow.PAPER_PARAMS, "log_likelihood": cdnow.PAPER_LOG_LIKELIHOOD},
        "customers": len(calibration),
        "converged": result.converged,
        "passes": result.passes,
        "summary_vs_published": {
            "same_customers": bool(same_customers),
            "max_abs_difference_weeks": float(
                max(
                    np.abs(calibration.x - published.x).max(),
                    np.abs(calibration.t_x - published.t_x).max(),
                    np.abs(calibration.T - published.T).max(),
                )
            )
            if same_customers
            else None,
            "note": "the published summary is rounded to 0.01 week",
        },
    }

    actual = holdout_purchase_days(
        sample.customer_ids, sample.dates, after=cdnow.CALIBRATION_END,
        until=cdnow.HOLDOUT_END, for_ids=calibration.customer_ids,
    )  # fmt: skip
    predicted = bgnbd.expected_purchases(
        result, cdnow.HOLDOUT_WEEKS, calibration.x, calibration.t_x, calibration.T
    )
    ours = {
        "predicted_total": float(predicted.sum()),
        "actual_total": float(actual.sum()),
        "prediction_relative_error": _relative(float(predicted.sum()), float(actual.sum())),
    }
    holdout: dict[str, Any] = {
        "calibration_end": str(cdnow.CALIBRATION_END),
        "holdout_end": str(cdnow.HOLDOUT_END),
        "holdout_weeks": cdnow.HOLDOUT_WEEKS,
        "ours": ours,
    }
    report["holdout"] = holdout
    if venv is None:
        holdout["lifetimes"] = {"unavailable": "skipped (--no-lifetimes)"}
        return report
    try:
        python = ensure_lifetimes_venv(venv, log)
        lifetimes, outputs = run_lifetimes(
            python,
            {
                "kind": "holdout",
                "calibration_end": str(cdnow.CALIBRATION_END),
                "observation_end": str(cdnow.HOLDOUT_END),
                "unit_days": 7,
            },
            {"ids": sample.customer_ids, "days": sample.dates.view(np.int64)},
        )
    except LifetimesUnavailable as error:
        holdout["lifetimes"] = {"unavailable": str(error)}
        return report
    lifetimes["prediction_relative_error"] = _relative(
        lifetimes["predicted_total"], lifetimes["actual_total"]
    )
    lifetimes["log_likelihood_ours_formula"] = bgnbd.log_likelihood(
        tuple(lifetimes["params"][k] for k in ("r", "alpha", "a", "b")),
        calibration.x, calibration.t_x, calibration.T,
    )  # fmt: skip
    holdout["lifetimes"] = lifetimes
    same = np.array_equal(outputs["ids"], calibration.customer_ids)
    holdout["agreement"] = {
        "predicted_total_relative_difference": _relative(
            ours["predicted_total"], lifetimes["predicted_total"]
        ),
        "actual_total_relative_difference": _relative(
            ours["actual_total"], lifetimes["actual_total"]
        ),
        "calibration_summary_max_abs_difference": float(
            max(
                np.abs(outputs["x"] - calibration.x).max(),
                np.abs(outputs["t_x"] - calibration.t_x).max(),
                np.abs(outputs["T"] - calibration.T).max(),
            )
        )
        if same
        else None,
        "holdout_counts_identical": bool(same and np.array_equal(outputs["holdout"], actual)),
    }
    return report


def synthetic_report(
    n_customers: int, *, seed: int, repeat: int, venv: Path | None, log: Callable[[str], None]
) -> dict[str, Any]:
    log(f"simulating {n_customers:,} customers ...")
    ids, dates, end = simulate_transactions(n_customers, seed=seed)
    report: dict[str, Any] = {
        "customers": n_customers,
        "transactions": len(ids),
        "seed": seed,
        "design": {
            "params": _params_dict(SYNTHETIC_PARAMS),
            "acquisition_days": ACQUISITION_DAYS,
            "window_days": WINDOW_DAYS,
            "order_lines_per_purchase_day": f"1 + Poisson({EXTRA_LINES_MEAN})",
            "unit": "weeks (daily resolution)",
            "scoring_horizon_weeks": SCORING_HORIZON_WEEKS,
        },
        "repeat": repeat,
    }

    # Our summary first, once: lifetimes' side needs it to check its own.
    summary = bgnbd.summarize(ids, dates, end=end, unit_days=7)
    session, lifetimes = None, None
    if venv is None:
        lifetimes = {"unavailable": "skipped (--no-lifetimes)"}
    else:
        try:
            python = ensure_lifetimes_venv(venv, log)
            log("starting lifetimes (in its own environment) ...")
            session = LifetimesSession(
                python,
                {
                    "kind": "synthetic",
                    "end": str(end),
                    "unit_days": 7,
                    "horizon": SCORING_HORIZON_WEEKS,
                },
                {
                    "ids": ids,
                    "days": dates.view(np.int64),
                    "summary_ids": np.asarray(summary.customer_ids, dtype=np.int64),
                    "x": summary.x,
                    "t_x": summary.t_x,
                    "T": summary.T,
                },
            )
        except LifetimesUnavailable as error:
            lifetimes = {"unavailable": str(error)}
            log(f"lifetimes not available, timing ours only: {error}")

    state: dict[str, Any] = {"summary": summary}

    def our_summary():
        state["summary"] = bgnbd.summarize(ids, dates, end=end, unit_days=7)

    def our_fit():
        s = state["summary"]
        state["result"] = bgnbd.fit(s.x, s.t_x, s.T)

    def our_score():
        s = state["summary"]
        state["scores"] = bgnbd.score(state["result"], SCORING_HORIZON_WEEKS, s.x, s.t_x, s.T)

    steps = {"summary": our_summary, "fit": our_fit, "score": our_score}
    ours_timings: dict[str, dict[str, list[float]]] = {
        name: {"wall": [], "cpu": []} for name in steps
    }
    theirs_timings: dict[str, dict[str, list[float]]] = {
        name: {"wall": [], "cpu": []} for name in steps
    }
    # Each round runs each step on both sides, one after the other, the
    # side that goes first alternating from round to round.
    for round_ in range(max(1, repeat)):
        log(f"round {round_ + 1}/{max(1, repeat)} ...")
        for name, step in steps.items():
            sides = ["ours", "lifetimes"] if round_ % 2 == 0 else ["lifetimes", "ours"]
            for side in sides:
                if side == "ours":
                    cpu, wall = time.process_time(), time.perf_counter()
                    step()
                    ours_timings[name]["wall"].append(time.perf_counter() - wall)
                    ours_timings[name]["cpu"].append(time.process_time() - cpu)
                elif session is not None:
                    try:
                        timing = session.step(name)
                    except LifetimesUnavailable as error:
                        session, lifetimes = None, {"unavailable": str(error)}
                        continue
                    theirs_timings[name]["wall"].append(timing["wall"])
                    theirs_timings[name]["cpu"].append(timing["cpu"])
    summary, result = state["summary"], state["result"]
    if result.fallback:
        raise RuntimeError(f"fit fell back on synthetic data: {result.reason}")
    ours = {
        # Best of the rounds, as before; the spread beside it.
        **{f"{name}_seconds": min(t["wall"]) for name, t in ours_timings.items()},
        "timings": {name: _spreads(t) for name, t in ours_timings.items()},
        "params": _params_dict(result),
        "log_likelihood": result.log_likelihood,
        "converged": result.converged,
        "passes": result.passes,
        "subsample_passes": result.subsample_passes,
        "iterations": result.iterations,
        "distinct_rows": result.n_rows,
    }
    report["interleaved"] = True
    report["cpu_time"] = (
        "time.process_time of each side's own process (lifetimes: inside its worker)"
    )
    report["customer_days"] = int(summary.x.sum() + len(summary))
    report["ours"] = ours
    if session is None:
        report["lifetimes"] = lifetimes
        return report
    try:
        lifetimes, outputs = session.finish()
    except LifetimesUnavailable as error:
        report["lifetimes"] = {"unavailable": str(error)}
        return report
    lifetimes["timings"] = {name: _spreads(t) for name, t in theirs_timings.items()}

    lifetimes_params = tuple(lifetimes["params"][k] for k in ("r", "alpha", "a", "b"))
    ll_ours = bgnbd.log_likelihood(result, summary.x, summary.t_x, summary.T)
    ll_lifetimes = bgnbd.log_likelihood(lifetimes_params, summary.x, summary.t_x, summary.T)
    lifetimes["log_likelihood"] = ll_lifetimes
    report["lifetimes"] = lifetimes
    report["speedup"] = {
        step: lifetimes[f"{step}_seconds"] / ours[f"{step}_seconds"]
        for step in ("summary", "fit", "score")
    }
    report["speedup_median"] = {
        step: {
            what: lifetimes["timings"][step][what]["median"] / ours["timings"][step][what]["median"]
            for what in ("wall", "cpu")
        }
        for step in ("summary", "fit", "score")
    }
    report["log_likelihood"] = {
        "formula": "FHL (2005) eq. 6, bgnbd.log_likelihood, on the same (x, t_x, T)",
        "ours": ll_ours,
        "lifetimes": ll_lifetimes,
        "relative_difference": _relative(ll_ours, ll_lifetimes),
        "ours_equal_or_better": ll_ours >= ll_lifetimes,
    }
    # Our scoring at lifetimes' parameters against lifetimes' own numbers.
    same_params_scores = bgnbd.score(
        lifetimes_params, SCORING_HORIZON_WEEKS, summary.x, summary.t_x, summary.T
    )
    report["score_agreement_max_relative_difference"] = {
        "p_alive": float(
            np.max(np.abs(same_params_scores.p_alive - outputs["alive"]) / outputs["alive"])
        ),
        "expected_purchases": float(
            np.max(
                np.abs(same_params_scores.expected_purchases - outputs["expected"])
                / outputs["expected"]
            )
        ),
    }
    return report


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _format_cdnow(report: dict[str, Any]) -> str:
    paper = report["paper"]
    lines = ["CDNOW sample (2,357 customers, 39-week calibration, weeks)", ""]
    lines.append(f"{'':16}{'ours':>14}{'paper':>12}")
    for name in ("r", "alpha", "a", "b"):
        lines.append(f"{name:16}{report[name]:>14.4f}{paper[name]:>12.3f}")
    lines.append(
        f"{'log-likelihood':16}{report['log_likelihood']:>14.2f}{paper['log_likelihood']:>12.1f}"
    )
    holdout = report["holdout"]
    lines += ["", f"Holdout {holdout['calibration_end']} .. {holdout['holdout_end']} (39 weeks)"]
    rows = [("ours", holdout["ours"])]
    if "unavailable" in holdout["lifetimes"]:
        lines.append(f"lifetimes not run: {holdout['lifetimes']['unavailable']}")
    else:
        rows.append(("lifetimes", holdout["lifetimes"]))
    lines.append(f"{'':12}{'predicted':>12}{'actual':>10}{'error':>9}")
    for name, row in rows:
        lines.append(
            f"{name:12}{row['predicted_total']:>12.1f}{row['actual_total']:>10.0f}"
            f"{row['prediction_relative_error']:>9.1%}"
        )
    if "agreement" in holdout:
        agreement = holdout["agreement"]
        lines.append(
            "ours vs lifetimes: predicted "
            f"{agreement['predicted_total_relative_difference']:+.2e}, actual "
            f"{agreement['actual_total_relative_difference']:+.2e} (relative)"
        )
    return "\n".join(lines)


def _format_synthetic(report: dict[str, Any]) -> str:
    ours, lifetimes = report["ours"], report["lifetimes"]
    lines = [
        f"Synthetic BG/NBD workspace: {report['customers']:,} customers, "
        f"{report['transactions']:,} order lines, {report['customer_days']:,} purchase days; "
        f"{ours['distinct_rows']:,} distinct histories; {report['repeat']} interleaved rounds",
        "",
    ]
    available = "unavailable" not in lifetimes

    def cell(timings: dict, what: str) -> str:
        t = timings[what]
        return f"{t['median']:.3f} ({t['min']:.3f}–{t['max']:.3f})"

    lines.append(
        f"{'step':9}{'ours wall':>24}{'lifetimes wall':>24}{'speed-up':>9}"
        f"{'ours cpu':>24}{'lifetimes cpu':>24}"
    )
    for step in ("summary", "fit", "score"):
        mine = ours["timings"][step]
        theirs = lifetimes["timings"][step] if available else None
        ratio = f"{report['speedup_median'][step]['wall']:>8.1f}x" if available else f"{'-':>9}"
        lines.append(
            f"{step:9}{cell(mine, 'wall'):>24}{cell(theirs, 'wall') if theirs else '-':>24}"
            f"{ratio}{cell(mine, 'cpu'):>24}{cell(theirs, 'cpu') if theirs else '-':>24}"
        )
    lines.append(
        "seconds: median (min–max) of the interleaved rounds; speed-up of the medians; "
        "cpu is each side's own process time"
    )
    lines.append("")
    lines.append(
        f"ours: r={ours['params']['r']:.4f} alpha={ours['params']['alpha']:.4f} "
        f"a={ours['params']['a']:.4f} b={ours['params']['b']:.4f} "
        f"LL={ours['log_likelihood']:.3f} ({ours['passes']} full passes, "
        f"{ours['subsample_passes']} on a subsample)"
    )
    if available:
        ll = report["log_likelihood"]
        p = lifetimes["params"]
        lines.append(
            f"lifetimes: r={p['r']:.4f} alpha={p['alpha']:.4f} a={p['a']:.4f} b={p['b']:.4f} "
            f"LL={ll['lifetimes']:.3f} ({lifetimes['optimizer']['nfev']} evaluations)"
        )
        lines.append(
            f"log-likelihood, ours vs lifetimes: {ll['relative_difference']:+.2e} relative "
            f"({'ours equal or better' if ll['ours_equal_or_better'] else 'LIFETIMES BETTER'})"
        )
    else:
        lines.append(f"lifetimes not run: {lifetimes['unavailable']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="rapport bench lapse",
        description="Benchmark the BG/NBD lapse model (rapport.lib.bgnbd) against lifetimes.",
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--cdnow", action="store_true", help="reproduce the paper on the CDNOW sample"
    )
    what.add_argument(
        "--customers", type=int, metavar="N", help="time a synthetic workspace of N customers"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seed", type=int, default=0, help="synthetic data seed (default 0)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="rounds, each timing every step on both sides in turn (3)",
    )
    parser.add_argument(
        "--no-lifetimes", action="store_true", help="measure ours only, without lifetimes"
    )
    parser.add_argument(
        "--lifetimes-venv",
        type=Path,
        default=None,
        help="lifetimes virtual environment (default var/bench/lifetimes-venv)",
    )
    args = parser.parse_args(argv)
    if args.customers is not None and args.customers < 1:
        parser.error("--customers must be positive")

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    venv = None if args.no_lifetimes else (args.lifetimes_venv or default_venv())
    if args.cdnow:
        try:
            report = cdnow_report(venv, log)
        except cdnow.CdnowUnavailable as error:
            print(f"CDNOW data unavailable: {error}", file=sys.stderr)
            return 2
        text = _format_cdnow(report)
    else:
        report = synthetic_report(
            args.customers, seed=args.seed, repeat=args.repeat, venv=venv, log=log
        )
        text = _format_synthetic(report)
    report["machine"] = machine_description()
    print(json.dumps(report, indent=2) if args.json else text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
