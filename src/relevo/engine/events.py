"""What an event means to the engine, written once for training and serving alike: how much it
weighs, which event types are purchases, and which leave their item out of a user's answers.

Training weighs its whole event log at once (`EventLog.matrix`); serving weighs the few events
a user sent since training (`request_history`). Both go through `event_weights`, so a rule
changed here changes both."""

from collections.abc import Collection, Iterable, Sequence, Sized
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import scipy.sparse as sp

# A rating weighs by its value up to this: one mistyped value (a price, 1e30) must not outweigh
# everything else, nor overflow the models into NaN.
HIGHEST_RATING = 10.0
# A rating of this value weighs the rating type's weight; others in proportion.
RATING_SCALE = 3.0

# The event types that are a purchase: what co-purchase learns "bought together" from, and the
# request-time events it counts as buying.
PURCHASE_TYPES: frozenset[str] = frozenset({"purchase"})
# The event types whose items are left out of a user's answers: bought or rated, the user has
# made up their mind about the item.
LEFT_OUT_TYPES: frozenset[str] = frozenset({"purchase", "rating"})


@dataclass(frozen=True)
class EventWeights:
    """How much each kind of event says about a user's interest in an item, and how fast it
    fades: an event `half_life_days` old counts half (0 turns fading off)."""

    weights: dict[str, float] = field(
        default_factory=lambda: {
            "view": 1.0,
            "click": 2.0,
            "add_to_cart": 4.0,
            "purchase": 8.0,
            "rating": 3.0,
            "remove_from_cart": 0.0,
        }
    )
    default: float = 1.0  # custom event types
    half_life_days: float = 90.0

    def of(self, event_type: str) -> float:
        return self.weights.get(event_type, self.default)


def event_weights(
    weights: EventWeights, type_names: Sequence[str], event_type: np.ndarray, value: np.ndarray
) -> np.ndarray:
    """What each event weighs before fading (float32), for events whose types are given as
    indices (`event_type`) into `type_names`: its type's weight, a rating's scaled by its value /
    RATING_SCALE, the value taken in [0, HIGHEST_RATING] (NaN, no value: scaled by 1)."""
    names = list(type_names)
    per_type = np.array([weights.of(name) for name in names], dtype=np.float32)
    weight = per_type[event_type] if len(per_type) else np.zeros(len(event_type), dtype=np.float32)
    if "rating" in names:
        rating = np.flatnonzero(event_type == names.index("rating"))
        scale = np.clip(np.asarray(value, dtype=np.float32)[rating], 0.0, HIGHEST_RATING) / np.float32(RATING_SCALE)
        scale[np.isnan(scale)] = 1.0  # clipping keeps NaN
        weight[rating] *= scale
    return weight


@dataclass(frozen=True)
class RequestHistory:
    """A user's events since training, as serving hands them to a model: extra weight per item
    (added to the user's training row), the items purchased (for co-purchase) and the items to
    leave out of the answer (bought or rated)."""

    weights: dict[str, float]
    purchased: frozenset[str]
    left_out: frozenset[str]


def request_history(
    events: Iterable[tuple[str, str, float | None]],
    weights: EventWeights | None = None,
    *,
    purchase_types: Collection[str] = PURCHASE_TYPES,
) -> RequestHistory:
    """The user's events since training, (item id, event type, value or None) oldest first,
    weighed as training weighs them (`event_weights`: same per-type weights, same rating scale
    and cap), summed per item.

    Not faded: training counts ages back from its newest event (or its `now`) and an event at
    or after that moment counts whole (ages are clipped at zero), and every event since training
    is at or after it. The user's training row keeps the fading it was trained with.
    `purchase_types`: a co-purchase model configured with other purchase types passes its own."""
    events = list(events)
    if not events:  # a fresh dict each time: the caller owns what it is given
        return RequestHistory(weights={}, purchased=frozenset(), left_out=frozenset())
    items, types, values = zip(*events, strict=True)
    codes: dict[str, int] = {}
    event_type = np.fromiter((codes.setdefault(name, len(codes)) for name in types), dtype=np.int32, count=len(types))
    value = np.array([np.nan if number is None else number for number in values], dtype=np.float32)
    weighed = event_weights(weights or EventWeights(), list(codes), event_type, value).tolist()
    per_item: dict[str, float] = {}
    purchased, left_out = set(), set()
    for item, name, weight in zip(items, types, weighed, strict=True):
        per_item[item] = per_item.get(item, 0.0) + weight
        if name in purchase_types:
            purchased.add(item)
        if name in LEFT_OUT_TYPES:
            left_out.add(item)
    return RequestHistory(weights=per_item, purchased=frozenset(purchased), left_out=frozenset(left_out))


class EventColumns(Protocol):
    """What these rules read of an event log (data.EventLog, which builds on this module)."""

    users: Sized
    items: Sized
    user: np.ndarray
    item: np.ndarray

    def of_type(self, *names: str) -> np.ndarray: ...


def indicator(events: EventColumns, types: Collection[str]) -> sp.csr_matrix:
    """Users × items (float32): 1 where the user had an event of one of `types` on the item,
    however many."""
    chosen = events.of_type(*types)
    shape = (len(events.users), len(events.items))
    ones = np.ones(int(chosen.sum()), dtype=np.float32)
    matrix = sp.csr_matrix((ones, (events.user[chosen], events.item[chosen])), shape=shape)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def left_out_matrix(events: EventColumns) -> sp.csr_matrix:
    """Users × items: 1 where the user bought or rated the item (LEFT_OUT_TYPES), the items
    serving leaves out of that user's answers."""
    return indicator(events, LEFT_OUT_TYPES)
