"""The CDNOW data set of Fader, Hardie & Lee (2005), read from the lifetimes wheel.

The data are not part of Rapport: the ``lifetimes==0.11.3`` wheel on PyPI ships them, so the wheel
is fetched once with pip into a cache directory and the files are read straight out of the zip.
lifetimes itself is never imported (it does not install alongside current numpy/pandas).

Cache directory: ``$RAPPORT_CACHE_DIR`` if set, else ``var/cache/`` under the project root.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CALIBRATION_END",
    "CALIBRATION_WEEKS",
    "HOLDOUT_END",
    "HOLDOUT_WEEKS",
    "PAPER_LOG_LIKELIHOOD",
    "PAPER_PARAMS",
    "CdnowSummary",
    "CdnowTransactions",
    "CdnowUnavailable",
    "cache_dir",
    "load_master",
    "load_sample",
    "load_summary",
    "wheel_path",
]

WHEEL_REQUIREMENT = "lifetimes==0.11.3"
# sha256 of Lifetimes-0.11.3-py3-none-any.whl as published on PyPI.
WHEEL_SHA256 = "261e3dc89977c2b60767ca6728aaa29d429de0c814635070a749c36555895da8"
SAMPLE_MEMBER = "lifetimes/datasets/CDNOW_sample.txt"
MASTER_MEMBER = "lifetimes/datasets/CDNOW_master.txt"
SUMMARY_MEMBER = "lifetimes/datasets/cdnow_customers_summary.csv"
DOWNLOAD_TIMEOUT_SECONDS = 300

# The paper's set-up: everyone's first purchase is in the first quarter of 1997; the model is
# calibrated on the first 39 weeks (1997-01-01 to 1997-09-30) and tested on the next 39 weeks.
CALIBRATION_END = np.datetime64("1997-09-30", "D")
HOLDOUT_END = np.datetime64("1998-06-30", "D")
CALIBRATION_WEEKS = 39.0
HOLDOUT_WEEKS = 39.0  # (HOLDOUT_END - CALIBRATION_END) = 273 days
# FHL (2005), estimates on the 2,357-customer sample, weekly time unit.
PAPER_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PAPER_LOG_LIKELIHOOD = -9582.4


class CdnowUnavailable(RuntimeError):
    """The lifetimes wheel holding the CDNOW files could not be found or downloaded."""


@dataclass(frozen=True)
class CdnowTransactions:
    """One row per order line: several lines can share a customer and a day."""

    customer_ids: NDArray[np.int64]
    dates: NDArray[np.datetime64]
    cds: NDArray[np.int64]
    amounts: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.customer_ids)


@dataclass(frozen=True)
class CdnowSummary:
    """The paper's own (x, t_x, T) for the sample, in weeks, rounded to 0.01."""

    customer_ids: NDArray[np.int64]
    x: NDArray[np.float64]
    t_x: NDArray[np.float64]
    T: NDArray[np.float64]


def _project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    configured = os.environ.get("RAPPORT_CACHE_DIR")
    return Path(configured) if configured else _project_root() / "var" / "cache"


def _find_wheel(directory: Path) -> Path | None:
    if not directory.is_dir():
        return None
    for candidate in sorted(directory.iterdir()):
        name = candidate.name.lower()
        if name.startswith("lifetimes-0.11.3-") and name.endswith(".whl"):
            return candidate
    return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wheel_path(*, download: bool = True) -> Path:
    """Path of the cached lifetimes wheel, downloading it with pip when missing.

    Raises CdnowUnavailable (with pip's last words) when it is not cached and cannot be fetched,
    e.g. without network access.
    """
    directory = cache_dir()
    wheel = _find_wheel(directory)
    if wheel is None:
        if not download:
            raise CdnowUnavailable(f"{WHEEL_REQUIREMENT} wheel not in {directory}")
        wheel = _download(directory)
    digest = _sha256(wheel)
    if digest != WHEEL_SHA256:
        raise CdnowUnavailable(
            f"{wheel} has sha256 {digest}, expected {WHEEL_SHA256}: delete it to download again"
        )
    return wheel


def _download(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    # Download into a private directory and move the file in place, so that a concurrent reader
    # never sees a partial wheel.
    with tempfile.TemporaryDirectory(dir=directory, prefix=".download-") as staging:
        command = [
            sys.executable, "-m", "pip", "download", WHEEL_REQUIREMENT,
            "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
            "--retries", "1", "--timeout", "20", "-d", staging,
        ]  # fmt: skip
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_SECONDS
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise CdnowUnavailable(
                f"could not run pip to download {WHEEL_REQUIREMENT}: {error}"
            ) from error
        downloaded = _find_wheel(Path(staging))
        if completed.returncode != 0 or downloaded is None:
            tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-5:])
            raise CdnowUnavailable(
                f"could not download {WHEEL_REQUIREMENT} (needed for the CDNOW data; no network?)"
                f": pip exited with {completed.returncode}\n{tail}"
            )
        target = directory / downloaded.name
        os.replace(downloaded, target)
    return target


def _read_member(member: str) -> bytes:
    wheel = wheel_path()
    try:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(member)
    except (KeyError, zipfile.BadZipFile) as error:
        raise CdnowUnavailable(f"{wheel} has no readable {member}: {error}") from error


def _yyyymmdd_to_dates(values: NDArray[np.int64]) -> NDArray[np.datetime64]:
    years, month_days = np.divmod(values, 10_000)
    months, days = np.divmod(month_days, 100)
    month_starts = (years - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (months - 1)
    return month_starts.astype("datetime64[D]") + (days - 1)


def _parse_transactions(text: bytes, id_column: int) -> CdnowTransactions:
    lines = text.decode("ascii").splitlines()
    if lines and not lines[0].split()[0].isdigit():
        lines = lines[1:]  # CDNOW_master.txt has a header line
    table = np.loadtxt(lines, dtype=np.float64, ndmin=2)
    date_column = table.shape[1] - 3
    return CdnowTransactions(
        customer_ids=table[:, id_column].astype(np.int64),
        dates=_yyyymmdd_to_dates(table[:, date_column].astype(np.int64)),
        cds=table[:, date_column + 1].astype(np.int64),
        amounts=table[:, date_column + 2],
    )


def load_sample() -> CdnowTransactions:
    """The 2,357-customer sample of the paper (6,919 lines), ids 1..2357 as in its summary.

    CDNOW_sample.txt has the master-file id, the sample id, date (YYYYMMDD), CDs and dollars.
    """
    return _parse_transactions(_read_member(SAMPLE_MEMBER), id_column=1)


def load_master() -> CdnowTransactions:
    """The full CDNOW cohort: 23,570 customers, 69,659 lines, 1997-01-01 to 1998-06-30."""
    return _parse_transactions(_read_member(MASTER_MEMBER), id_column=0)


def load_summary() -> CdnowSummary:
    """cdnow_customers_summary.csv: the paper's (x, t_x, T) for the sample's calibration period."""
    table = np.loadtxt(
        io.StringIO(_read_member(SUMMARY_MEMBER).decode("ascii")), delimiter=",", skiprows=1
    )
    return CdnowSummary(
        customer_ids=table[:, 0].astype(np.int64), x=table[:, 1], t_x=table[:, 2], T=table[:, 3]
    )
