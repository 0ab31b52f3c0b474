"""Exact top k by dot product without scoring every item: items taken longest vector first,
and each user scored against only as many of them as could still enter the user's top k.

A dot product is at most the product of the two vectors' lengths (Cauchy–Schwarz). So score a
user against the FIRST longest item vectors: the k-th best of those scores (filters applied) is
a score the final top k must reach, and an item whose length times the user's falls short of
it cannot enter, nor can any shorter one. Each user is then scored against the longest items up
to that length (the width doubled until it covers every row; rows needing the same width are
scored together). In factor models popular items have the long vectors and take the top
places, so a few per cent of a large catalog is scored for most users; the answer is the one
scoring everything gives. Bounds are widened by MARGIN, far more than float rounding moves a
score, so rounding never leaves out an item that belongs.
"""

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from relevo.engine.base import BATCH_SCORES
from relevo.engine.rows import entry_rows
from relevo.engine.topk import top_k

FIRST = 1024  # the longest items every user is scored against first
MIN_ITEMS = 4 * FIRST  # smaller catalogs are scored whole: as cheap, and one pass
MARGIN = 1e-4


class LengthOrderedItems:
    """A factor model's item vectors, longest first."""

    def __init__(self, item_factors: np.ndarray) -> None:
        self.source = item_factors
        lengths = np.linalg.norm(item_factors, axis=1)
        self.order = np.argsort(-lengths, kind="stable")
        self.lengths = lengths[self.order]
        self.vectors = np.ascontiguousarray(item_factors[self.order], dtype=np.float32)
        self.position = np.empty(len(self.order), dtype=np.int64)
        self.position[self.order] = np.arange(len(self.order))

    def top_k(
        self,
        vectors: np.ndarray,
        k: int,
        *,
        excluded: Sequence[sp.csr_matrix] = (),
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per row of `vectors`, the k items with the highest dot product (indices into the
        item factors, best first, equal scores in index order), leaving out each row's items in
        the `excluded` matrices (rows × items) and items not `allowed`; -1 and NaN pad."""
        items = len(self.order)
        k = min(k, items)
        allowed_here = None if allowed is None else allowed[self.order]
        width = min(items, FIRST)
        best, scores = self._ranked(vectors, k, width, excluded, allowed_here)
        reach = self.reach(vectors, scores[:, -1]) if k else np.zeros(len(vectors), dtype=np.int64)
        pending = np.flatnonzero(reach > width)
        while len(pending):
            width = min(items, 2 * width)
            rows = pending[reach[pending] <= width]
            step = max(1, BATCH_SCORES // width)  # rows scored at once, so memory stays bounded
            for start in range(0, len(rows), step):
                some = rows[start : start + step]
                left_out = [matrix[some] for matrix in excluded]
                best[some], scores[some] = self._ranked(vectors[some], k, width, left_out, allowed_here)
            pending = pending[reach[pending] > width]
        found = np.where(best >= 0, self.order[np.clip(best, 0, None)], -1).astype(np.int32)
        ranked = np.lexsort((found, -scores), axis=-1)  # score down, then index up; NaN last
        return np.take_along_axis(found, ranked, axis=1), np.take_along_axis(scores, ranked, axis=1)

    def _ranked(
        self,
        vectors: np.ndarray,
        k: int,
        width: int,
        excluded: Sequence[sp.csr_matrix],
        allowed: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's top k among the `width` longest items (positions in length order)."""
        scores = vectors @ self.vectors[:width].T
        for matrix in excluded:
            rows = entry_rows(matrix)
            columns = self.position[matrix.indices]
            inside = columns < width
            scores[rows[inside], columns[inside]] = -np.inf
        if allowed is not None:
            scores[:, ~allowed[:width]] = -np.inf
        return top_k(scores, k)

    def reach(self, vectors: np.ndarray, kth: np.ndarray) -> np.ndarray:
        """How many of the longest items each row must be scored against, given a score its
        top k must reach (NaN: none known, so every item)."""
        lengths = np.linalg.norm(vectors, axis=1) * (1 + MARGIN)
        known = np.isfinite(kth) & (kth > 0) & (lengths > 0)
        reach = np.full(len(vectors), len(self.order), dtype=np.int64)
        shortest = kth[known] / lengths[known] * (1 - MARGIN)  # an item shorter than this cannot enter
        reach[known] = np.searchsorted(-self.lengths, -shortest, side="right")
        return reach
