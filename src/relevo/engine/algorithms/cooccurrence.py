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
from relevo.engine.events import PURCHASE_TYPES, indicator
from relevo.engine.parts import BatchParts
from relevo.engine.rows import candidate_columns, entry_rows, gather_rows, weighted_sum
from relevo.engine.topk import top_k

# Candidates score in (0.5, 1], the popularity fill below in [0, 0.45]: the gap keeps every
# candidate ahead of every filler even after the float32 rounding of the scores.
_CANDIDATE_FLOOR = 0.5
_FILL_CEILING = 0.45


@dataclass(frozen=True)
class CooccurrenceConfig:
    # The event types that count as buying; when the data has none of them (a ratings-only
    # dataset), every event counts, at training and at request time.
    purchase_types: tuple[str, ...] = tuple(sorted(PURCHASE_TYPES))
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
        # A ratings-only dataset has no purchases: then every event counts as buying.
        self.every_event_buys = not events.of_type(*self.config.purchase_types).any()
        types = events.types.ids.tolist() if self.every_event_buys else self.config.purchase_types
        bought = self.bought = indicator(events, types)  # who bought what, however many times
        stop()
        # How many users bought both of two items; an item is not bought "with" itself.
        together = (bought.T @ bought).tocsr().astype(np.float32)
        together = (together - sp.diags(together.diagonal())).tocsr()
        together.eliminate_zeros()
        self.together = together
        self.buyers = np.asarray(bought.sum(axis=0), dtype=np.float32).ravel()
        # Items nobody bought still get an order for the fill: how many users touched them.
        self.touched = np.diff(matrix.tocsc().indptr).astype(np.float32)
        self._prepare()

    def _prepare(self) -> None:
        # Every item's place in the popularity fill, scaled into [0, _FILL_CEILING].
        fill = _tie_broken(self.buyers, self.touched)
        self.fill = (fill * (_FILL_CEILING / max(fill.max(initial=0.0), 1e-12))).astype(np.float32)

    def _scores(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        return self._candidate_scores(users, histories, np.arange(len(self.buyers)))

    def _candidate_scores(
        self,
        users: np.ndarray,
        histories: sp.csr_matrix,
        candidates: np.ndarray,
        purchases: sp.csr_matrix | None = None,
    ) -> np.ndarray:
        return self.ranked(self.bought_with(users, histories, purchases), candidates)

    def _scored_candidates(
        self,
        users: np.ndarray,
        histories: sp.csr_matrix,
        allowed: np.ndarray | None,
        *,
        purchases: sp.csr_matrix | None = None,
        parts: BatchParts | None = None,
    ) -> tuple[np.ndarray | None, np.ndarray]:
        return None, self._candidate_scores(users, histories, np.arange(len(self.buyers)), purchases)

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

    def bought_with(
        self, users: np.ndarray, histories: sp.csr_matrix, purchases: sp.csr_matrix | None = None
    ) -> sp.csr_matrix:
        """Per user, how often each item was bought with the user's purchases (`bought`), for
        items the user has not bought yet (sparse: only items bought with something)."""
        bought = self.bought_by(users, histories, purchases)
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

    def bought_by(
        self, users: np.ndarray, histories: sp.csr_matrix, purchases: sp.csr_matrix | None = None
    ) -> sp.csr_matrix:
        """Who bought what, for these users (1 where bought): their training purchases plus
        `purchases`, the request-time ones (users × items, rows aligned with `users`; None:
        none). Trained on data without purchases, every item of a history counts as bought."""
        rows = gather_rows(self.bought, users)
        recent = histories if self.every_event_buys else purchases
        if recent is None or recent.nnz == 0:  # nothing bought since training: the common case
            return rows
        bought = weighted_sum([(1.0, rows), (1.0, _ones(recent))])
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
            "every_event_buys": np.asarray(self.every_event_buys),
        }

    def _restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.bought = sparse_from_arrays("bought", state)
        self.together = sparse_from_arrays("together", state)
        self.buyers = state["buyers"]
        self.touched = state["touched"]
        if "every_event_buys" in state:
            self.every_event_buys = bool(state["every_event_buys"])
        else:  # saved before purchases were passed explicitly: a purchase weight of 0 meant this
            self.every_event_buys = float(state["purchase_weight"]) <= 0
        self._prepare()


def _ones(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The same entries, each 1 (stored zeros left out)."""
    kept = matrix.data != 0
    if kept.all():
        return sp.csr_matrix((np.ones(len(kept), dtype=np.float32), matrix.indices, matrix.indptr), shape=matrix.shape)
    ones = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    ones.data = kept.astype(np.float32)
    ones.eliminate_zeros()
    return ones


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
