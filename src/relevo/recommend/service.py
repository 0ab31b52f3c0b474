"""Serving recommendations, in named stages: history (what the model learned plus the user's
events since) → candidates and scores (the model) → filter (bought or rated, business
filters, explicit exclusions) → rank (top k, with a confidence in 0..1).

A request is answered one of three ways, and its answer says which: the user's list ranked
ahead at training time, filtered (a known user with no events since); the model ranking
anew (new events, or options the list ranked ahead cannot serve); or the cold-start fallback
(a user the model never saw, with no events yet). An answer computed lately for the same
question is kept and given again."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import NamedTuple

import numpy as np

from relevo.core.errors import InvalidArgument
from relevo.engine.base import Recommender
from relevo.engine.data import EventWeights
from relevo.engine.rows import candidate_columns
from relevo.engine.topk import top_k
from relevo.recommend.catalog_view import CatalogSnapshot, Filters, ProductView
from relevo.recommend.deployed import DeployedVersion
from relevo.recommend.state import ServingState
from relevo.recommend.user_events import UserEvents

_WEIGHTS = EventWeights()  # the weights training uses, for events since the model was trained
_BOUGHT = frozenset({"purchase", "rating"})


class Way(StrEnum):
    """Which way an answer was computed."""

    ranked_ahead = "ranked_ahead"  # the user's list ranked at training time, filtered
    ranked_anew = "ranked_anew"  # the model ranking for this request
    cold_start = "cold_start"  # a user the model never saw, with no events: the fallback


@dataclass(frozen=True)
class AnswerInputs:
    """What answering needs, as this process keeps it: the deployed version, the catalog
    snapshot the answer is checked against and shown from, and the rest of the serving state."""

    version: DeployedVersion
    snapshot: CatalogSnapshot
    state: ServingState


class UserRequest(NamedTuple):
    """What is asked for one user (a named tuple: part of the key of kept answers)."""

    user_id: str
    count: int = 10
    filters: Filters = Filters()
    exclude: tuple[str, ...] = ()  # product ids to leave out
    exclude_bought: bool = True  # leave out what the user bought or rated
    exclude_viewed: bool = False  # leave out everything the user interacted with
    algorithm: str | None = None  # rank with this component of the deployed model


class History(NamedTuple):
    """The user's events since the model was trained, as the engine takes them."""

    weights: dict[str, float]  # extra weight per item
    left_out: set[str]  # items the user bought or rated
    latest: int  # the newest event's id (0: none), which changes with every new event


class Recommendation(NamedTuple):  # a named tuple for the same reason as ProductView
    product: ProductView
    score: float
    confidence: float  # 0..1, the best item of the list near 1


@dataclass(frozen=True)
class RecommendationList:
    user_id: str
    version: DeployedVersion
    algorithm: str  # the deployed model's, or that of the component asked for
    items: list[Recommendation]
    way: Way
    why: str  # why it was answered that way
    kept: bool  # the answer was one kept from an earlier request

    @cached_property
    def recommendation_id(self) -> str:
        """Sent back with clicks and purchases to attribute them; made when first asked for, as
        routes whose answers do not show it need not pay for the random bytes."""
        return uuid.uuid4().hex


# A kept answer: how it was computed and (item, score, confidence) per item, as plain tuples
# of strings and floats, which the garbage collector stops following: kept as objects, tens
# of thousands of answers made every full collection walk them all.
_Kept = tuple[CatalogSnapshot, Way, str, tuple[tuple[str, float, float], ...]]


def history_of(events: UserEvents) -> History:
    """The events since training with the weights training gives them."""
    weights: dict[str, float] = {}
    left_out: set[str] = set()
    for _, product, event_type, value in events:
        weight = _WEIGHTS.of(event_type)
        if event_type == "rating" and value is not None:
            weight *= max(value, 0.0) / 3.0
        weights[product] = weights.get(product, 0.0) + weight
        if event_type in _BOUGHT:
            left_out.add(product)
    return History(weights, left_out, events[-1][0] if events else 0)


