"""The stages of ranking for one user: history (what the model learned plus the user's events
since) → candidates and scores (the model) → filter (bought or rated, business filters,
explicit exclusions) → rank (top k). Each item keeps what produced it: the model's part that
gave it most and the user's own product behind that part (engine/explain.py).

One of three ways answers: the user's list ranked ahead at training time, filtered (a known
user with no events since); the model ranking anew (new events, or options the list ranked
ahead cannot serve); or the cold-start fallback (a user the model never saw, no events yet)."""

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from relevo.core.errors import InvalidArgument
from relevo.engine.base import Recommender
from relevo.engine.events import PURCHASE_TYPES, RequestHistory, request_history
from relevo.engine.explain import PART_NAMES, recommend_explained
from relevo.engine.rows import candidate_columns
from relevo.engine.topk import top_k
from relevo.recommend.answer import AnswerInputs, UserRequest, Way
from relevo.recommend.deployed import DeployedVersion
from relevo.recommend.user_events import UserEvents


class History(NamedTuple):
    """The user's events since the model was trained, as the engine takes them."""

    events: RequestHistory  # extra weight per product, products purchased, products left out
    latest: int  # the newest event's id (0: none), which changes with every new event


class Ranked(NamedTuple):
    ids: list[str]
    scores: list[float]
    components: list[str | None]  # per item, the model's part that gave it most
    sources: list[str | None]  # per item, the user's product behind that part
    way: Way
    why: str  # why it was found that way


def history_of(model: Recommender, events: UserEvents) -> History:
    """The events since training weighed as training weighs them (engine/events.py); purchases
    as the model's co-purchase part counts them."""
    cooccurrence = component(model, "cooccurrence")
    purchase_types = PURCHASE_TYPES if cooccurrence is None else cooccurrence.config.purchase_types
    weighed = request_history(((item, kind, value) for _, item, kind, value in events), purchase_types=purchase_types)
    return History(weighed, events[-1][0] if events else 0)


def rank(inputs: AnswerInputs, model: Recommender, history: History, request: UserRequest) -> Ranked:
    """The user's best items, what produced each, and which way they were found and why."""
    version = inputs.version
    allowed = inputs.state.catalog.model_mask(inputs.snapshot, model.items.ids, request.filters)
    known = request.user_id in model.users
    if not history.latest and not request.exclude_viewed and model is version.recommender:
        ahead = ranked_ahead(
            version, request.user_id, request.count, allowed, request.exclude, request.exclude_bought, request.reasons
        )
        if ahead is not None:
            return ahead
    why = why_anew(version, model, history, request, known)
    excluded = set(request.exclude)
    if request.exclude_bought:
        excluded |= history.events.left_out | version.left_out_of(request.user_id)
    way = Way.ranked_anew if history.latest or known else Way.cold_start
    if way is Way.cold_start and model.algorithm != "hybrid":
        # Models without a fallback of their own: what is popular, in context.
        ids, scores = popular_items(version, allowed, request.count, excluded)
        return Ranked(ids, scores, ["popular"] * len(ids), [None] * len(ids), way, why)
    options = {
        "recent": [history.events.weights],
        "purchases": [history.events.purchased],
        "exclude_history": request.exclude_viewed,
        "exclude": [excluded],
        "allowed": allowed,
    }
    if not request.reasons:
        ids, scores = model.recommend(request.user_id, request.count, **options).for_user()
        return Ranked(ids, scores, [None] * len(ids), [None] * len(ids), way, why)
    explained = recommend_explained(model, request.user_id, request.count, **options).for_user()
    return Ranked(
        [reason.item for reason in explained],
        [reason.score for reason in explained],
        [reason.component for reason in explained],
        [reason.source for reason in explained],
        way,
        why,
    )


def why_anew(version: DeployedVersion, model: Recommender, history: History, request: UserRequest, known: bool) -> str:
    """Why the list ranked ahead could not answer."""
    if history.latest:
        return f"{len(history.events.weights)} product(s) with events since training: the model ranks anew"
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
    reasons: bool = True,
) -> Ranked | None:
    """The user's items as ranked at training time less what they bought, the items of
    `exclude` and those filtered out; None when there is no such list (nor one for answers that
    keep bought items) or too few of its items are left (the caller ranks anew). For users
    without events since training."""
    model = version.recommender
    row = model.users.index(user_id)
    lists = version.ranked_ahead
    if lists is None or row < 0 or not exclude_bought:
        return None
    items, scores = lists.items[row], lists.scores[row]
    keep = (items >= 0) & allowed[items]  # padding (-1) reads the last item's flag, then is dropped
    if exclude:
        # A sorted search, not np.isin: for a list's hundred items its set-up costs more than the search.
        keep &= ~candidate_columns(items, np.sort(model.items.indices(list(exclude))))[0]
    chosen = np.flatnonzero(keep)[:count]
    # A short list is the answer only when the list ranked every item.
    if len(chosen) < count and len(items) < len(model.items):
        return None
    ids = model.items.lookup(items[chosen]).tolist()
    components: list[str | None] = [None] * len(ids)
    sources: list[str | None] = [None] * len(ids)
    if reasons and lists.top is not None:  # versions trained before reasons were kept have none
        components = [PART_NAMES[code] if code >= 0 else None for code in lists.top[row][chosen].tolist()]
        found = lists.sources[row][chosen]
        sources = [
            None if index < 0 else item for index, item in zip(found.tolist(), model.item_ids(found), strict=True)
        ]
    why = "no events since training: the list ranked then, filtered"
    return Ranked(ids, scores[chosen].tolist(), components, sources, Way.ranked_ahead, why)


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


def model_for(version: DeployedVersion, algorithm: str | None) -> Recommender:
    """The deployed model, or its component of `algorithm` (InvalidArgument if it has none)."""
    if algorithm is None:
        return version.recommender
    model = component(version.recommender, algorithm)
    if model is None:
        parts = ", ".join(getattr(version.recommender, "components", None) or [version.algorithm])
        raise InvalidArgument(f"algorithm: the served model has no {algorithm!r} part; it has {parts}")
    return model


def component(model: Recommender, algorithm: str) -> Recommender | None:
    """The model itself if it is of `algorithm`, or the hybrid's component of that kind."""
    if model.algorithm == algorithm:
        return model
    components = getattr(model, "components", None) or {}
    return components.get(algorithm)
