"""Frequently bought together (the purchases API's rule): for a user, the items other
customers bought along with the user's purchases, not yet bought by the user, the most popular
first. An item's similar items are what is most often bought with it (the bought-together list)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from relevo.engine.base import Recommender, StopCheck, sparse_arrays, sparse_from_arrays
from relevo.engine.bounds import ConfigError
from relevo.engine.data import TrainingData
from relevo.engine.rows import candidate_columns, entry_rows, gather_rows, unchanged_rows, weighted_sum
from relevo.engine.topk import top_k

# Candidates score in (0.5, 1], the popularity fill below in [0, 0.45]: the gap keeps every
# candidate ahead of every filler even after the float32 rounding of the scores.
_CANDIDATE_FLOOR = 0.5
_FILL_CEILING = 0.45
# A request-time item counts as bought when its weight reaches a purchase's, give or take the
# rounding of adding it to the training row and taking that row away again.
_PURCHASE_TOLERANCE = 1e-3


@dataclass(frozen=True)
class CooccurrenceConfig:
    # The event types that count as buying; when the data has none of them (a ratings-only
    # dataset), every event counts.
    purchase_types: tuple[str, ...] = ("purchase",)
    # "popularity": candidates by how many users bought them, co-purchases breaking ties (the
    # purchases API's rule); "cooccurrence": by how often they were bought with the user's items.
    rank_by: Literal["popularity", "cooccurrence"] = "popularity"
    # Rank every other item by popularity below the candidates, so each list is full; off,
    # users without co-purchases get nothing and a hybrid falls back.
    fill: bool = True

    def __post_init__(self) -> None:
        # Saved configs come back from JSON with a list here.
        object.__setattr__(self, "purchase_types", tuple(self.purchase_types))
        if self.rank_by not in ("popularity", "cooccurrence"):
            raise ConfigError("rank_by", f"must be 'popularity' or 'cooccurrence', not {self.rank_by!r}")


class Cooccurrence(Recommender):
    algorithm = "cooccurrence"
    Config = CooccurrenceConfig

    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int, stop: StopCheck) -> None:
        events = data.events
        mask = events.of_type(*self.config.purchase_types)
        types = [name for name in self.config.purchase_types if name in events.types]
        if not mask.any():
            mask = np.ones(len(events), dtype=bool)
            types = []
        shape = (len(data.users), len(data.items))
        ones = np.ones(int(mask.sum()), dtype=np.float32)
        bought = sp.csr_matrix((ones, (events.user[mask], events.item[mask])), shape=shape)
        bought.sum_duplicates()
        bought.data[:] = 1.0  # who bought what, however many times
        self.bought = bought
        stop()
        # How many users bought both of two items; an item is not bought "with" itself.
        together = (bought.T @ bought).tocsr().astype(np.float32)
        together = (together - sp.diags(together.diagonal())).tocsr()
        together.eliminate_zeros()
        self.together = together
        self.buyers = np.asarray(bought.sum(axis=0), dtype=np.float32).ravel()
        # Items nobody bought still get an order for the fill: how many users touched them.
        self.touched = np.diff(matrix.tocsc().indptr).astype(np.float32)
        self.purchase_weight = np.float32(min((data.weights.of(name) for name in types), default=0.0))
        self._prepare()

    def _prepare(self) -> None:
        # Every item's place in the popularity fill, scaled into [0, _FILL_CEILING].
        fill = _tie_broken(self.buyers, self.touched)
        self.fill = (fill * (_FILL_CEILING / max(fill.max(initial=0.0), 1e-12))).astype(np.float32)

    def _scores(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        return self._candidate_scores(users, histories, np.arange(len(self.buyers)))

    def _candidate_scores(self, users: np.ndarray, histories: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        return self.ranked(self.bought_with(users, histories), candidates)

    def ranked(self, together: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        """Scores of the candidates from what `bought_with` found: co-purchased items first,
        in the configured order, then (with `fill`) every other item by popularity."""
        if self.config.fill:
            scores = np.broadcast_to(self.fill[candidates], (together.shape[0], len(candidates))).copy()
        else:
            scores = np.full((together.shape[0], len(candidates)), -np.inf, dtype=np.float32)
        if together.nnz == 0:
            return scores
        lengths = np.diff(together.indptr)
        rows = entry_rows(together)
        counts, buyers = together.data.astype(np.float64), self.buyers[together.indices].astype(np.float64)
        if self.config.rank_by == "popularity":
            order = buyers + counts / (np.repeat(_row_max(counts, together.indptr), lengths) + 1.0)
        else:
            order = counts + buyers / (self.buyers.max(initial=0.0) + 1.0)
        # Each user's best candidate scores 1; the others, their share of it.
        relative = order / np.repeat(_row_max(order, together.indptr), lengths)
        inside, columns = candidate_columns(together.indices, candidates)
        scores[rows[inside], columns] = _CANDIDATE_FLOOR + (1.0 - _CANDIDATE_FLOOR) * relative[inside]
        return scores

    def bought_with(self, users: np.ndarray, histories: sp.csr_matrix) -> sp.csr_matrix:
        """Per user, how often each item was bought with the user's purchases, for items the
        user has not bought yet (sparse: only items bought with something)."""
        bought = self._bought(users, histories)
        if bought.nnz == 0:  # nothing bought: nothing bought with it (many shoppers only look)
            return sp.csr_matrix(bought.shape, dtype=np.float32)
        together = bought @ self.together  # scipy's product: no duplicates, rows maybe unsorted
        # Leave out what the user bought: (row, item) pairs as one key each, then one pass.
        width = together.shape[1]
        bought_keys = entry_rows(bought) * width + bought.indices
        keys = entry_rows(together) * width + together.indices
        # A sorted search, not np.isin: for a request's few keys its set-up costs more than the search.
        together.data[candidate_columns(keys, np.sort(bought_keys))[0]] = 0
        together.eliminate_zeros()
        return together

    def _bought(self, users: np.ndarray, histories: sp.csr_matrix) -> sp.csr_matrix:
        """Who bought what, for these users: their training purchases, plus request-time
        items weighing at least a purchase (`histories` beyond the training rows)."""
        rows = gather_rows(self.bought, users)
        if unchanged_rows(users, histories, self.history).all():  # nothing since training: the common case
            return rows
        recent = weighted_sum([(1.0, histories), (-1.0, gather_rows(self.history, users))])
        purchase = (recent.data >= self.purchase_weight * (1.0 - _PURCHASE_TOLERANCE)) & (recent.data > 0)
        recent.data = purchase.astype(np.float32)
        bought = weighted_sum([(1.0, rows), (1.0, recent)])  # what is not a purchase (0) drops out
        bought.data = np.minimum(bought.data, 1.0)
        return bought

    def _similar(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        # Most often bought with it, more popular first among equals; scores share of the best.
        row = self.together[item]
        if row.nnz == 0:
            return np.array([], dtype=np.int32), np.array([], dtype=np.float32)
        order = np.full(len(self.buyers), -np.inf)
        order[row.indices] = _tie_broken(row.data, self.buyers[row.indices])
        indices, _ = top_k(order[np.newaxis, :], k)
        indices = indices[0][indices[0] >= 0]
        counts = row.toarray().ravel()[indices]
        return indices, (counts / row.data.max()).astype(np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {
            **sparse_arrays("bought", self.bought),
            **sparse_arrays("together", self.together),
            "buyers": self.buyers,
            "touched": self.touched,
            "purchase_weight": np.asarray(self.purchase_weight, dtype=np.float32),
        }

    def _restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.bought = sparse_from_arrays("bought", state)
        self.together = sparse_from_arrays("together", state)
        self.buyers = state["buyers"]
        self.touched = state["touched"]
        self._prepare()
        self.purchase_weight = np.float32(state["purchase_weight"])


def _row_max(values: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """The largest of each row's values (0 for an empty row)."""
    filled = np.diff(indptr) > 0
    largest = np.zeros(len(indptr) - 1)
    if filled.any():
        largest[filled] = np.maximum.reduceat(values, indptr[:-1][filled])
    return largest


def _tie_broken(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Orders by `primary` (non-negative counts), `secondary` breaking ties: the secondary,
    scaled below one within each row, is added to the primary. Float64, so both survive."""
    secondary = np.asarray(secondary, dtype=np.float64)
    top = secondary.max(axis=-1, keepdims=True, initial=0.0)
    return np.asarray(primary, dtype=np.float64) + secondary / (top + 1.0)
