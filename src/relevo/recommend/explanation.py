"""Why a shopper gets the list they get, in one answer: the list the recommendation route would
serve, which way it was found and why, the history it was found from, what each filter
removed, and each item's score from each part of the model.

The list is the route's own (recommend_for_user, kept answers included). The parts of its
scores are recorded by scoring its items again as they were scored (engine/explain.item_parts:
the same history, filter mask and purchases; for a list ranked ahead, the training history with
no filter, as training ranked it), so they add up to the scores shown."""

from dataclasses import dataclass
from typing import Any

import numpy as np

from relevo.core.db import Database
from relevo.engine.algorithms.hybrid import Hybrid
from relevo.engine.explain import item_parts, part_names
from relevo.events import service as events_service
from relevo.recommend.answer import AnswerInputs, RecommendationList, UserRequest, Way
from relevo.recommend.catalog_view import Filters
from relevo.recommend.erased import UNKNOWN_USER
from relevo.recommend.ranking import History, history_of, model_for
from relevo.recommend.service import recommend_for_user
from relevo.recommend.user_events import UserEvents


@dataclass(frozen=True)
class Explanation:
    answer: RecommendationList
    events_in_training: int  # the user's events the version learned from
    products_in_training: int  # the products of the user's training history
    events_since: UserEvents  # the user's events after the version's watermark, oldest first
    removed: list[tuple[str, Any, int]]  # (filter, value, how many of the model's products it alone leaves out)
    parts: list[dict[str, float] | None]  # per item, its score from each part of the model


def explain_for_user(database: Database, inputs: AnswerInputs, events: UserEvents, request: UserRequest) -> Explanation:
    """Blocks (it counts the user's events): call from a thread."""
    request = request._replace(reasons=True)
    answer = recommend_for_user(inputs, events, request)
    if answer.forgotten:  # erased since the version learned of them: explained as a stranger
        request = request._replace(user_id=UNKNOWN_USER)
    model = model_for(inputs.version, request.algorithm)
    history = history_of(model, events)
    row = model.users.index(request.user_id)
    with database.session(write=False) as session:
        counted = events_service.count_user_events(
            session=session, user_id=request.user_id, up_to=inputs.version.watermark
        )
    return Explanation(
        answer=answer,
        events_in_training=counted,
        products_in_training=0 if row < 0 else int(model.history.indptr[row + 1] - model.history.indptr[row]),
        events_since=events,
        removed=_removed(inputs, model.items.ids, history, request),
        parts=_parts(inputs, answer, history, request),
    )


def _parts(
    inputs: AnswerInputs, answer: RecommendationList, history: History, request: UserRequest
) -> list[dict[str, float] | None]:
    model = model_for(inputs.version, request.algorithm)
    if not answer.items:
        return []
    if not isinstance(model, Hybrid):  # one part: the model's own score, or popularity for a stranger
        part = "popular" if answer.way is Way.cold_start else model.algorithm
        return [{part: item.score} for item in answer.items]
    items = model.items.indices([item.product.product_id for item in answer.items])[np.newaxis, :]
    if answer.way is Way.ranked_ahead:  # as training ranked it: its history, no filter
        user = model.users.indices([request.user_id])
        values = item_parts(model, user, items, histories=model.histories(user))
    else:
        allowed = inputs.state.catalog.model_mask(inputs.snapshot, model.items.ids, request.filters)
        user, options = model.indexed(
            request.user_id, recent=[history.events.weights], purchases=[history.events.purchased]
        )
        values = item_parts(
            model, user, items, histories=options["histories"], allowed=allowed, purchases=options["purchases"]
        )
    names = part_names(model)
    return [
        None if np.isnan(row).all() else {name: float(value) for name, value in zip(names, row, strict=True)}
        for row in values[0].tolist()
    ]


def _removed(
    inputs: AnswerInputs, item_ids: np.ndarray, history: History, request: UserRequest
) -> list[tuple[str, Any, int]]:
    """What each filter alone leaves out of the model's products that are on sale."""
    catalog, snapshot = inputs.state.catalog, inputs.snapshot
    on_sale = catalog.model_mask(snapshot, item_ids, Filters())
    removed: list[tuple[str, Any, int]] = [("not on sale (deleted, inactive or unknown)", None, int((~on_sale).sum()))]
    for name, value in request.filters._asdict().items():
        if value not in (None, False):
            alone = catalog.model_mask(snapshot, item_ids, Filters(**{name: value}))
            removed.append((name, value, int((on_sale & ~alone).sum())))
    on_sale_ids = set(item_ids[on_sale].tolist())
    if request.exclude_bought:
        bought = history.events.left_out | inputs.version.left_out_of(request.user_id)
        removed.append(("exclude_bought", True, len(bought & on_sale_ids)))
    if request.exclude:
        removed.append(("exclude", ",".join(request.exclude), len(set(request.exclude) & on_sale_ids)))
    if request.exclude_viewed:
        model = inputs.version.recommender
        row = model.users.index(request.user_id)
        viewed = set(history.events.weights)
        if row >= 0:
            viewed |= set(model.items.lookup(model.history[row].indices).tolist())
        removed.append(("exclude_viewed", True, len(viewed & on_sale_ids)))
    return removed
