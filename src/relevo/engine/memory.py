"""How much memory training a model takes, estimated from the size of the data (users, items,
events) and the algorithm's config: what a caller compares with the memory a training may use
before starting one. Rough by design, erring high: it is there to refuse what cannot fit,
not to plan to the byte.

A training holds the data, fits once on most of it (the trial model, kept until the end for
its metrics), fits again on all of it and ranks ahead each user's best items; so it needs the
data, two fitted models, the most one fit holds while it works, and the ranked lists."""

from dataclasses import dataclass
from typing import Any

from relevo.engine.algorithms import recommender_class
from relevo.engine.algorithms.ease import DOUBLE_PRECISION_ITEMS
from relevo.engine.algorithms.item_knn import BLOCK_ROWS

# The event log, its held-out part and the weighted matrices made from it, per event.
_PER_EVENT = 120
_PER_USER = 64  # the user vocabulary
_PER_ITEM = 2_048  # the item vocabulary and the catalog's text
_TERMS_PER_ITEM = 20  # the content model's vocabulary grows at most about this fast with the catalog
# Pairs of items one user touched, per event: a generous bound (a user's n events make n²
# pairs, but most users have few), never more than items².
_PAIRS_PER_EVENT = 10
_PURCHASE_PAIRS_PER_EVENT = 5  # co-purchases: only purchases pair, a share of the events


@dataclass(frozen=True)
class DataSize:
    users: int
    items: int
    events: int


@dataclass(frozen=True)
class _Model:
    kept: int  # the fitted model's arrays
    working: int  # what fitting holds besides, at its peak


def training_bytes(algorithm: str, config: Any, size: DataSize, *, ranked_ahead: int = 0) -> int:
    """Bytes a training of `algorithm` with `config` (its config object, as `make_config`
    gives it) needs on data of this size, ranking `ranked_ahead` items ahead per user."""
    model = _model(algorithm, config, size)
    data = size.events * _PER_EVENT + size.users * _PER_USER + size.items * _PER_ITEM
    ranked = size.users * min(ranked_ahead, size.items) * 16  # items and scores, and their copies
    return data + 2 * model.kept + model.working + ranked


def _model(algorithm: str, config: Any, size: DataSize) -> _Model:
    users, items, events = size.users, size.items, size.events
    if algorithm == "hybrid":
        parts = [
            _model(name, recommender_class(name).make_config(config.components[name]), size)
            for name, weight in config.weights.items()
            if weight > 0 and (name != "ease" or items <= config.components["ease"]["max_items"])
        ]
        # Components are fitted one after another, each kept: all their arrays, the largest work.
        return _Model(sum(part.kept for part in parts), max((part.working for part in parts), default=0))
    if algorithm in ("als", "bpr"):
        factors = config.embedding_dim * (users + items) * 4
        return _Model(kept=2 * factors, working=2 * factors)
    if algorithm == "ease":
        width = 8 if items <= DOUBLE_PRECISION_ITEMS else 4
        # The Gram matrix, the identity it is solved against, its inverse and the weights.
        return _Model(kept=items * items * 4, working=4 * items * items * width)
    if algorithm == "item_knn":
        kept = config.neighbours * items * 8
        # A block of items against all: sparse, only pairs of items sharing a user.
        block = min(BLOCK_ROWS * items, _PAIRS_PER_EVENT * events)
        return _Model(kept=kept, working=3 * kept + block * 12)
    if algorithm == "content":
        terms = min(config.max_terms, _TERMS_PER_ITEM * items + 1_000)
        centres = config.clusters * terms * 8
        return _Model(kept=items * _TERMS_PER_ITEM * 8 + centres, working=3 * centres + items * config.clusters * 8)
    if algorithm == "cooccurrence":
        pairs = min(items * items, _PURCHASE_PAIRS_PER_EVENT * events)
        return _Model(kept=pairs * 8 + events * 8, working=pairs * 16)
    return _Model(kept=items * 8, working=events * 16)  # popularity: a copy of the matrix, a count per item
