"""EASE: a closed-form item-to-item linear model (Steck 2019, "Embarrassingly Shallow
Autoencoders"). B minimises ||X - XB||² + λ||B||² with a zero diagonal, so an item is predicted
from the user's other items only; scores are history @ B, so request-time histories count
as they are.

With `dropout` p > 0 it becomes EDLAE (Steck 2020, "Autoencoders that don't overfit towards
the identity"): emphasised denoising adds p/(1-p)·diag(XᵀX) to the penalty, so items seen
often are regularised more. The item × item matrix is dense, hence `max_items`: a bigger
catalog is refused (the hybrid then does without EASE)."""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from relevo.engine.base import Recommender, sorted_unique
from relevo.engine.data import TrainingData
from relevo.engine.topk import top_k

# Below this many items the Gram matrix is inverted in double precision; above, single
# precision halves the memory of the one big matrix (items² floats) at no visible cost.
_DOUBLE_PRECISION_ITEMS = 8_000


@dataclass(frozen=True)
class EASEConfig:
    l2: float = 500.0  # λ
    dropout: float = 0.0  # p: 0 is plain EASE, above 0 is EDLAE
    max_items: int = 20_000

    def __post_init__(self) -> None:
        if self.l2 <= 0:
            raise ValueError("l2 must be above 0")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be at least 0 and below 1")


class EASE(Recommender):
    algorithm = "ease"
    Config = EASEConfig

    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int) -> None:
        config = self.config
        items = matrix.shape[1]
        if items > config.max_items:
            raise ValueError(
                f"EASE keeps an items × items matrix; this catalog has {items:,} items, over its "
                f"max_items of {config.max_items:,}: use another algorithm or raise max_items"
            )
        dtype = np.float64 if items <= _DOUBLE_PRECISION_ITEMS else np.float32
        x = sp.csr_matrix(matrix, dtype=dtype)
        with threadpool_limits(threads, "blas"):
            gram = np.asarray((x.T @ x).todense(), dtype=dtype)
            penalty = config.l2 + config.dropout / (1.0 - config.dropout) * np.diag(gram)
            gram[np.diag_indices(items)] += penalty
            # Symmetric positive definite: a Cholesky inverse is faster and steadier than a general one.
            factor = scipy.linalg.cho_factor(gram, overwrite_a=True)
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
