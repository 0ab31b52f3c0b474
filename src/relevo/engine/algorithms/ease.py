"""EASE: a closed-form item-to-item linear model (Steck 2019, "Embarrassingly Shallow
Autoencoders"). B minimises ||X - XB||² + λ||B||² with a zero diagonal, so an item is predicted
from the user's other items only; scores are history @ B, so request-time histories count
as they are.

With `dropout` p > 0 it becomes EDLAE (Steck 2020, "Autoencoders that don't overfit towards
the identity"): emphasised denoising adds p/(1-p)·diag(XᵀX) to the penalty, so items seen
often are regularised more. With `pair_half_life` h > 0, two items of a user's history count
together less the further apart the user touched them: by 0.5 ** (places apart / h), the
places being the order of each item's last event (see `sequence_gram`). Items looked at or
bought in one sitting say more of each other than items months apart.

The item × item matrix is dense, hence `max_items`: a bigger catalog is refused (the hybrid
then does without EASE)."""

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.stats
from threadpoolctl import threadpool_limits

from relevo.engine.base import Recommender, StopCheck
from relevo.engine.bounds import ConfigError, bounded, check_bounds
from relevo.engine.data import TrainingData
from relevo.engine.rows import sorted_unique
from relevo.engine.topk import top_k

# Below this many items the Gram matrix is inverted in double precision; above, single
# precision halves the memory of the one big matrix (items² floats) at no visible cost.
DOUBLE_PRECISION_ITEMS = 8_000
# sequence_gram: pairs whose weight would be under this are left out; histories are taken in
# blocks of this many places, so a long history never needs a places × places matrix.
_SMALLEST_PAIR_WEIGHT = 1e-4
_BLOCK_PLACES = 512
_USERS_BETWEEN_STOP_CHECKS = 1024
MAX_ITEMS = 50_000  # the highest max_items may be set to (a 50,000² matrix of float32 is 10 GB)


@dataclass(frozen=True)
class EASEConfig:
    l2: float = bounded(500.0, above=0)  # λ
    dropout: float = bounded(0.0, at_least=0)  # p: 0 is plain EASE, above 0 is EDLAE (below 1)
    pair_half_life: float = bounded(0.0, at_least=0)  # places apart at which a pair counts half; 0: every pair fully
    # Catalogs over this are refused: the model is an items × items dense matrix.
    max_items: int = bounded(20_000, at_least=1, at_most=MAX_ITEMS)

    def __post_init__(self) -> None:
        check_bounds(self)
        if self.dropout >= 1.0:
            raise ConfigError("dropout", "must be below 1")


class EASE(Recommender):
    algorithm = "ease"
    Config = EASEConfig

    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int, stop: StopCheck) -> None:
        config = self.config
        items = matrix.shape[1]
        if items > config.max_items:
            raise ValueError(
                f"EASE keeps an items × items matrix; this catalog has {items:,} items, over its "
                f"max_items of {config.max_items:,}: use another algorithm or raise max_items"
            )
        dtype = np.float64 if items <= DOUBLE_PRECISION_ITEMS else np.float32
        x = sp.csr_matrix(matrix, dtype=dtype)
        with threadpool_limits(threads, "blas"):
            if config.pair_half_life > 0:
                gram = sequence_gram(x, data.events.last_touched(matrix), config.pair_half_life, stop)
            else:
                gram = np.asarray((x.T @ x).todense(), dtype=dtype)
            penalty = config.l2 + config.dropout / (1.0 - config.dropout) * np.diag(gram)
            gram[np.diag_indices(items)] += penalty
            stop()
            # Symmetric positive definite: a Cholesky inverse is faster and steadier than a general one.
            factor = scipy.linalg.cho_factor(gram, overwrite_a=True)
            stop()
            precision = scipy.linalg.cho_solve(factor, np.eye(items, dtype=dtype))
        weights = -precision / np.diag(precision)[np.newaxis, :]
        np.fill_diagonal(weights, 0.0)
        self.weights = weights.astype(np.float32)

    def _scores(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        return np.asarray(histories @ self.weights, dtype=np.float32)

    def _candidate_scores(self, users: np.ndarray, histories: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        # Only the rows of B for items in the histories and the columns of the candidates matter.
        touched = sorted_unique(histories.indices)
        return np.asarray(histories[:, touched] @ self.weights[np.ix_(touched, candidates)], dtype=np.float32)

    def _similar(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        # Row `item` of B: how much having this item raises each other item's score.
        scores = self.weights[item].copy()
        scores[item] = -np.inf
        scores[scores <= 0] = -np.inf
        indices, best = top_k(scores[np.newaxis, :], k)
        keep = indices[0] >= 0
        return indices[0][keep], best[0][keep]

    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights}

    def _restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.weights = state["weights"]


def sequence_gram(
    matrix: sp.csr_matrix, times: np.ndarray, half_life: float, stop: StopCheck | None = None
) -> np.ndarray:
    """Σ over users of (x xᵀ) ∘ K, x the user's row of `matrix` and K[a, b] = 0.5 ** (|place of
    a - place of b| / half_life), an item's place its rank in the user's history ordered by
    `times` (one per stored entry; items touched at the same moment share the mean of their
    ranks). K is a Laplacian kernel, positive semidefinite, so this is a Gram matrix as XᵀX
    is, which it becomes as half_life grows without bound. `stop` is called every thousand
    users or so."""
    items = matrix.shape[1]
    gram = np.zeros((items, items), dtype=matrix.dtype)
    reach = half_life * math.log2(1.0 / _SMALLEST_PAIR_WEIGHT)
    for done, user in enumerate(np.flatnonzero(np.diff(matrix.indptr))):
        if stop is not None and done % _USERS_BETWEEN_STOP_CHECKS == 0:
            stop()
        start, end = matrix.indptr[user], matrix.indptr[user + 1]
        order = np.argsort(times[start:end], kind="stable")
        history, weights = matrix.indices[start:end][order], matrix.data[start:end][order]
        places = scipy.stats.rankdata(times[start:end][order], method="average")
        for first in range(0, len(history), _BLOCK_PLACES):
            rows = slice(first, first + _BLOCK_PLACES)
            lowest = np.searchsorted(places, places[first] - reach, side="left")
            highest = np.searchsorted(places, places[rows][-1] + reach, side="right")
            columns = slice(lowest, highest)
            apart = np.abs(places[rows, np.newaxis] - places[np.newaxis, columns])
            # Pairs beyond reach are dropped whichever block they fall in, so the sum stays symmetric.
            pairs = np.where(apart <= reach, np.power(0.5, apart / half_life), 0.0)
            pairs *= np.outer(weights[rows], weights[columns])
            gram[np.ix_(history[rows], history[columns])] += pairs
    return gram
