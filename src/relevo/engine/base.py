"""The one interface every recommender implements.

An algorithm provides four things: `_fit` (learn from the weighted user × item matrix and the
catalog), `_scores` (a score for every item, for users given by index and history), and
`_state` / `_restore` (its learned arrays, for saving). Everything else is shared here:
vocabularies, request-time histories, exclusions, top-k, similar items, saving and loading.
Results are always (ids, scores) arrays, for one user or a batch.

Scoring runs in stages: candidates and their scores (`_scored_candidates`: by default every
item; a model may narrow a large catalog down to the items worth scoring) → filters (history,
exclusions, allowed items) → top k. What a request adds beyond the histories, its purchases
since training and a recorder of each component's part (`engine/parts.py`), goes down the
stages with each batch as arguments, never kept on the model: requests run on many threads.
"""

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp

from relevo.engine.blas import one_blas_thread
from relevo.engine.data import TrainingData
from relevo.engine.parts import BatchParts, ScoreParts
from relevo.engine.rows import candidate_columns, entry_rows, gather_rows, row_block, weighted_sum
from relevo.engine.topk import top_k
from relevo.engine.vocab import Vocabulary

BATCH_USERS = 1024  # users scored at once at most
BATCH_SCORES = 8_000_000  # and scores held per batch at most (32 MB): small batches stay in cache


@dataclass(frozen=True)
class Recommendations:
    """Top items per user: `ids[u, j]` is user u's j-th item and `scores[u, j]` its score.
    Where fewer than k items qualify, the row ends with "" ids and NaN scores."""

    ids: np.ndarray  # (users, k) str
    scores: np.ndarray  # (users, k) float32

    def for_user(self, row: int = 0) -> tuple[list[str], list[float]]:
        """One user's items and scores, without the padding."""
        keep = self.ids[row] != ""
        return self.ids[row][keep].tolist(), self.scores[row][keep].tolist()


@dataclass(frozen=True)
class NoConfig:
    """For algorithms without hyper-parameters."""


class FitStopped(Exception):
    """Raised out of `fit` when its `should_stop` answered yes between two steps of the work;
    the model learned nothing usable."""


class StopCheck:
    """Called by a fit between its steps (iterations, blocks, components): raises FitStopped
    once `should_stop` answers yes. Takes and ignores any arguments, so that it also serves as
    implicit's per-iteration callback. Asking is left cheap to the caller (a job asks its
    database at most every second, whatever the pace of the calls)."""

    def __init__(self, should_stop: Callable[[], bool] | None = None) -> None:
        self._should_stop = should_stop

    def __call__(self, *_: object) -> None:
        if self._should_stop is not None and self._should_stop():
            raise FitStopped()


