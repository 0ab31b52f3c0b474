"""What the matrix-factorisation models (ALS, BPR) share: scoring by factors (exact top k on a
large catalog without scoring every item, `engine/pruned.py`), telling which request-time
histories differ from training (those users need a freshly solved factor), the factor for
users with no history at all, and BM25 weighting of an interaction matrix."""

import threading
from abc import abstractmethod
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from relevo.engine import pruned
from relevo.engine.ann import ItemIndex
from relevo.engine.base import BATCH_USERS, Recommender
from relevo.engine.parts import BatchParts
from relevo.engine.rows import entry_rows, gather_rows, unchanged_rows

_building = threading.Lock()
# Upper bounds of the settings that size a factor model's training (see engine/bounds.py):
# time grows with epochs × factors² and memory with factors × (users + items).
MAX_FACTORS = 1024
MAX_EPOCHS = 1000


class FactorModel(Recommender):
    """A model whose score is the dot product of user and item factors. Each user's factors
    are the trained ones, solved anew (`_fold_in`) when the history differs from training (new
    events since), or the average user's when there is no history at all."""

    user_factors: np.ndarray
    item_factors: np.ndarray
    fallback: np.ndarray
    _item_index: ItemIndex | None = None
    _length_ordered: pruned.LengthOrderedItems | None = None

    @abstractmethod
    def _fold_in(self, histories: sp.csr_matrix) -> np.ndarray:
        """Factors (one row per history, all columns) solved from these non-empty histories."""

    def user_vectors(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        vectors = np.empty((len(users), self.item_factors.shape[1]), dtype=np.float32)
        trained = users >= 0
        vectors[trained] = self.user_factors[users[trained]]
        empty = empty_rows(histories)
        solve = np.flatnonzero(stale_users(users, histories, self.history) & ~empty)
        if len(solve):
            vectors[solve] = self._fold_in(gather_rows(histories, solve))
        vectors[empty] = self.fallback
        return vectors

    def _scores(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        return self.user_vectors(users, histories) @ self.item_factors.T

    def _candidate_scores(self, users: np.ndarray, histories: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        return self.user_vectors(users, histories) @ self.item_factors[candidates].T

    def _top_k(
        self,
        users: np.ndarray,
        histories: sp.csr_matrix,
        k: int,
        excluded: Sequence[sp.csr_matrix],
        allowed: np.ndarray | None,
        *,
        purchases: sp.csr_matrix | None = None,
        parts: BatchParts | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        if not self._skips():
            return super()._top_k(users, histories, k, excluded, allowed, purchases=purchases, parts=parts)
        vectors = self.user_vectors(users, histories)
        return self._length_order().top_k(vectors, k, excluded=excluded, allowed=allowed)

    def _batch_users(self) -> int:
        # Pruned scoring holds a few thousand scores per user, not one per item.
        return BATCH_USERS if self._skips() else super()._batch_users()

    def _skips(self) -> bool:
        """Whether top k skips the items that cannot enter (`engine/pruned.py`): large catalogs."""
        return len(self.items) >= pruned.MIN_ITEMS

    def _length_order(self) -> pruned.LengthOrderedItems:
        with _building:
            if self._length_ordered is None or self._length_ordered.source is not self.item_factors:
                self._length_ordered = pruned.LengthOrderedItems(self.item_factors)
            return self._length_ordered

    def item_index(self, threads: int = 1) -> ItemIndex:
        """The approximate search graph over the item factors, built on first use."""
        with _building:
            if self._item_index is None or self._item_index.vectors is not self.item_factors:
                self._item_index = ItemIndex(self.item_factors, threads=threads)
            return self._item_index

    def approximate_indices(
        self,
        users: np.ndarray,
        k: int,
        *,
        histories: sp.csr_matrix,
        depth: int,
        excluded: sp.csr_matrix | None = None,
        allowed: np.ndarray | None = None,
        threads: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """recommend_indices() (history not left out unless in `excluded`) by the item graph:
        much faster on a large catalog, and nearly the same answer (`engine/ann.py`). Rows the
        graph cannot fill are scored exactly."""
        k = min(k, len(self.items))
        vectors = self.user_vectors(users, histories)
        best, scores, short = self.item_index(threads).search(
            vectors, k, depth=depth, excluded=excluded, allowed=allowed, threads=threads
        )
        rows = np.flatnonzero(short)
        if len(rows):
            best[rows], scores[rows] = self.recommend_indices(
                users[rows],
                k,
                histories=histories[rows],
                exclude_history=False,
                excluded=None if excluded is None else excluded[rows],
                allowed=allowed,
            )
        return best, scores


def stale_users(users: np.ndarray, histories: sp.csr_matrix, training: sp.csr_matrix) -> np.ndarray:
    """True for each user whose trained factor no longer describes them: unknown to the model
    (-1), or with a history that differs from their training row (new events since training).
    Rows whose entries are stored in another order count as changed (solved again, harmlessly)."""
    return (users < 0) | ~unchanged_rows(users, histories, training)


def empty_rows(histories: sp.csr_matrix) -> np.ndarray:
    return np.diff(histories.indptr) == 0


def average_user(user_factors: np.ndarray) -> np.ndarray:
    """Stands in for a user with no history: the mean trained user, whose scores lean towards
    what most users like (a popularity-like answer from the model itself)."""
    if len(user_factors) == 0:
        return np.zeros(user_factors.shape[1], dtype=np.float32)
    return user_factors.mean(axis=0).astype(np.float32)


class BM25:
    """BM25 weighting of a users × items matrix, as implicit's `bm25_weight` does (items that
    everyone touches count less, long histories are damped), with the statistics kept so
    request-time histories are weighted exactly as training was."""

    def __init__(self, k1: float, b: float, idf: np.ndarray, average_length: float) -> None:
        self.k1, self.b, self.idf, self.average_length = k1, b, idf, average_length

    @classmethod
    def fit(cls, matrix: sp.csr_matrix, k1: float, b: float) -> "BM25":
        users = max(matrix.shape[0], 1)
        counts = np.bincount(matrix.indices, minlength=matrix.shape[1])
        # Clipped at zero: an item every user touched tells nothing, but never counts against.
        idf = np.clip(np.log(users) - np.log1p(counts), 0.0, None).astype(np.float32)
        lengths = np.asarray(matrix.sum(axis=1)).ravel()
        average = float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0
        return cls(k1, b, idf, average)

    def __call__(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        weighted = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
        lengths = np.asarray(weighted.sum(axis=1)).ravel()
        norm = (1.0 - self.b) + self.b * lengths / self.average_length
        row_of = entry_rows(weighted)
        data = weighted.data
        weighted.data = (data * (self.k1 + 1.0) / (self.k1 * norm[row_of] + data) * self.idf[weighted.indices]).astype(
            np.float32
        )
        weighted.eliminate_zeros()
        return weighted