def recommend_for_user(inputs: AnswerInputs, events: UserEvents, request: UserRequest) -> RecommendationList:
    """The user's recommendations: a kept answer to the same question, or computed now."""
    version = inputs.version
    model = model_for(version, request.algorithm)
    history = history_of(events)
    # Users the model never saw and with no events yet all get the same answer: one key for them.
    who = request.user_id if history.latest or request.user_id in model.users else None
    key = (version.version_id, id(inputs.snapshot), history.latest, who, request._replace(user_id=""))
    kept: _Kept | None = inputs.state.answers.get(key)
    if kept is not None and kept[0] is inputs.snapshot:
        _, way, why, items = kept
        return _answer(inputs, request, model, items, way, why, kept=True)
    ids, scores, way, why = _ranked(inputs, model, history, request)
    items = with_confidence(ids, scores)
    inputs.state.answers.put(key, (inputs.snapshot, way, why, items))
    return _answer(inputs, request, model, items, way, why, kept=False)


def _answer(
    inputs: AnswerInputs,
    request: UserRequest,
    model: Recommender,
    items: Sequence[tuple[str, float, float]],
    way: Way,
    why: str,
    *,
    kept: bool,
) -> RecommendationList:
    return RecommendationList(
        user_id=request.user_id,
        version=inputs.version,
        algorithm=model.algorithm,
        items=detailed(inputs.snapshot, items),
        way=way,
        why=why,
        kept=kept,
    )


def model_for(version: DeployedVersion, algorithm: str | None) -> Recommender:
    """The deployed model, or its component of `algorithm` (InvalidArgument if it has none)."""
    if algorithm is None:
        return version.recommender
    model = component(version.recommender, algorithm)
    if model is None:
        parts = ", ".join(getattr(version.recommender, "components", None) or [version.algorithm])
        raise InvalidArgument(f"algorithm: the served model has no {algorithm!r} part; it has {parts}")
    return model


def _ranked(
    inputs: AnswerInputs, model: Recommender, history: History, request: UserRequest
) -> tuple[list[str], list[float], Way, str]:
    """The user's best items and their scores, and which way they were found and why."""
    version = inputs.version
    allowed = inputs.state.catalog.model_mask(inputs.snapshot, model.items.ids, request.filters)
    known = request.user_id in model.users
    if not history.latest and not request.exclude_viewed and model is version.recommender:
        ahead = ranked_ahead(version, request.user_id, request.count, allowed, request.exclude, request.exclude_bought)
        if ahead is not None:
            return *ahead, Way.ranked_ahead, "no events since training: the list ranked then, filtered"
    why = _why_anew(version, model, history, request, known)
    excluded = set(request.exclude)
    if request.exclude_bought:
        excluded |= history.left_out | left_out_before(version, request.user_id)
    way = Way.ranked_anew if history.latest or known else Way.cold_start
    if way is Way.cold_start and model.algorithm != "hybrid":
        # Models without a fallback of their own: what is popular, in context.
        return *popular_items(version, allowed, request.count, excluded), way, why
    result = model.recommend(
        request.user_id,
        request.count,
        recent=[history.weights],
        exclude_history=request.exclude_viewed,
        exclude=[excluded],
        allowed=allowed,
    )
    return *result.for_user(), way, why


def _why_anew(version: DeployedVersion, model: Recommender, history: History, request: UserRequest, known: bool) -> str:
    """Why a list ranked ahead could not answer."""
    if history.latest:
        return f"{len(history.weights)} product(s) with events since training: the model ranks anew"
    if not known:
        fallback = "its own fallback" if model.algorithm == "hybrid" else "what most users touched"
        return f"a user the model never saw, with no events yet: {fallback}, within the filters"
    if model is not version.recommender:
        return f"one component asked for ({model.algorithm}): it ranks anew"
    if request.exclude_viewed:
        return "everything the user interacted with is left out: the model ranks anew"
    if not request.exclude_bought:
        return "bought items asked for: the model ranks anew (lists ranked ahead leave them out)"
    if version.ranked_ahead is None:
        return "this version has no lists ranked ahead: the model ranks anew"
    return "too few items of the list ranked ahead pass the filters: the model ranks anew"


