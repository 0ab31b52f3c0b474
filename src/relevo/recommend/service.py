"""Serving recommendations, in named stages: history (what the model learned plus the user's
events since) → candidates and scores (the model) → filter (bought or rated, business
filters, explicit exclusions) → rank (top k, with a confidence in 0..1)."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import NamedTuple

import numpy as np

from relevo.core.db import Database, utcnow
from relevo.core.errors import InvalidArgument
from relevo.engine.base import Recommender
from relevo.engine.data import EventWeights
from relevo.engine.rows import candidate_columns
from relevo.engine.topk import top_k
from relevo.events import service as events_service
from relevo.recommend.answers import Answers
from relevo.recommend.catalog_view import CatalogSnapshot, CatalogView, Filters, ProductView
from relevo.recommend.models_in_memory import ServedModel
from relevo.recommend.recent import RecentEvents

_WEIGHTS = EventWeights()  # the weights training uses, for events since the model was trained
_BOUGHT = frozenset({"purchase", "rating"})


class Recommendation(NamedTuple):  # a named tuple for the same reason as ProductView
    product: ProductView
    score: float
    confidence: float  # 0..1, the best item of the list near 1


@dataclass(frozen=True)
class RecommendationList:
    user_id: str
    model: ServedModel
    algorithm: str  # the served model's, or that of the component asked for
    items: list[Recommendation]

    @cached_property
    def recommendation_id(self) -> str:
        """Sent back with clicks and purchases to attribute them; made when first asked for, as
        routes whose answers do not show it need not pay for the random bytes."""
        return uuid.uuid4().hex


@dataclass(frozen=True)
class Serving:
    """What a server keeps in memory to answer: the catalog, users' recent events, and the
    popular lists computed lately ((category, window, count) → (expiry, answer))."""

    catalog: CatalogView
    recent: RecentEvents
    answers: Answers = field(default_factory=lambda: Answers(size=0, seconds=0))
    popular: dict = field(default_factory=dict)
    refreshing: set = field(default_factory=set)  # what a request is refreshing right now


def history(served: ServedModel, recent: RecentEvents, user_id: str) -> tuple[dict[str, float], set[str]]:
    """The user's events since the model was trained, as extra weights per item, and the items
    among them the user bought or rated."""
    weights: dict[str, float] = {}
    bought: set[str] = set()
    for product, event_type, value in recent.since(user_id, served.watermark):
        weight = _WEIGHTS.of(event_type)
        if event_type == "rating" and value is not None:
            weight *= max(value, 0.0) / 3.0
        weights[product] = weights.get(product, 0.0) + weight
        if event_type in _BOUGHT:
            bought.add(product)
    return weights, bought


def recommend_for_user(
    *,
    served: ServedModel,
    serving: Serving,
    snapshot: CatalogSnapshot,
    user_id: str,
    count: int,
    filters: Filters,
    exclude: Iterable[str] = (),
    exclude_bought: bool = True,
    exclude_viewed: bool = False,
    algorithm: str | None = None,
) -> RecommendationList:
    model = served.recommender if algorithm is None else component(served.recommender, algorithm)
    if model is None:
        parts = ", ".join(getattr(served.recommender, "components", None) or [served.algorithm])
        raise InvalidArgument(f"algorithm: the served model has no {algorithm!r} part; it has {parts}")
    exclude = tuple(sorted(set(exclude)))
    latest = serving.recent.latest(user_id)
    # Users the model never saw and with no events yet all get the same answer: one key for them.
    who = user_id if latest or user_id in model.users else None
    key = (served.version_id, id(snapshot), latest, who, count, filters)
    key += (exclude, exclude_bought, exclude_viewed, model.algorithm)
    kept = serving.answers.get(key)
    if kept is None or kept[0] is not snapshot:
        ids, scores = _ranked_for_user(
            served, serving, snapshot, model, user_id, count, filters, exclude, exclude_bought, exclude_viewed
        )
        kept = (snapshot, with_confidence(ids, scores))
        serving.answers.put(key, kept)
    return RecommendationList(
        user_id=user_id,
        model=served,
        algorithm=model.algorithm,
        items=detailed(snapshot, kept[1]),
    )


def _ranked_for_user(
    served: ServedModel,
    serving: Serving,
    snapshot: CatalogSnapshot,
    model: Recommender,
    user_id: str,
    count: int,
    filters: Filters,
    exclude: Iterable[str],
    exclude_bought: bool,
    exclude_viewed: bool,
) -> tuple[list[str], list[float]]:
    """The user's best items and their scores."""
    recent, recently_bought = history(served, serving.recent, user_id)
    allowed = serving.catalog.model_mask(snapshot, model.items.ids, filters)
    if not recent and not exclude_viewed and model is served.recommender:
        ahead = ranked_ahead(served, user_id, count, allowed, exclude, exclude_bought)
        if ahead is not None:
            return ahead
    excluded = set(exclude)
    if exclude_bought:
        excluded |= recently_bought | bought_before(served, user_id)
    if not recent and user_id not in model.users and model.algorithm != "hybrid":
        # Cold start for models without a fallback of their own: what is popular, in context.
        return popular_items(served, allowed, count, excluded)
    result = model.recommend(
        user_id, count, recent=[recent], exclude_history=exclude_viewed, exclude=[excluded], allowed=allowed
    )
    return result.for_user()


