"""The hybrid ensemble (the SmartCommerce API's `hybrid_ensemble`): several models fit on the
same data, their scores blended. Each component's scores are scaled per user to at most 1 in
absolute value, then summed with the component's weight.

On a large catalog it scores only candidates: the neighbours of the user's items (item-kNN),
what was bought with the user's purchases (co-purchase) and the most popular items, all
among the allowed ones;
below `exhaustive_items` every item is scored. It falls back by itself: a user with no
history gets what every component says of nobody in particular (popularity, the average
user), which the filters place in context; a product the models never saw is placed by the
content component (`content.similar_to`)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from relevo.engine.algorithms.als import ALS
from relevo.engine.algorithms.bpr import BPR
from relevo.engine.algorithms.content import Content
from relevo.engine.algorithms.cooccurrence import Cooccurrence
from relevo.engine.algorithms.ease import EASE
from relevo.engine.algorithms.item_knn import ItemKNN
from relevo.engine.algorithms.popular import Popular
from relevo.engine.base import Recommender, StopCheck, config_values
from relevo.engine.bounds import ConfigError, bounded, check_bounds
from relevo.engine.data import TrainingData
from relevo.engine.parts import BatchParts
from relevo.engine.rows import dense_columns, entry_rows, sorted_unique

COMPONENTS: dict[str, type[Recommender]] = {
    cls.algorithm: cls for cls in (Popular, Cooccurrence, ItemKNN, Content, ALS, BPR, EASE)
}
# Weight 0 leaves a component out (it is not even trained).
DEFAULT_WEIGHTS = {
    "popular": 0.1,
    "cooccurrence": 0.2,
    "item_knn": 0.5,
    "content": 0.1,
    "als": 1.0,
    "bpr": 0.0,
    "ease": 1.0,
}
_CANDIDATE_BATCH_USERS = 16
_NEIGHBOUR_ORDER = ("item_knn", "als", "ease", "bpr", "content", "popular")  # for similar_items


@dataclass(frozen=True)
class HybridConfig:
    # Settings per component, over each one's defaults ({"als": {"embedding_dim": 32}}).
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Blend weights, over DEFAULT_WEIGHTS; 0 leaves a component out.
    weights: dict[str, float] = field(default_factory=dict)
    # Each user's candidates: this many popular items (more for a long history), and this many
    # of the best each neighbourhood model finds. Measured on the demo shop's held-out events,
    # 100 ranks as well as 300 (NDCG@10 0.0857 against 0.0854), a request 8% faster.
    candidates: int = bounded(100, at_least=1, at_most=10_000)
    # Catalogs up to this size are scored whole, every item for every request.
    exhaustive_items: int = bounded(20_000, at_least=0, at_most=200_000)

    def __post_init__(self) -> None:
        for name in ("components", "weights"):
            if not isinstance(getattr(self, name), dict):
                raise ConfigError(name, "must be an object keyed by component name")
        unknown = sorted((set(self.components) | set(self.weights)) - set(COMPONENTS))
        if unknown:
            known = ", ".join(COMPONENTS)
            raise ValueError(f"the hybrid has no component {', '.join(unknown)}; its components: {known}")
        for name, weight in self.weights.items():
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not np.isfinite(weight) or weight < 0:
                raise ConfigError(f"weights.{name}", f"must be a finite number, not negative: {weight!r}")
        check_bounds(self)
        weights = {**DEFAULT_WEIGHTS, **{name: float(weight) for name, weight in self.weights.items()}}
        if not any(weights.values()):
            raise ConfigError("weights", "at least one hybrid weight must be above 0")
        # Stored complete, so a saved model says exactly what it was trained with.
        components = {
            name: config_values(_component_config(name, self.components.get(name, {}))) for name in COMPONENTS
        }
        object.__setattr__(self, "components", components)
        object.__setattr__(self, "weights", weights)


def _component_config(name: str, values: dict[str, Any]) -> Any:
    try:
        return COMPONENTS[name].make_config(values)
    except ConfigError as exc:
        raise exc.inside(f"components.{name}") from None


class Hybrid(Recommender):
    algorithm = "hybrid"
    Config = HybridConfig

    def __init__(self, config: HybridConfig | None = None) -> None:
        super().__init__(config)
        self.components: dict[str, Recommender] = {}

    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int, stop: StopCheck) -> None:
        self.components = {}
        for name, weight in self.config.weights.items():
            if weight <= 0 or not self._fits_catalog(name, matrix.shape[1]):
                continue
            stop()
            component = self._component(name)
            component.users, component.items, component.history = self.users, self.items, matrix
            component._fit(data, matrix, seed=seed, threads=threads, stop=stop)
            self.components[name] = component
        self._prepare()

    def _fits_catalog(self, name: str, items: int) -> bool:
        # EASE keeps an items × items matrix: on a catalog too big for it, the hybrid does without.
        return name != "ease" or items <= self.config.components["ease"]["max_items"]

    def reweighted(self, weights: dict[str, float]) -> "Hybrid":
        """This fitted hybrid blending with other weights, without fitting again: what each
        component learns does not depend on the weights (for tuning them). Components weighted
        0 or not named are left out; one that was not fitted cannot come in."""
        missing = sorted(name for name, weight in weights.items() if weight > 0 and name not in self.components)
        if missing:
            raise ValueError(f"not fitted, so cannot be weighted in: {', '.join(missing)}")
        every = {name: float(weights.get(name, 0.0)) for name in COMPONENTS}
        model = Hybrid(Hybrid.make_config({"components": self.config.components, "weights": every}))
        model.users, model.items, model.history = self.users, self.items, self.history
        model.components = {name: part for name, part in self.components.items() if model.config.weights[name] > 0}
        model._prepare()
        return model

    def _component(self, name: str) -> Recommender:
        cls = COMPONENTS[name]
        return cls(cls.make_config(self.config.components[name]))

    def _prepare(self) -> None:
        users_per_item = np.diff(self.history.tocsc().indptr)
        popular = self.components.get("popular")
        popularity = popular.popularity if popular is not None else users_per_item.astype(np.float32)
        self.popular_order = np.argsort(-popularity, kind="stable").astype(np.int32)
        self._allowed_order: tuple[np.ndarray, np.ndarray] | None = None

    def _batch_users(self) -> int:
        # On candidates, a batch is scored on the union of its users' candidates: small batches
        # keep that union (and the work) near each user's own few hundred items.
        return super()._batch_users() if self._exhaustive() else _CANDIDATE_BATCH_USERS

    def _exhaustive(self) -> bool:
        return len(self.items) <= self.config.exhaustive_items

    def _scored_candidates(
        self,
        users: np.ndarray,
        histories: sp.csr_matrix,
        allowed: np.ndarray | None,
        *,
        purchases: sp.csr_matrix | None = None,
        parts: BatchParts | None = None,
    ) -> tuple[np.ndarray | None, np.ndarray]:
        knn, cooccurrence = self.components.get("item_knn"), self.components.get("cooccurrence")
        if self._exhaustive():
            everything = np.arange(len(self.items), dtype=np.int32)
            known = {}
            if cooccurrence is not None and purchases is not None:
                known["cooccurrence"] = cooccurrence.ranked(
                    cooccurrence.bought_with(users, histories, purchases), everything
                )
            return None, self._blend(users, histories, everything, known, None, parts)
        # What the neighbourhood models find is computed once: candidates, then their scores.
        neighbourhood = knn.neighbourhood(histories) if knn else None
        together = cooccurrence.bought_with(users, histories, purchases) if cooccurrence else None
        rows, columns = self._own_candidates(
            histories, allowed, [m for m in (neighbourhood, together) if m is not None]
        )
        candidates = sorted_unique(columns).astype(np.int32)
        own = None  # one user's candidates are all their own
        if len(users) > 1:
            # In a batch, each user is scored on their own candidates only, as if alone.
            own = np.zeros((len(users), len(candidates)), dtype=bool)
            own[rows, np.searchsorted(candidates, columns)] = True
        scores = {}
        if knn:
            scores["item_knn"] = dense_columns(neighbourhood, candidates)
        if cooccurrence:
            scores["cooccurrence"] = cooccurrence.ranked(together, candidates)
        return candidates, self._blend(users, histories, candidates, scores, own, parts)

    def _own_candidates(
        self, histories: sp.csr_matrix, allowed: np.ndarray | None, found: list[sp.csr_matrix]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each user's candidates as (row, item) pairs: the most popular allowed items (more by
        the length of the history, so leaving it out does not leave the list short), and the
        best-scored items each neighbourhood model found."""
        lengths = np.diff(histories.indptr)
        popular = self._popular_order(allowed)
        wanted = np.minimum(self.config.candidates + lengths, len(popular))
        rows = [np.repeat(np.arange(histories.shape[0]), wanted)]
        columns = [np.concatenate([popular[:count] for count in wanted.tolist()])]
        for matrix in found:
            best_rows, best_columns = _best_entries(matrix, self.config.candidates, allowed)
            rows.append(best_rows)
            columns.append(best_columns)
        return np.concatenate(rows), np.concatenate(columns)

    def _popular_order(self, allowed: np.ndarray | None) -> np.ndarray:
        """Items by popularity, only the allowed ones; the last filter's answer is kept, as
        serving passes the same mask for the same filters."""
        if allowed is None:
            return self.popular_order
        kept = self._allowed_order
        if kept is not None and kept[0] is allowed:
            return kept[1]
        order = self.popular_order[allowed[self.popular_order]]
        self._allowed_order = (allowed, order)
        return order

    def _candidate_scores(self, users: np.ndarray, histories: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        return self._blend(users, histories, candidates, {}, None)

    def _blend(
        self,
        users: np.ndarray,
        histories: sp.csr_matrix,
        candidates: np.ndarray,
        known: dict[str, np.ndarray],
        own: np.ndarray | None,
        parts: BatchParts | None = None,
    ) -> np.ndarray:
        """The weighted sum of the components' scaled scores of the candidates (`known`: scores
        already computed, by component; `own`: which candidates are each user's, None for all),
        each component's part recorded in `parts` when given."""
        blended = np.zeros((len(users), len(candidates)), dtype=np.float32)
        if parts is not None:
            parts.begin(None if len(candidates) == len(self.items) else candidates, own)
        for name, component in self.components.items():
            scores = known.get(name)
            if scores is None:
                scores = component._candidate_scores(users, histories, candidates)
            part = self.config.weights[name] * _scaled(np.asarray(scores, dtype=np.float32), own)
            blended += part
            if parts is not None:
                parts.add(name, part)
        if own is not None:
            blended[~own] = -np.inf
        return blended

    def _scores(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        return self._candidate_scores(users, histories, np.arange(len(self.items), dtype=np.int32))

    def _similar(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        # The first component with something to say: who interacted with both items, then
        # learned factors, then descriptions (an item few users touched still has a category).
        for name in _NEIGHBOUR_ORDER:
            if name in self.components:
                indices, scores = self.components[name]._similar(item, k)
                if len(indices):
                    return indices, scores
        return np.array([], dtype=np.int32), np.array([], dtype=np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {"components": np.asarray(list(self.components), dtype=np.str_)}
        for name, component in self.components.items():
            state.update({f"{name}.{key}": value for key, value in component._state().items()})
        return state

    def _restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.components = {}
        for name in state["components"].tolist():
            component = self._component(name)
            component.users, component.items, component.history = self.users, self.items, self.history
            prefix = f"{name}."
            component._restore({key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)})
            self.components[name] = component
        self._prepare()


def _best_entries(matrix: sp.csr_matrix, count: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of each row's `count` largest entries in `allowed` columns (all of a row
    with fewer): a filter leaves out items before the best are taken, not after."""
    rows = entry_rows(matrix)
    columns, values = matrix.indices, matrix.data
    if allowed is not None:
        kept = allowed[columns]
        rows, columns, values = rows[kept], columns[kept], values[kept]
    lengths = np.bincount(rows, minlength=matrix.shape[0])
    if lengths.max(initial=0) <= count:
        return rows, columns
    starts = np.cumsum(lengths) - lengths
    keep = np.ones(len(rows), dtype=bool)
    for row in np.flatnonzero(lengths > count).tolist():
        start, stop = starts[row], starts[row] + lengths[row]
        keep[start:stop] = False
        keep[start + np.argpartition(-values[start:stop], count - 1)[:count]] = True
    return rows[keep], columns[keep]


def _scaled(scores: np.ndarray, own: np.ndarray | None) -> np.ndarray:
    """Each row divided by its largest absolute finite score among the user's own candidates
    (rows of zeros stay zero); scores that are not finite (nothing to say) count as 0."""
    largest = np.abs(scores).max(axis=1, keepdims=True, initial=0.0)
    if own is not None or not np.isfinite(largest).all():  # else every score counts as it is
        valid = np.isfinite(scores) if own is None else np.isfinite(scores) & own
        scores = np.where(valid, scores, np.float32(0.0))
        largest = np.abs(scores).max(axis=1, keepdims=True, initial=0.0)
    return scores / np.where(largest > 0, largest, np.float32(1.0))
