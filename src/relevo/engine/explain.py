"""Why each item was recommended: each component's part of its score, the component whose part
is largest, and the user's own history item behind that part. The public side of
`engine/parts.py` (recording parts while scoring) and `engine/sources.py` (finding sources).

- `recommend_explained` is `Recommender.recommend` with its reasons: the same answer (ids and
  scores alike: recording changes nothing), plus per item its parts, top component and source.
- `explain_indices` is the same in index space (`Recommender.recommend_indices`).
- `list_reasons` gives, for lists ranked earlier by `recommend_indices` (the lists training
  ranks ahead for every known user), each item's top component and source, batch by batch.
- `sources` finds the source of given items for given components.
- `item_parts` gives a hybrid's parts of given items (a list kept or ranked earlier).

A part is what the hybrid's blend adds for a component (its weight × its score scaled per
user), so an item's parts sum to its score; a model that is not a hybrid has one part, its own
score. Components are named by PART_NAMES, and stored as their code (the index there: the
codes never change, so lists saved with them stay readable)."""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from relevo.engine.algorithms.hybrid import Hybrid
from relevo.engine.base import Recommender
from relevo.engine.parts import ScoreParts
from relevo.engine.sources import component_sources

# New names go at the end: a code, once stored, must keep naming the same part. "factors" and
# "onnx" are the uploaded recommenders (docs/registry.md).
PART_NAMES: tuple[str, ...] = (
    "popular",
    "cooccurrence",
    "item_knn",
    "content",
    "als",
    "bpr",
    "ease",
    "factors",
    "onnx",
)
PART_CODES: dict[str, int] = {name: code for code, name in enumerate(PART_NAMES)}
NO_PART = -1  # the code of padding
_LIST_USERS = 4_096  # users explained at once by list_reasons: bounds its parts and its pairs


def part_names(model: Recommender) -> tuple[str, ...]:
    """The parts of a model's scores: a hybrid's components in blending order, or the model."""
    return tuple(model.components) if isinstance(model, Hybrid) else (model.algorithm,)


@dataclass(frozen=True)
class ExplainedIndices:
    """`Recommender.recommend_indices`' answer with its reasons."""

    items: np.ndarray  # (users, k) int32, -1 padded
    scores: np.ndarray  # (users, k) float32, NaN padded
    names: tuple[str, ...]  # the parts, in the order of `parts`' last axis
    parts: np.ndarray  # (users, k, len(names)) float32: each part of each item's score, NaN padded
    top: np.ndarray  # (users, k) int8: the PART_CODES of each item's largest part, NO_PART padded
    sources: np.ndarray  # (users, k) int32: the history item behind the largest part, -1 for none


class Reason(NamedTuple):
    """One recommended item and why."""

    item: str
    score: float
    parts: dict[str, float]  # by component; they sum to the score
    component: str  # the one with the largest part
    source: str | None  # the user's history item behind it (None: none, as for popularity)


@dataclass(frozen=True)
class ExplainedRecommendations:
    """`Recommender.recommend`'s answer with its reasons (the shop's ids)."""

    ids: np.ndarray  # (users, k) str, "" padded
    scores: np.ndarray  # (users, k) float32, NaN padded
    names: tuple[str, ...]
    parts: np.ndarray  # (users, k, len(names)) float32
    top: np.ndarray  # (users, k) str: the component with the largest part, "" padded
    sources: np.ndarray  # (users, k) str: the history item behind it, "" for none

    def for_user(self, row: int = 0) -> list[Reason]:
        """One user's items and why, without the padding."""
        return [
            Reason(
                item=str(self.ids[row, column]),
                score=float(self.scores[row, column]),
                parts={name: float(value) for name, value in zip(self.names, self.parts[row, column], strict=True)},
                component=str(self.top[row, column]),
                source=str(self.sources[row, column]) or None,
            )
            for column in np.flatnonzero(self.ids[row] != "").tolist()
        ]


def recommend_explained(
    model: Recommender,
    users: str | Sequence[str],
    k: int = 10,
    *,
    recent: Sequence[Mapping[str, float]] | None = None,
    purchases: Sequence[Collection[str]] | None = None,
    exclude_history: bool = True,
    exclude: Sequence[Collection[str]] | None = None,
    allowed: np.ndarray | None = None,
) -> ExplainedRecommendations:
    """`model.recommend(...)` with the same arguments, and the same answer, with its reasons."""
    indices, options = model.indexed(users, recent=recent, purchases=purchases, exclude=exclude)
    found = explain_indices(model, indices, k, exclude_history=exclude_history, allowed=allowed, **options)
    names = np.asarray(PART_NAMES)
    return ExplainedRecommendations(
        ids=model.item_ids(found.items),
        scores=found.scores,
        names=found.names,
        parts=found.parts,
        top=np.where(found.top >= 0, names[np.clip(found.top, 0, None)], ""),
        sources=model.item_ids(found.sources),
    )


