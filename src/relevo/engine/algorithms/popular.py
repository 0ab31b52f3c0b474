"""Popularity: the items most interacted with, for everyone. `trending` counts recent
behaviour far more (a short half-life); per category, the serving filters narrow it down."""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import scipy.sparse as sp

from relevo.engine.base import Recommender, StopCheck
from relevo.engine.bounds import ConfigError, bounded, check_bounds
from relevo.engine.data import TrainingData


@dataclass(frozen=True)
class PopularConfig:
    kind: Literal["global", "trending"] = "global"
    trending_half_life_days: float = bounded(7.0, above=0)

    def __post_init__(self) -> None:
        if self.kind not in ("global", "trending"):
            raise ConfigError("kind", f"must be 'global' or 'trending', not {self.kind!r}")
        check_bounds(self)


class Popular(Recommender):
    algorithm = "popular"
    Config = PopularConfig

    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int, stop: StopCheck) -> None:
        if self.config.kind == "trending":
            weights = replace(data.weights, half_life_days=self.config.trending_half_life_days)
            matrix = data.events.matrix(weights, now=data.now)
        # Each user adds at most one to an item, saturating with the weight of what they did
        # (and fading with its age): one heavy user cannot make a bestseller.
        saturated = matrix.copy()
        saturated.data = -np.expm1(-saturated.data.astype(np.float64))
        popularity = np.asarray(saturated.sum(axis=0), dtype=np.float64).ravel()
        top = popularity.max() if len(popularity) and popularity.max() > 0 else 1.0
        self.popularity = (popularity / top).astype(np.float32)

    def _scores(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.popularity, (len(users), len(self.popularity))).copy()

    def _candidate_scores(self, users: np.ndarray, histories: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity[candidates], (len(users), len(candidates))).copy()

    def _similar(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        # Without behaviour to compare, "like this one" means "also popular".
        scores = self.popularity.copy()
        scores[item] = -np.inf
        order = np.argsort(-scores, kind="stable")[:k]
        order = order[np.isfinite(scores[order]) & (scores[order] > 0)]
        return order.astype(np.int32), scores[order]

    def _state(self) -> dict[str, np.ndarray]:
        return {"popularity": self.popularity}

    def _restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.popularity = state["popularity"]