class Recommender(ABC):
    algorithm: ClassVar[str]  # the name models and artifacts know it by
    Config: ClassVar[type] = NoConfig

    def __init__(self, config: Any = None) -> None:
        self.config = config if config is not None else self.Config()
        self.users: Vocabulary | None = None
        self.items: Vocabulary | None = None
        self.history: sp.csr_matrix | None = None  # the training matrix (users × items)

    # What each algorithm provides

    @abstractmethod
    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int, stop: StopCheck) -> None:
        """Learns from `matrix` (the weighted users × items matrix of `data`), calling `stop()`
        between its longer steps."""

    @abstractmethod
    def _scores(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        """Scores (len(users) × items, float32, higher is better) for users given by index
        (-1: unknown to the model) with these histories (rows aligned with `users`)."""

    @abstractmethod
    def _state(self) -> dict[str, np.ndarray]:
        """The learned arrays (no object arrays: they are saved without pickle)."""

    @abstractmethod
    def _restore(self, state: Mapping[str, np.ndarray]) -> None:
        """Takes back what `_state` returned."""

    def _scored_candidates(
        self,
        users: np.ndarray,
        histories: sp.csr_matrix,
        allowed: np.ndarray | None,
        *,
        purchases: sp.csr_matrix | None = None,
        parts: BatchParts | None = None,
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """The items worth scoring for this batch of users (sorted, unique indices; None for
        every item) and their scores. Scoring everything is exact; a model may narrow a large
        catalog down (`allowed` tells which items the filters will keep). `purchases`: the
        users' request-time purchases (rows × items, None for none), for the models that care;
        `parts`: where a blend of several models records each one's part."""
        return None, self._scores(users, histories)

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
        """One batch through the stages: candidates scored, each row's `excluded` items (rows ×
        items matrices) and items not `allowed` left out, the k best (indices, scores) kept."""
        candidates, scores = self._scored_candidates(users, histories, allowed, purchases=purchases, parts=parts)
        scores = np.asarray(scores, dtype=np.float32)
        for matrix in excluded:
            _mask(scores, matrix, candidates)
        if allowed is not None:
            scores[:, ~(allowed if candidates is None else allowed[candidates])] = -np.inf
        best, best_scores = top_k(scores, k)
        if candidates is not None:
            best = np.where(best >= 0, candidates[np.clip(best, 0, None)], -1).astype(np.int32)
        return best, best_scores

    def _batch_users(self) -> int:
        """How many users are scored at once."""
        return max(16, min(BATCH_USERS, BATCH_SCORES // max(len(self.items), 1)))

    def _candidate_scores(self, users: np.ndarray, histories: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        """Scores of the `candidates` (sorted item indices) only, one column each. By default
        the full scores, cut down; algorithms that can score a few items cheaply do so."""
        return self._scores(users, histories)[:, candidates]

    def _similar(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Items like `item` (indices, scores), best first, without it. By default: cosine
        similarity of the items' columns in the training matrix (who interacted with them)."""
        return cosine_neighbours(self.history.T.tocsr(), item, k)

    # The shared interface

    def fit(
        self, data: TrainingData, *, seed: int = 0, threads: int = 1, should_stop: Callable[[], bool] | None = None
    ) -> Self:
        """Learns from `data`. `should_stop` is asked between the steps of the work (after
        each iteration of ALS and BPR, each block of item-kNN, each stage of EASE and the
        content model, each component of the hybrid); once it answers yes, FitStopped is raised."""
        stop = StopCheck(should_stop)
        stop()
        matrix = data.matrix()
        self.users, self.items, self.history = data.users, data.items, matrix
        self._fit(data, matrix, seed=seed, threads=threads, stop=stop)
        return self

    @property
    def fitted(self) -> bool:
        return self.items is not None

    def histories(self, users: np.ndarray, recent: Sequence[Mapping[str, float]] | None = None) -> sp.csr_matrix:
        """Training history rows for users given by index (empty for -1), plus `recent`
        weights per user ({item id: weight}; unknown items are ignored)."""
        rows = gather_rows(self.history, users)
        if recent is None or not any(recent):
            return rows
        return weighted_sum([(1.0, rows), (1.0, _weights_matrix(recent, self.items))])

    def recommend(
        self,
        users: str | Sequence[str],
        k: int = 10,
        *,
        recent: Sequence[Mapping[str, float]] | None = None,
        purchases: Sequence[Collection[str]] | None = None,
        exclude_history: bool = True,
        exclude: Sequence[Collection[str]] | None = None,
        allowed: np.ndarray | None = None,
    ) -> Recommendations:
        """The k best items for each user (the shop's ids; unknown users get what their
        `recent` history, or the model's fallback, suggests).

        recent: per user, the weight of their events since training per item
        (`events.request_history`); purchases: per user, the items among those they bought
        (for co-purchase); exclude_history: leave out items in the user's history; exclude:
        more items per user; allowed: a boolean mask over items (catalog filters), or None for all.
        """
        indices, options = self.indexed(users, recent=recent, purchases=purchases, exclude=exclude)
        items, scores = self.recommend_indices(indices, k, exclude_history=exclude_history, allowed=allowed, **options)
        return Recommendations(ids=self.item_ids(items), scores=scores)

    def indexed(
        self,
        users: str | Sequence[str],
        *,
        recent: Sequence[Mapping[str, float]] | None = None,
        purchases: Sequence[Collection[str]] | None = None,
        exclude: Sequence[Collection[str]] | None = None,
    ) -> tuple[np.ndarray, dict[str, sp.csr_matrix | None]]:
        """recommend()'s users and per-user arguments in index space: the users' indices, and
        the `histories`, `purchases` and `excluded` matrices recommend_indices() takes."""
        user_ids = [users] if isinstance(users, str) else list(users)
        indices = self.users.indices(user_ids)
        return indices, {
            "histories": self.histories(indices, recent),
            "purchases": _id_sets(purchases, self.items),
            "excluded": _id_sets(exclude, self.items),
        }

    def item_ids(self, items: np.ndarray) -> np.ndarray:
        """Item indices (-1 padded) as the shop's ids ("" padded)."""
        return np.where(items >= 0, self.items.lookup(np.clip(items, 0, None)), "")

    def recommend_indices(
        self,
        users: np.ndarray,
        k: int,
        *,
        histories: sp.csr_matrix,
        exclude_history: bool = True,
        excluded: sp.csr_matrix | None = None,
        allowed: np.ndarray | None = None,
        purchases: sp.csr_matrix | None = None,
        parts: ScoreParts | None = None,
        threads: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        """recommend() in index space, for batches: item indices (-1 as padding) and scores.
        `purchases`: the users' request-time purchases (users × items, None for none); `parts`:
        filled with each component's part of the chosen items' scores (`engine/explain.py`).
        With `threads` above 1, batches of users are scored side by side (BLAS kept to one
        thread each, as the threads already fill the cores)."""
        k = min(k, len(self.items))
        out_items = np.full((len(users), k), -1, dtype=np.int32)
        out_scores = np.full((len(users), k), np.nan, dtype=np.float32)
        step = self._batch_users()

        def batch(start: int) -> None:
            stop = min(start + step, len(users))
            rows = row_block(histories, start, stop)
            left_out = [rows] if exclude_history else []
            if excluded is not None:
                left_out.append(row_block(excluded, start, stop))
            bought = None if purchases is None else row_block(purchases, start, stop)
            recorder = None if parts is None else parts.batch(start, stop)
            best, best_scores = self._top_k(
                users[start:stop], rows, k, left_out, allowed, purchases=bought, parts=recorder
            )
            if recorder is not None:
                recorder.take(best, best_scores)
            width = best.shape[1]  # fewer than k when there were fewer candidates
            out_items[start:stop, :width], out_scores[start:stop, :width] = best, best_scores

        starts = range(0, len(users), step)
        if threads > 1 and len(starts) > 1:
            with one_blas_thread(), ThreadPoolExecutor(threads) as pool:
                list(pool.map(batch, starts))
        else:
            for start in starts:
                batch(start)
        return out_items, out_scores

    def similar_items(self, item: str, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Items like this one (ids, scores), best first. Unknown items have none."""
        index = self.items.index(item)
        if index < 0:
            return np.array([], dtype=np.str_), np.array([], dtype=np.float32)
        indices, scores = self._similar(index, k)
        return self.items.lookup(indices), np.asarray(scores, dtype=np.float32)

    # Saving: arrays only, so loading never unpickles anything

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "users": self.users.ids,
            "items": self.items.ids,
            **sparse_arrays("history", self.history),
            **{f"state.{name}": value for name, value in self._state().items()},
        }

    @classmethod
    def from_arrays(cls, config: Any, arrays: Mapping[str, np.ndarray]) -> Self:
        recommender = cls(config)
        recommender.users = Vocabulary(arrays["users"].tolist())
        recommender.items = Vocabulary(arrays["items"].tolist())
        recommender.history = sparse_from_arrays("history", arrays)
        prefix = "state."
        recommender._restore({name[len(prefix) :]: value for name, value in arrays.items() if name.startswith(prefix)})
        return recommender

    def config_dict(self) -> dict[str, Any]:
        return config_values(self.config)

    @classmethod
    def make_config(cls, values: Mapping[str, Any]) -> Any:
        """The config from saved (or requested) values; unknown settings are refused."""
        names = {field.name for field in dataclasses.fields(cls.Config)}
        unknown = sorted(set(values) - names)
        if unknown:
            known = ", ".join(sorted(names)) or "none"
            raise ValueError(f"{cls.algorithm} has no setting {', '.join(unknown)}; its settings: {known}")
        return cls.Config(**values)


def config_values(config: Any) -> dict[str, Any]:
    """A config's settings as the manifest's JSON gives them back (tuples become lists)."""
    values = dataclasses.asdict(config)
    return {name: list(value) if isinstance(value, tuple) else value for name, value in values.items()}


def cosine_neighbours(vectors: sp.csr_matrix | np.ndarray, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k rows most cosine-similar to row `item` (not itself), best first."""
    if sp.issparse(vectors):
        norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel())
        similarity = np.asarray((vectors @ vectors[item].T).todense()).ravel()
    else:
        norms = np.linalg.norm(vectors, axis=1)
        similarity = vectors @ vectors[item]
    with np.errstate(divide="ignore", invalid="ignore"):
        similarity = similarity / (norms * norms[item])
    similarity = np.where(np.isfinite(similarity) & (similarity > 0), similarity, -np.inf)
    similarity[item] = -np.inf
    indices, scores = top_k(similarity[np.newaxis, :].astype(np.float32), k)
    keep = indices[0] >= 0
    return indices[0][keep], scores[0][keep]


def _mask(scores: np.ndarray, matrix: sp.csr_matrix, candidates: np.ndarray | None = None) -> None:
    """Sets to -inf the scores where `matrix` (rows × items) has entries, row by row; with
    `candidates`, the scores' columns are those items."""
    rows = entry_rows(matrix)
    if candidates is None:
        scores[rows, matrix.indices] = -np.inf
        return
    inside, columns = candidate_columns(matrix.indices, candidates)
    scores[rows[inside], columns] = -np.inf


def _id_sets(rows: Sequence[Collection[str]] | None, items: Vocabulary) -> sp.csr_matrix | None:
    """Per row, a set of item ids as a rows × items matrix of ones; None when every set is empty."""
    if not rows or not any(rows):
        return None
    return _weights_matrix([dict.fromkeys(ids, 1.0) for ids in rows], items)


def _weights_matrix(rows: Sequence[Mapping[str, float]], items: Vocabulary) -> sp.csr_matrix:
    """One row per {item id: weight} (ids the model does not know left out), built on the raw
    arrays: a mapping holds each id once, so there is nothing to sum, only each row to sort."""
    indptr, columns, values = [0], [np.empty(0, dtype=np.int32)], [np.empty(0, dtype=np.float32)]
    for weights in rows:
        indices = items.indices(weights)
        known = np.flatnonzero(indices >= 0)
        order = known[np.argsort(indices[known], kind="stable")]
        columns.append(indices[order])
        values.append(np.fromiter(weights.values(), dtype=np.float32, count=len(weights))[order])
        indptr.append(indptr[-1] + len(order))
    arrays = (np.concatenate(values), np.concatenate(columns), np.asarray(indptr, dtype=np.int32))
    return sp.csr_matrix(arrays, shape=(len(rows), len(items)))


def sparse_arrays(name: str, matrix: sp.csr_matrix) -> dict[str, np.ndarray]:
    return {
        f"{name}.data": matrix.data,
        f"{name}.indices": matrix.indices,
        f"{name}.indptr": matrix.indptr,
        f"{name}.shape": np.asarray(matrix.shape, dtype=np.int64),
    }


def sparse_from_arrays(name: str, arrays: Mapping[str, np.ndarray]) -> sp.csr_matrix:
    shape = tuple(int(size) for size in arrays[f"{name}.shape"])
    return sp.csr_matrix((arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]), shape=shape)
