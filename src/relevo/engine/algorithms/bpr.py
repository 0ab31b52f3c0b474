"""BPR: matrix factorisation trained on pairwise rankings (Rendle et al. 2009) with the
`implicit` library on the CPU: for each interaction, the item should outscore a random one
the user did not touch. implicit learns an item bias as the last factor column (the user's
last column is fixed at one); a score is the dot product.

Request-time histories count: a user who is unknown, or whose history differs from training,
gets a factor folded in from that history by regularised least squares against the item
factors (BPR itself has no closed form for a single user)."""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from implicit.cpu.bpr import BayesianPersonalizedRanking

from relevo.engine.algorithms.factorization import MAX_EPOCHS, MAX_FACTORS, FactorModel, average_user
from relevo.engine.base import StopCheck, cosine_neighbours
from relevo.engine.blas import one_blas_thread
from relevo.engine.bounds import bounded, check_bounds
from relevo.engine.data import TrainingData


@dataclass(frozen=True)
class BPRConfig:
    embedding_dim: int = bounded(64, at_least=1, at_most=MAX_FACTORS)
    # Low rate and penalty: implicit samples negatives by popularity, and with larger steps the
    # model drifts away from popular items as epochs go on (measured on MovieLens-100K).
    learning_rate: float = bounded(0.005, above=0)
    regularization: float = bounded(0.001, at_least=0)
    epochs: int = bounded(100, at_least=1, at_most=MAX_EPOCHS)
    # Ridge penalty when solving a request-time user factor.
    fold_in_regularization: float = bounded(1.0, above=0)

    def __post_init__(self) -> None:
        check_bounds(self)


class BPR(FactorModel):
    algorithm = "bpr"
    Config = BPRConfig

    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int, stop: StopCheck) -> None:
        config = self.config
        # BPR samples by interaction, not by weight: a positive is a positive. BLAS threads
        # would only compete with implicit's own.
        with one_blas_thread():
            model = BayesianPersonalizedRanking(
                factors=config.embedding_dim,
                learning_rate=config.learning_rate,
                regularization=config.regularization,
                iterations=config.epochs,
                num_threads=threads,  # one thread is repeatable; more run lock-free SGD (faster, not repeatable)
                random_state=seed,
            )
            model.fit(sp.csr_matrix(matrix, dtype=np.float32), show_progress=False, callback=stop)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        self._prepare()

    def _prepare(self) -> None:
        latent = self.item_factors[:, :-1].astype(np.float64)
        penalty = self.config.fold_in_regularization * np.eye(latent.shape[1])
        # Precomputed once: every fold-in is then one small matrix product.
        self.fold_in = np.linalg.solve(latent.T @ latent + penalty, latent.T).astype(np.float32)
        self.fallback = average_user(self.user_factors)
        trained = np.linalg.norm(self.user_factors[:, :-1], axis=1)
        self.typical_norm = float(np.median(trained)) if len(trained) else 1.0

    def _fold_in(self, histories: sp.csr_matrix) -> np.ndarray:
        targets = histories.copy()
        targets.data = np.ones_like(targets.data)  # as in training, a positive is a positive
        latent = np.asarray((targets @ self.fold_in.T), dtype=np.float32)
        # Least squares fits 0/1 targets; BPR's scores live on another scale, where the item
        # bias would swamp a small vector. Rescale to a typical trained user's length.
        norms = np.linalg.norm(latent, axis=1, keepdims=True)
        latent *= self.typical_norm / np.where(norms > 0, norms, 1.0)
        return np.hstack([latent, np.ones((len(latent), 1), dtype=np.float32)])  # the bias column

    def _similar(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        return cosine_neighbours(self.item_factors[:, :-1], item, k)  # the bias says nothing of likeness

    def _state(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors, "item_factors": self.item_factors}

    def _restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.user_factors, self.item_factors = state["user_factors"], state["item_factors"]
        self._prepare()
