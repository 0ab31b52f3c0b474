"""Answering one user: a kept answer to the same question, or the stages of ranking
(recommend/ranking.py) run now, and the answer's items shown with the catalog's details."""

from collections.abc import Sequence

from relevo.recommend.answer import AnswerInputs, Recommendation, RecommendationList, UserRequest, Way
from relevo.recommend.catalog_view import CatalogSnapshot
from relevo.recommend.erased import UNKNOWN_USER
from relevo.recommend.ranking import history_of, model_for, rank
from relevo.recommend.user_events import UserEvents

# A kept item: (product id, score, confidence, component, source), plain strings and floats,
# which the garbage collector stops following: kept as objects, tens of thousands of answers
# made every full collection walk them all.
KeptItem = tuple[str, float, float, str | None, str | None]
# A kept answer: the snapshot it was checked against, how it was found, and its items.
_Kept = tuple[CatalogSnapshot, Way, str, tuple[KeptItem, ...]]


def recommend_for_user(inputs: AnswerInputs, events: UserEvents, request: UserRequest) -> RecommendationList:
    """The user's recommendations: a kept answer to the same question, or computed now."""
    version = inputs.version
    model = model_for(version, request.algorithm)
    history = history_of(model, events)
    # An erased shopper is one the model never saw, whatever it learned of them before.
    forgotten = inputs.state.erased.hides(request.user_id, version.watermark)
    asked = request._replace(user_id=UNKNOWN_USER) if forgotten else request
    # Users the model never saw and with no events yet all get the same answer: one key for them.
    who = request.user_id if history.latest or asked.user_id in model.users else None
    key = (version.version_id, id(inputs.snapshot), history.latest, who, request._replace(user_id=""))
    kept: _Kept | None = inputs.state.answers.get(key)
    if kept is None or kept[0] is not inputs.snapshot:
        ranked = rank(inputs, model, history, asked)
        items = with_confidence(ranked.ids, ranked.scores, ranked.components, ranked.sources)
        kept = (inputs.snapshot, ranked.way, ranked.why, items)
        inputs.state.answers.put(key, kept)
        fresh = True
    else:
        fresh = False
    _, way, why, items = kept
    return RecommendationList(
        user_id=request.user_id,
        version=version,
        algorithm=model.algorithm,
        items=detailed(inputs.snapshot, items),
        way=way,
        why=why,
        kept=not fresh,
        bought_since=history.events.left_out,
        forgotten=forgotten,
    )


def with_confidence(
    ids: Sequence[str],
    scores: Sequence[float],
    components: Sequence[str | None] | None = None,
    sources: Sequence[str | None] | None = None,
) -> tuple[KeptItem, ...]:
    """(item, score, confidence, component, source) for each item, the confidence in 0..1 and
    the best item's near 1. Plain Python: for a list's few items numpy's calls cost more than
    the arithmetic."""
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
    nothing = [None] * len(values)
    return tuple(zip(ids, values, confidences, components or nothing, sources or nothing, strict=True))


def detailed(snapshot: CatalogSnapshot, items: Sequence[KeptItem]) -> list[Recommendation]:
    """Each kept item with the product's details as the snapshot has them."""
    view = snapshot.view
    return [Recommendation(view(item), *rest) for item, *rest in items]
