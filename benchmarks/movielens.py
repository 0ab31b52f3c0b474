"""MovieLens-100K for the accuracy benchmark, fetched at run time and never committed.

The RecBole wheel on PyPI ships the data set as its example (ratings in ml-100k.inter, titles,
years and genres in ml-100k.item), so `pip download` is the one way in that needs nothing but
the package index. The two files are cached under .bench-cache/ml-100k/; the wheel is not kept.
"""

import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.common import CACHE

RECBOLE = "recbole==1.2.1"
_MEMBER = "recbole/dataset_example/ml-100k/ml-100k.{suffix}"
_FOLDER = CACHE / "ml-100k"


@dataclass(frozen=True)
class Ratings:
    """The ratings in file order (u.data's order, which the splitters' random draws follow)."""

    user: list[str]
    item: list[str]
    rating: np.ndarray  # float32, 1 to 5
    timestamp: np.ndarray  # int64, unix seconds

    def __len__(self) -> int:
        return len(self.user)


def load_ratings() -> Ratings:
    users, items, ratings, stamps = [], [], [], []
    for user, item, rating, stamp in _rows("inter"):
        users.append(user)
        items.append(item)
        ratings.append(float(rating))
        stamps.append(int(float(stamp)))
    return Ratings(users, items, np.asarray(ratings, dtype=np.float32), np.asarray(stamps, dtype=np.int64))


def load_movies() -> dict[str, dict[str, str]]:
    """{item id: {"category", "text"}} for ItemCatalog.from_records. The genre combination is
    the category (movies of the same genres share it); title, year and genres are the text,
    so single genres and words of titles count too."""
    movies = {}
    for item, title, year, genres in _rows("item"):
        movies[item] = {"category": genres, "text": f"{title} {year} {genres}"}
    return movies


def _rows(suffix: str) -> list[list[str]]:
    """The tab-separated rows of ml-100k.<suffix>, without the header."""
    lines = _cached(suffix).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines[1:] if line]


def _cached(suffix: str) -> Path:
    path = _FOLDER / f"ml-100k.{suffix}"
    if not path.exists():
        _fetch()
    return path


def _fetch() -> None:
    """Downloads the RecBole wheel (no dependencies) and takes the two data files out of it."""
    _FOLDER.mkdir(parents=True, exist_ok=True)
    download = Path(tempfile.mkdtemp(prefix="recbole-", dir=_FOLDER))
    try:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", RECBOLE, "-d", str(download)]
        # pip's output only matters when it fails.
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"pip download {RECBOLE} failed:\n{done.stderr[-2000:]}")
        (wheel,) = download.glob("recbole-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            for suffix in ("inter", "item"):
                (_FOLDER / f"ml-100k.{suffix}").write_bytes(archive.read(_MEMBER.format(suffix=suffix)))
    finally:
        shutil.rmtree(download, ignore_errors=True)