def ranked_ahead(
    served: ServedModel,
    user_id: str,
    count: int,
    allowed: np.ndarray,
    exclude: Iterable[str] = (),
    exclude_bought: bool = True,
) -> tuple[list[str], list[float]] | None:
    """The user's items as ranked at training time less what they bought, the items of
    `exclude` and those filtered out; None when there is no such list (nor one for answers that
    keep bought items) or too few of its items are left (the caller ranks anew). For users
    without events since training."""
    row = served.recommender.users.index(user_id)
    if served.precomputed is None or row < 0 or not exclude_bought:
        return None
    items, scores = served.precomputed[0][row], served.precomputed[1][row]
    keep = (items >= 0) & allowed[items]  # padding (-1) reads the last item's flag, then is dropped
    if exclude:
        # A sorted search, not np.isin: for a list's hundred items its set-up costs more than the search.
        keep &= ~candidate_columns(items, np.sort(served.recommender.items.indices(list(exclude))))[0]
    chosen = np.flatnonzero(keep)[:count]
    # A short list is the answer only when the list ranked every item.
    if len(chosen) < count and len(items) < len(served.recommender.items):
        return None
    return served.recommender.items.lookup(items[chosen]).tolist(), scores[chosen].tolist()


def popular_items(
    served: ServedModel, allowed: np.ndarray, count: int, excluded: Iterable[str] = ()
) -> tuple[list[str], list[float]]:
    scores = np.where(allowed & (served.popularity > 0), served.popularity, -np.inf)[np.newaxis, :]
    left_out = served.recommender.items.indices(excluded)
    scores[0, left_out[left_out >= 0]] = -np.inf
    indices, values = top_k(scores, count)
    keep = indices[0] >= 0
    return served.recommender.items.lookup(indices[0][keep]).tolist(), values[0][keep].tolist()


def bought_before(served: ServedModel, user_id: str) -> set[str]:
    row = served.recommender.users.index(user_id)
    if row < 0:
        return set()
    bought = served.bought
    return set(served.recommender.items.lookup(bought.indices[bought.indptr[row] : bought.indptr[row + 1]]).tolist())


def ranked(snapshot: CatalogSnapshot, ids: Sequence[str], scores: Sequence[float]) -> list[Recommendation]:
    """Items with their details and a confidence: the score relative to the best one's."""
    return detailed(snapshot, with_confidence(ids, scores))


def with_confidence(ids: Sequence[str], scores: Sequence[float]) -> tuple[tuple[str, float, float], ...]:
    """(item, score, confidence) for each item, the confidence in 0..1 and the best item's near
    1. Plain tuples of strings and floats, which the garbage collector stops tracking, so many
    can be kept at no cost to its collections; plain Python, since for a list's few items
    numpy's calls cost more than the arithmetic."""
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