def ranked_ahead(
    version: DeployedVersion,
    user_id: str,
    count: int,
    allowed: np.ndarray,
    exclude: Sequence[str] = (),
    exclude_bought: bool = True,
) -> tuple[list[str], list[float]] | None:
    """The user's items as ranked at training time less what they bought, the items of
    `exclude` and those filtered out; None when there is no such list (nor one for answers that
    keep bought items) or too few of its items are left (the caller ranks anew). For users
    without events since training."""
    model = version.recommender
    row = model.users.index(user_id)
    if version.ranked_ahead is None or row < 0 or not exclude_bought:
        return None
    items, scores = version.ranked_ahead.items[row], version.ranked_ahead.scores[row]
    keep = (items >= 0) & allowed[items]  # padding (-1) reads the last item's flag, then is dropped
    if exclude:
        # A sorted search, not np.isin: for a list's hundred items its set-up costs more than the search.
        keep &= ~candidate_columns(items, np.sort(model.items.indices(list(exclude))))[0]
    chosen = np.flatnonzero(keep)[:count]
    # A short list is the answer only when the list ranked every item.
    if len(chosen) < count and len(items) < len(model.items):
        return None
    return model.items.lookup(items[chosen]).tolist(), scores[chosen].tolist()


def popular_items(
    version: DeployedVersion, allowed: np.ndarray, count: int, excluded: set[str] | frozenset[str] = frozenset()
) -> tuple[list[str], list[float]]:
    """The items most users of the training data touched, within the filters."""
    scores = np.where(allowed & (version.popularity > 0), version.popularity, -np.inf)[np.newaxis, :]
    left_out = version.recommender.items.indices(excluded)
    scores[0, left_out[left_out >= 0]] = -np.inf
    indices, values = top_k(scores, count)
    keep = indices[0] >= 0
    return version.recommender.items.lookup(indices[0][keep]).tolist(), values[0][keep].tolist()


def left_out_before(version: DeployedVersion, user_id: str) -> set[str]:
    """What the user bought or rated before training."""
    row = version.recommender.users.index(user_id)
    if row < 0:
        return set()
    matrix = version.left_out
    columns = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
    return set(version.recommender.items.lookup(columns).tolist())


def with_confidence(ids: Sequence[str], scores: Sequence[float]) -> tuple[tuple[str, float, float], ...]:
    """(item, score, confidence) for each item, the confidence in 0..1 and the best item's near
    1. Plain Python: for a list's few items numpy's calls cost more than the arithmetic."""
    if not ids:
        return ()
    values = [float(score) for score in scores]
    low, high = min(values), max(values)
    if high > 0 and low >= 0:  # in 0..1 as it is
        shares = [value / high for value in values]
    elif high > low:  # negative scores: placed in 0.5..1
        shares = [0.5 + 0.5 * (value - low) / (high - low) for value in values]
    else:
        shares = [1.0] * len(values)
    # Rounded to four places by arithmetic (shares are never negative): round(x, 4) goes
    # through a decimal string and costs twice as much.
    confidences = [int(share * 10_000 + 0.5) / 10_000 for share in shares]
    return tuple(zip(ids, values, confidences, strict=True))


def detailed(snapshot: CatalogSnapshot, items: Sequence[tuple[str, float, float]]) -> list[Recommendation]:
    """Each (item, score, confidence) with the item's details as the snapshot has them."""
    view = snapshot.view
    return [Recommendation(view(item), score, confidence) for item, score, confidence in items]


def component(model: Recommender, algorithm: str) -> Recommender | None:
    """The model itself if it is of `algorithm`, or the hybrid's component of that kind."""
    if model.algorithm == algorithm:
        return model
    components = getattr(model, "components", None) or {}
    return components.get(algorithm)
