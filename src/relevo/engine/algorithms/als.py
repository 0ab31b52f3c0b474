"""ALS: implicit-feedback matrix factorisation (Hu, Koren & Volinsky 2008) with the `implicit`
library on the CPU. Interaction weights become confidences (`alpha` × weight, optionally
BM25-weighted first); a user's score for an item is the dot product of their factors.

Request-time histories count: a user who is unknown, or whose history differs from training,
gets a factor solved from that history against the fixed item factors (implicit's
`recalculate_user`), so a view changes the next answer without retraining."""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares

from relevo.engine.algorithms.factorization import BM25, MAX_EPOCHS, MAX_FACTORS, FactorModel, average_user
from relevo.engine.base import StopCheck, cosine_neighbours
from relevo.engine.blas import one_blas_thread
from relevo.engine.bounds import bounded, check_bounds
from relevo.engine.data import TrainingData


@dataclass(frozen=True)
class ALSConfig:
    embedding_dim: int = bounded(64, at_least=1, at_most=MAX_FACTORS)
    regularization: float = bounded(0.05, at_least=0)
    alpha: float = bounded(2.0, above=0)  # confidence per unit of interaction weight
    epochs: int = bounded(15, at_least=1, at_most=MAX_EPOCHS)
    bm25: bool = False  # weight the input by BM25 (popular items and long histories count less)
    bm25_k1: float = 100.0
    bm25_b: float = 0.8

    def __post_init__(self) -> None:
        check_bounds(self)


class ALS(FactorModel):
    algorithm = "als"
    Config = ALSConfig

    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int, stop: StopCheck) -> None:
        config = self.config
        self.bm25 = BM25.fit(matrix, config.bm25_k1, config.bm25_b) if config.bm25 else None
        # implicit's native solver runs its own threads; a second pool inside BLAS only slows it
        # down (implicit warns about it when the model is made).
        with one_blas_thread():
            model = self._model(threads, seed)
            model.fit(self._weighted(matrix), show_progress=False, callback=stop)  # asked after each iteration
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        self._prepare(model)

    def _model(self, threads: int, seed: int = 0) -> AlternatingLeastSquares:
        config = self.config
        return AlternatingLeastSquares(
            factors=config.embedding_dim,
            regularization=config.regularization,
            alpha=config.alpha,
            iterations=config.epochs,
            num_threads=threads,
            random_state=seed,
        )

    def _prepare(self, model: AlternatingLeastSquares) -> None:
        # The implicit model kept for solving request-time user factors: same item factors,
        # same regularisation and alpha, so a fold-in is what training would have computed.
        model.user_factors, model.item_factors = self.user_factors, self.item_factors
        self.model = model
        self.fallback = average_user(self.user_factors)

    def _weighted(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        return self.bm25(matrix) if self.bm25 is not None else sp.csr_matrix(matrix, dtype=np.float32)

    def _fold_in(self, histories: sp.csr_matrix) -> np.ndarray:
        with one_blas_thread():
            return self.model.recalculate_user(np.arange(histories.shape[0]), self._weighted(histories))

    def _similar(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        return cosine_neighbours(self.item_factors, item, k)

    def _state(self) -> dict[str, np.ndarray]:
        state = {"user_factors": self.user_factors, "item_factors": self.item_factors}
        if self.bm25 is not None:
            state["bm25_idf"] = self.bm25.idf
            state["bm25_average_length"] = np.asarray(self.bm25.average_length, dtype=np.float64)
        return state

    def _restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.user_factors, self.item_factors = state["user_factors"], state["item_factors"]
        self.bm25 = None
        if "bm25_idf" in state:
            average = float(state["bm25_average_length"])
            self.bm25 = BM25(self.config.bm25_k1, self.config.bm25_b, state["bm25_idf"], average)
        with one_blas_thread():
            self._prepare(self._model(threads=1))