def explain_indices(
    model: Recommender,
    users: np.ndarray,
    k: int,
    *,
    histories: sp.csr_matrix,
    exclude_history: bool = True,
    excluded: sp.csr_matrix | None = None,
    allowed: np.ndarray | None = None,
    purchases: sp.csr_matrix | None = None,
    threads: int = 1,
) -> ExplainedIndices:
    """`model.recommend_indices(...)` with the same arguments, and the same answer, with the
    parts recorded while it was scored and each item's top component and source."""
    names = part_names(model)
    parts = ScoreParts(names, len(users), min(k, len(model.items)))
    items, scores = model.recommend_indices(
        users,
        k,
        histories=histories,
        exclude_history=exclude_history,
        excluded=excluded,
        allowed=allowed,
        purchases=purchases,
        parts=parts,
        threads=threads,
    )
    top = largest_parts(names, parts.values, items)
    found = sources(model, users, histories, items, top, purchases=purchases)
    return ExplainedIndices(items=items, scores=scores, names=names, parts=parts.values, top=top, sources=found)


@dataclass(frozen=True)
class ListReasons:
    """Per item of lists ranked earlier, aligned with them."""

    top: np.ndarray  # (users, k) int8: PART_CODES of the largest part, NO_PART for padding
    sources: np.ndarray  # (users, k) int32: the history item behind it, -1 for none


def list_reasons(
    model: Recommender, items: np.ndarray, *, users: np.ndarray | None = None, threads: int = 1
) -> ListReasons:
    """The reasons of lists `model` ranked from the users' training histories with no filter
    on the items (`recommend_indices(users, k, histories=model.histories(users), ...)`, leaving
    out any items: what is left out changes no score): `items` (users × k item indices, -1
    padded) for `users` (indices, every known user in order by default). Parts are recorded by
    scoring each batch of users again as it was scored then (the same candidates and scaling),
    so this takes about as long as ranking the lists did."""
    users = np.arange(len(model.users), dtype=np.int32) if users is None else np.asarray(users)
    names = part_names(model)
    top = np.full(items.shape, NO_PART, dtype=np.int8)
    found = np.full(items.shape, -1, dtype=np.int32)
    if items.shape[1] == 0:
        return ListReasons(top=top, sources=found)
    for start in range(0, len(users), _LIST_USERS):
        stop = min(start + _LIST_USERS, len(users))
        batch, wanted = users[start:stop], items[start:stop]
        histories = model.histories(batch)
        if isinstance(model, Hybrid):
            parts = ScoreParts(names, len(batch), wanted.shape[1], wanted=wanted)
            # Only the recorded parts are of use: the smallest top k is asked for.
            model.recommend_indices(batch, 1, histories=histories, exclude_history=False, parts=parts, threads=threads)
            top[start:stop] = largest_parts(names, parts.values, wanted)
        else:
            top[start:stop] = np.where(wanted >= 0, PART_CODES[model.algorithm], NO_PART)
        found[start:stop] = sources(model, batch, histories, wanted, top[start:stop])
    return ListReasons(top=top, sources=found)


def item_parts(
    model: Hybrid,
    users: np.ndarray,
    items: np.ndarray,
    *,
    histories: sp.csr_matrix,
    allowed: np.ndarray | None = None,
    purchases: sp.csr_matrix | None = None,
) -> np.ndarray:
    """Each component's part of the hybrid's scores of given items (users × k indices, -1
    padded), scored as a list was scored for these users: with these histories, filter mask
    (which picks a large catalog's candidates, and so the scaling) and request-time purchases.
    (users, k, components in `part_names` order), NaN where an item was not among the user's
    candidates. For a list kept or ranked earlier, whose parts were not kept."""
    parts = ScoreParts(part_names(model), len(users), items.shape[1], wanted=items)
    # Only the recorded parts are of use: the smallest top k is asked for.
    model.recommend_indices(
        users, 1, histories=histories, exclude_history=False, allowed=allowed, purchases=purchases, parts=parts
    )
    return parts.values


def largest_parts(names: Sequence[str], parts: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Per item (users × k, -1 padded), the PART_CODES of its largest part (NO_PART where
    there is none)."""
    top = np.full(items.shape, NO_PART, dtype=np.int8)
    if not names:
        return top
    codes = np.array([PART_CODES[name] for name in names], dtype=np.int8)
    missing = np.isnan(parts)
    known = (items >= 0) & ~missing.all(axis=-1)
    top[known] = codes[np.argmax(np.where(missing, -np.inf, parts), axis=-1)[known]]
    return top


def sources(
    model: Recommender,
    users: np.ndarray,
    histories: sp.csr_matrix,
    items: np.ndarray,
    top: np.ndarray,
    *,
    purchases: sp.csr_matrix | None = None,
) -> np.ndarray:
    """Per item (users × k item indices, -1 padded), the index of the history item that gave
    the component `top` names (PART_CODES) its part the most: see `engine/sources.py` for
    each kind of component. -1 for none (padding, popularity, nothing in the history pulled
    the item up). `histories` (training rows plus request-time weights) and `purchases`
    (request-time, users × items or None) as the answer was scored with."""
    found = np.full(items.shape, -1, dtype=np.int32)
    for code in np.unique(top[(top >= 0) & (items >= 0)]).tolist():
        component = _component(model, PART_NAMES[code])
        rows, columns = np.nonzero((top == code) & (items >= 0))
        found[rows, columns] = component_sources(
            component, users, histories, rows, items[rows, columns], purchases=purchases
        )
    return found


def _component(model: Recommender, name: str) -> Recommender:
    return model.components[name] if isinstance(model, Hybrid) else model