def similar_products(
    *, served: ServedModel, snapshot: CatalogSnapshot, serving: Serving, product_id: str, count: int, filters: Filters
) -> list[Recommendation]:
    """Products like this one. A product the model has not seen yet (new to the catalog) is
    placed by its category and name, through the content model."""
    model = served.recommender
    if product_id in model.items:
        ids, scores = model.similar_items(product_id, count * 3 + 10)
    else:
        content = component(model, "content")
        view = snapshot.view(product_id)
        if content is None or (view.name is None and view.category is None):
            return []
        ids, scores = content.similar_to(view.category or "", view.name or "", count * 3 + 10)
    return _filtered(serving.catalog, snapshot, model, ids, scores, count, filters)


def bought_together(
    *, served: ServedModel, snapshot: CatalogSnapshot, serving: Serving, product_id: str, count: int, filters: Filters
) -> list[Recommendation]:
    cooccurrence = component(served.recommender, "cooccurrence")
    if cooccurrence is None or product_id not in cooccurrence.items:
        return []
    ids, scores = cooccurrence.similar_items(product_id, count * 3 + 10)
    return _filtered(serving.catalog, snapshot, served.recommender, ids, scores, count, filters)


def bought_with_purchases(
    *, served: ServedModel, serving: Serving, snapshot: CatalogSnapshot, user_id: str
) -> str | None:
    """The purchases API's rule: the most popular item on sale bought together with the user's
    purchases that the user has not bought yet (None for a user who bought nothing: the caller
    answers with what is popular)."""
    model = component(served.recommender, "cooccurrence") or served.recommender
    recent, recently_bought = history(served, serving.recent, user_id)
    excluded = recently_bought | bought_before(served, user_id)
    if not excluded:
        return None
    allowed = serving.catalog.model_mask(snapshot, model.items.ids, Filters())
    result = model.recommend(user_id, 1, recent=[recent], exclude_history=False, exclude=[excluded], allowed=allowed)
    ids, _ = result.for_user()
    return ids[0] if ids else None


def neighbours_in_category(
    *,
    served: ServedModel,
    snapshot: CatalogSnapshot,
    serving: Serving,
    product_id: str,
    category: str | None,
    count: int,
) -> list[str]:
    """The AI service's interaction recommendations: the product's nearest neighbours by who
    interacted with them (item-kNN), in the category when one is given."""
    knn = component(served.recommender, "item_knn") or served.recommender
    if product_id not in knn.items:
        return []
    ids, scores = knn.similar_items(product_id, count * 3 + 10)
    items = _filtered(serving.catalog, snapshot, knn, ids, scores, count, Filters(category=category))
    return [item.product.product_id for item in items]


def in_category_cluster(*, served: ServedModel, snapshot: CatalogSnapshot, category: str, count: int) -> list[str]:
    """The AI service's category recommendations: products of the K-Means cluster the category
    falls in (TF-IDF on categories), most popular first."""
    content = component(served.recommender, "content")
    if content is None:
        return []
    ids, _ = content.cluster_items(content.cluster_of(category, ""), count * 3 + 10)
    allowed = snapshot.allowed(Filters())
    return [item for item in ids.tolist() if (at := snapshot.position.get(item)) is not None and allowed[at]][:count]


def _filtered(
    catalog: CatalogView,
    snapshot: CatalogSnapshot,
    model: Recommender,
    ids: np.ndarray,
    scores: np.ndarray,
    count: int,
    filters: Filters,
) -> list[Recommendation]:
    allowed = snapshot.allowed(filters)
    keep = [
        (item, score)
        for item, score in zip(ids.tolist(), scores.tolist(), strict=True)
        if (position := snapshot.position.get(item)) is not None and allowed[position]
    ][:count]
    return ranked(snapshot, [item for item, _ in keep], [score for _, score in keep])


def popular(database: Database, window: str | None, category: str | None, count: int) -> list[tuple[str, int]]:
    """The products most users interacted with in the window (read from the events)."""
    with database.session(write=False) as session:
        return events_service.popular_products(
            session=session, since=popular_since(window), category=category, limit=count
        )


def popular_since(window: str | None) -> datetime | None:
    """The start of a popularity window: "7d", "24h", "30d"; None or "all" for all time."""
    if window in (None, "", "all"):
        return None
    unit = {"h": "hours", "d": "days", "w": "weeks"}[window[-1]]
    return utcnow() - timedelta(**{unit: int(window[:-1])})
