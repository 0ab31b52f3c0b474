"""Factors a shop trained elsewhere (its own matrix factorisation, a two-tower network's last
layers): served as Relevo's factor models are, but never fitted here.

A user the upload knows scores with their uploaded factor, whatever they did since: the shop's
own training saw their history, Relevo's events may be only part of it. A user the upload does
not know, with events in Relevo, gets a factor solved from those events against the fixed item
factors (`fold_in`); a user with no history at all, the average uploaded user. The training
matrix is empty (there was no training here), so nothing is left out as "seen in training":
the request's own history is. The layout and its checks are in `engine/uploaded_factors.py`."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

import numpy as np
import scipy.sparse as sp

from relevo.engine.algorithms.factorization import FactorModel, average_user, empty_rows
from relevo.engine.base import StopCheck, cosine_neighbours
from relevo.engine.bounds import bounded, check_bounds
from relevo.engine.data import TrainingData
from relevo.engine.rows import gather_rows
from relevo.engine.vocab import Vocabulary


class NotTrainable(ValueError):
    """Raised by `fit`: uploaded factors are learned elsewhere, from events Relevo never saw."""


@dataclass(frozen=True)
class ExternalFactorsConfig:
    # Ridge of the fold-in (the L2 weight of implicit's ALS): keeps the factor of a user with
    # a short history near zero rather than fitted to a handful of items.
    regularization: float = bounded(0.1, at_least=0)

    def __post_init__(self) -> None:
        check_bounds(self)


class ExternalFactors(FactorModel):
    algorithm = "factors"
    Config = ExternalFactorsConfig

    item_popularity: np.ndarray | None = None  # per item, as the shop counts it (optional)

    @classmethod
    def from_factors(
        cls,
        *,
        user_ids: np.ndarray,
        item_ids: np.ndarray,
        user_factors: np.ndarray,
        item_factors: np.ndarray,
        item_popularity: np.ndarray | None = None,
        regularization: float | None = None,
    ) -> Self:
        """The model of arrays already checked (`uploaded_factors.read_layout` checks them)."""
        config = cls.Config() if regularization is None else cls.Config(regularization=float(regularization))
        model = cls(config)
        model.users, model.items = Vocabulary(user_ids.tolist()), Vocabulary(item_ids.tolist())
        model.history = sp.csr_matrix((len(model.users), len(model.items)), dtype=np.float32)
        state = {"user_factors": user_factors, "item_factors": item_factors}
        if item_popularity is not None:
            state["item_popularity"] = item_popularity
        model._restore(state)
        return model

    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int, stop: StopCheck) -> None:
        raise NotTrainable("'factors' models are uploaded to the registry, not trained from events")

    def user_vectors(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        vectors = np.empty((len(users), self.item_factors.shape[1]), dtype=np.float32)
        known = users >= 0
        vectors[known] = self.user_factors[users[known]]
        empty = empty_rows(histories)
        solve = np.flatnonzero(~known & ~empty)
        if len(solve):
            vectors[solve] = self._fold_in(gather_rows(histories, solve))
        vectors[~known & empty] = self.fallback
        return vectors

    def _fold_in(self, histories: sp.csr_matrix) -> np.ndarray:
        return fold_in(self.item_factors, self._gram, histories)

    def _similar(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        return cosine_neighbours(self.item_factors, item, k)

    def _state(self) -> dict[str, np.ndarray]:
        state = {"user_factors": self.user_factors, "item_factors": self.item_factors}
        if self.item_popularity is not None:
            state["item_popularity"] = self.item_popularity
        return state

    def _restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.user_factors = np.ascontiguousarray(state["user_factors"], dtype=np.float32)
        self.item_factors = np.ascontiguousarray(state["item_factors"], dtype=np.float32)
        popularity = state.get("item_popularity")
        self.item_popularity = None if popularity is None else np.asarray(popularity, dtype=np.float32)
        self.fallback = average_user(self.user_factors)
        factors = self.item_factors.astype(np.float64)
        # The part of every fold-in that does not depend on the user: computed once.
        self._gram = factors.T @ factors + self.config.regularization * np.eye(factors.shape[1])


def fold_in(item_factors: np.ndarray, gram: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
    """Each history's user factor against fixed item factors, as implicit-feedback ALS solves it
    (Hu, Koren & Volinsky 2008, confidence 1 + weight): the x minimising
    Σ_items c_i (p_i − x·y_i)² + λ‖x‖², with p_i = 1 and c_i = 1 + w_i for the items the user
    weighs above zero, p_i = 0 and c_i = 1 for every other item. `gram` is YᵀY + λI. The
    unobserved items' term is what keeps a factor from scoring everything alike. It is the
    factor implicit's ALS `recalculate_user` gives (same regularization) for the confidences
    1 + weight."""
    solved = np.zeros((histories.shape[0], item_factors.shape[1]), dtype=np.float32)
    for row in range(histories.shape[0]):
        start, stop = histories.indptr[row], histories.indptr[row + 1]
        weights = np.clip(histories.data[start:stop].astype(np.float64), 0.0, None)
        liked = weights > 0
        if not liked.any():
            continue  # only events that weigh nothing (a removal from a cart): no taste to fit
        factors = item_factors[histories.indices[start:stop][liked]].astype(np.float64)
        weights = weights[liked]
        system = gram + (factors.T * weights) @ factors
        target = factors.T @ (1.0 + weights)
        try:
            solved[row] = np.linalg.solve(system, target)
        except np.linalg.LinAlgError:  # no ridge, and too few items to pin every factor down
            solved[row] = np.linalg.lstsq(system, target, rcond=None)[0]
    return solved
