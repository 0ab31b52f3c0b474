"""Approximate top k by dot product: an HNSW graph (faiss) over a factor model's item vectors.

Exact scoring computes every user's score for every item; the graph instead walks from item
to item towards the highest dot products and looks at a few thousand items per user. Results
can miss an item the exact top k holds (recall is measured in `benchmarks/batch.py`); the
search depth trades speed for recall.

Exclusions are applied by asking for more than k (each row's excluded items can only push
that many out; rows are searched in groups by how many they exclude) and dropping them
afterwards; catalog filters (`allowed`) are applied inside the search. Rows that still come
back short are left for the caller to score exactly.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import faiss
import numpy as np
import scipy.sparse as sp

from relevo.engine.rows import entry_rows

LINKS = 12  # neighbours per item: on the batch benchmark, 12 find as much as 16 at a given speed
BUILD_DEPTH = 100  # candidates kept while building
MAX_OVERFETCH = 512  # items asked for beyond k, for rows with many exclusions; longer rows go exact
NARROW_FILTER = 0.25  # filters keeping less of the catalog than this are left to exact scoring
_faiss_threads = threading.Lock()  # faiss's thread count is process-wide


class ItemIndex:
    """The graph over item vectors (rows of `item_factors`), built once."""

    def __init__(self, item_factors: np.ndarray, *, threads: int = 1) -> None:
        self.vectors, self.items = item_factors, len(item_factors)
        self._index = faiss.IndexHNSWFlat(item_factors.shape[1], LINKS, faiss.METRIC_INNER_PRODUCT)
        self._index.hnsw.efConstruction = BUILD_DEPTH
        with _on_threads(threads):
            self._index.add(np.ascontiguousarray(item_factors, dtype=np.float32))

    def search(
        self,
        vectors: np.ndarray,
        k: int,
        *,
        depth: int,
        excluded: sp.csr_matrix | None = None,
        allowed: np.ndarray | None = None,
        threads: int = 1,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row of `vectors`, about the k items with the highest dot product, best first,
        leaving out the row's `excluded` items and items not `allowed` (-1 and NaN pad).
        Also returns which rows came back with fewer than k items although more qualify
        (score them exactly)."""
        if allowed is not None and allowed.mean() < NARROW_FILTER:  # the search would wander
            empty = np.full((len(vectors), k), -1, np.int32), np.full((len(vectors), k), np.nan, np.float32)
            return *empty, np.ones(len(vectors), dtype=bool)
        if allowed is not None and allowed.all():
            allowed = None
        if excluded is not None and excluded.nnz == 0:
            excluded = None
        best = np.full((len(vectors), k), -1, np.int32)
        best_scores = np.full((len(vectors), k), np.nan, np.float32)
        params = faiss.SearchParametersHNSW()
        if allowed is not None:
            bits = np.packbits(allowed, bitorder="little")  # referenced until the search is done
            params.sel = faiss.IDSelectorBitmap(self.items, faiss.swig_ptr(bits))
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        for fetch, rows in _by_fetch(k, excluded, self.items):
            params.efSearch = max(depth, fetch)
            with _on_threads(threads):
                scores, items = self._index.search(vectors[rows], fetch, params=params)
            if excluded is not None:
                _drop(items, excluded[rows], self.items)
            best[rows], best_scores[rows] = _first_k(items, scores, k)
        available = np.full(len(vectors), self.items if allowed is None else int(allowed.sum()))
        if excluded is not None:  # each row's excluded items that would otherwise qualify
            rows = entry_rows(excluded)
            if allowed is not None:
                rows = rows[allowed[excluded.indices]]
            available -= np.bincount(rows, minlength=len(vectors))
        short = (best >= 0).sum(axis=1) < np.minimum(k, available)
        return best, best_scores, short


def _by_fetch(k: int, excluded: sp.csr_matrix | None, items: int) -> Iterator[tuple[int, np.ndarray | slice]]:
    """The rows to search together and how many items to ask for them: k plus the row's count
    of excluded items (which can push that many out), rounded up to a power of two so that
    rows go in a few groups, and a row with few exclusions is not searched as deep as the
    row with the most."""
    if excluded is None:
        yield min(k, items), slice(None)
        return
    extra = np.minimum(np.diff(excluded.indptr), MAX_OVERFETCH)
    rounded = np.where(extra > 0, 2 ** np.ceil(np.log2(np.maximum(extra, 1))), 0).astype(np.int64)
    for size in np.unique(rounded).tolist():
        yield min(k + size, items), np.flatnonzero(rounded == size)


def _drop(items: np.ndarray, excluded: sp.csr_matrix, width: int) -> None:
    """Marks each row's excluded items as missing (-1); `width` is the number of items."""
    rows = np.arange(len(items), dtype=np.int64)
    keys = rows[:, np.newaxis] * width + items  # (row, item) pairs as one number
    excluded_keys = np.repeat(rows, np.diff(excluded.indptr)) * width + excluded.indices
    items[np.isin(keys, excluded_keys) & (items >= 0)] = -1


def _first_k(items: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first k found items of each row (search order is best first), -1 and NaN padded."""
    found = items >= 0
    order = np.argsort(~found, axis=1, kind="stable")[:, :k]  # found ones first, in their order
    best = np.take_along_axis(items, order, axis=1).astype(np.int32)
    best_scores = np.take_along_axis(scores, order, axis=1).astype(np.float32)
    best_scores[best < 0] = np.nan
    return best, best_scores


@contextmanager
def _on_threads(count: int) -> Iterator[None]:
    """faiss on this many threads for the duration (one caller at a time)."""
    with _faiss_threads:
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(max(1, count))
        try:
            yield
        finally:
            faiss.omp_set_num_threads(before)
