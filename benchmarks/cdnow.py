"""The CDNOW 1/10 sample for the customer-value benchmark, fetched at run time and never committed.

The `lifetimes` wheel on PyPI ships the sample Fader, Hardie & Lee used (2,357 customers who
made their first purchase at CDNOW in the first quarter of 1997, their purchases up to the end
of June 1998) as `lifetimes/datasets/CDNOW_sample.txt`, so `pip download` is the one way in that
needs nothing but the package index. The file is cached under .bench-cache/cdnow/; the wheel is
not kept, and lifetimes itself is never imported.
"""

import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks.common import CACHE

LIFETIMES = "lifetimes==0.11.3"
_MEMBER = "lifetimes/datasets/CDNOW_sample.txt"
_FILE = CACHE / "cdnow" / "CDNOW_sample.txt"
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Purchases:
    """The sample's purchases in file order; customers as indices 0..customers-1."""

    customer: np.ndarray  # int32
    day: np.ndarray  # int32, days since 1970-01-01
    amount: np.ndarray  # float64, dollars
    customers: int


def day_number(value: date) -> int:
    return (value - _EPOCH).days


def load_purchases() -> Purchases:
    """Columns of the file: customer id, id in the master file, date (YYYYMMDD), CDs, dollars."""
    ids, days, amounts = [], [], []
    for line in _cached().read_text().splitlines():
        if not line.strip():
            continue
        customer, _, stamp, _, dollars = line.split()
        ids.append(customer)
        days.append(day_number(date(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]))))
        amounts.append(float(dollars))
    known, customer = np.unique(np.asarray(ids), return_inverse=True)
    return Purchases(
        customer=customer.astype(np.int32),
        day=np.asarray(days, dtype=np.int32),
        amount=np.asarray(amounts, dtype=np.float64),
        customers=len(known),
    )


def _cached() -> Path:
    if not _FILE.exists():
        _fetch()
    return _FILE


def _fetch() -> None:
    """Downloads the lifetimes wheel (no dependencies) and takes the sample out of it."""
    _FILE.parent.mkdir(parents=True, exist_ok=True)
    download = Path(tempfile.mkdtemp(prefix="lifetimes-", dir=_FILE.parent))
    try:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", LIFETIMES, "-d", str(download)]
        # pip's output only matters when it fails.
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"pip download {LIFETIMES} failed:\n{done.stderr[-2000:]}")
        (wheel,) = download.glob("[Ll]ifetimes-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            _FILE.write_bytes(archive.read(_MEMBER))
    finally:
        shutil.rmtree(download, ignore_errors=True)
