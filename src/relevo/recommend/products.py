"""Products for a product or a category: products like it, bought with it, its neighbours by
who interacted with them (the AI service's interaction recommendations), the products of its
category's cluster, and what is popular."""

from datetime import datetime, timedelta

import numpy as np

from relevo.core.db import Database, utcnow
from relevo.engine.base import Recommender
from relevo.events import service as events_service
from relevo.recommend.answer import AnswerInputs, Recommendation
from relevo.recommend.catalog_view import CatalogSnapshot, Filters
from relevo.recommend.ranking import component
from relevo.recommend.service import detailed, with_confidence


def similar_products(inputs: AnswerInputs, product_id: str, count: int, filters: Filters) -> list[Recommendation]:
    """Products like this one. A product the model has not seen yet (new to the catalog) is
    placed by its category and name, through the content model."""
    model = inputs.version.recommender
    if product_id in model.items:
        ids, scores = model.similar_items(product_id, count * 3 + 10)
    else:
        content = component(model, "content")
        view = inputs.snapshot.view(product_id)
        if content is None or (view.name is None and view.category is None):
            return []
        ids, scores = content.similar_to(view.category or "", view.name or "", count * 3 + 10)
    return _filtered(inputs.snapshot, ids, scores, count, filters)


def bought_together(inputs: AnswerInputs, product_id: str, count: int, filters: Filters) -> list[Recommendation]:
    """What is most often bought with this product."""
    cooccurrence = component(inputs.version.recommender, "cooccurrence")
    if cooccurrence is None or product_id not in cooccurrence.items:
        return []
    ids, scores = cooccurrence.similar_items(product_id, count * 3 + 10)
    return _filtered(inputs.snapshot, ids, scores, count, filters)


def neighbours_in_category(inputs: AnswerInputs, product_id: str, category: str | None, count: int) -> list[str]:
    """The product's nearest neighbours by who interacted with them (item-kNN), in the
    category when one is given."""
    knn: Recommender = component(inputs.version.recommender, "item_knn") or inputs.version.recommender
    if product_id not in knn.items:
        return []
    ids, scores = knn.similar_items(product_id, count * 3 + 10)
    items = _filtered(inputs.snapshot, ids, scores, count, Filters(category=category))
    return [item.product.product_id for item in items]


def in_category_cluster(inputs: AnswerInputs, category: str, count: int) -> list[str]:
    """Products of the K-Means cluster the category falls in (TF-IDF on categories), most
    popular first."""
    content = component(inputs.version.recommender, "content")
    if content is None:
        return []
    ids, _ = content.cluster_items(content.cluster_of(category, ""), count * 3 + 10)
    snapshot = inputs.snapshot
    allowed = snapshot.allowed(Filters())
    return [item for item in ids.tolist() if (at := snapshot.position.get(item)) is not None and allowed[at]][:count]


def _filtered(
    snapshot: CatalogSnapshot, ids: np.ndarray, scores: np.ndarray, count: int, filters: Filters
) -> list[Recommendation]:
    allowed = snapshot.allowed(filters)
    keep = [
        (item, score)
        for item, score in zip(ids.tolist(), scores.tolist(), strict=True)
        if (position := snapshot.position.get(item)) is not None and allowed[position]
    ][:count]
    return detailed(snapshot, with_confidence([item for item, _ in keep], [score for _, score in keep]))


def popular(database: Database, window: str | None, category: str | None, count: int) -> list[tuple[str, int]]:
    """The products most users interacted with in the window (read from the events): needs no
    trained model."""
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
