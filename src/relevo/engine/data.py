"""What the engine learns from: the event log, the catalog's item metadata, and how events
turn into the weighted user × item matrix every algorithm starts from (what one event weighs
is `events.py`'s rule)."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from relevo.engine.events import EventWeights, event_weights
from relevo.engine.rows import entry_rows
from relevo.engine.vocab import Vocabulary

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class EventLog:
    """One entry per event, as indices into the user and item vocabularies.

    `event_type` indexes `types` (the event type names), `timestamp` is unix seconds.
    """

    users: Vocabulary
    items: Vocabulary
    types: Vocabulary
    user: np.ndarray  # int32
    item: np.ndarray  # int32
    event_type: np.ndarray  # int32
    timestamp: np.ndarray  # int64
    value: np.ndarray  # float32, NaN where the event has none

    def __post_init__(self) -> None:
        size = len(self.user)
        if not all(len(column) == size for column in (self.item, self.event_type, self.timestamp, self.value)):
            raise ValueError("every column of an event log has one entry per event")

    def __len__(self) -> int:
        return len(self.user)

    @classmethod
    def from_columns(
        cls,
        user_ids: Sequence[str],
        item_ids: Sequence[str],
        event_types: Sequence[str],
        timestamps: Sequence[int] | np.ndarray,
        values: Sequence[float | None] | np.ndarray | None = None,
        *,
        items: Vocabulary | None = None,
    ) -> "EventLog":
        """An event log from parallel columns of the shop's ids. `items`, when given, fixes the
        item vocabulary (e.g. the whole catalog, so items nobody touched can still be placed)."""
        users, user = Vocabulary.encode(user_ids)
        if items is None:
            items, item = Vocabulary.encode(item_ids)
        else:
            item = items.indices(item_ids)
            if (item < 0).any():
                raise ValueError("an event names an item missing from the given item vocabulary")
        types, event_type = Vocabulary.encode(event_types)
        count = len(user)
        value = np.full(count, np.nan, dtype=np.float32) if values is None else np.asarray(values, dtype=np.float32)
        return cls(
            users=users,
            items=items,
            types=types,
            user=user,
            item=item,
            event_type=event_type,
            timestamp=np.asarray(timestamps, dtype=np.int64),
            value=value,
        )

    def subset(self, mask: np.ndarray) -> "EventLog":
        """The events where `mask` is true, over the same vocabularies."""
        return EventLog(
            users=self.users,
            items=self.items,
            types=self.types,
            user=self.user[mask],
            item=self.item[mask],
            event_type=self.event_type[mask],
            timestamp=self.timestamp[mask],
            value=self.value[mask],
        )

    def of_type(self, *names: str) -> np.ndarray:
        """A mask of the events whose type is one of `names`."""
        codes = [self.types.index(name) for name in names if name in self.types]
        return np.isin(self.event_type, codes)

    def matrix(self, weights: EventWeights | None = None, *, now: int | None = None) -> sp.csr_matrix:
        """The users × items matrix of summed event weights (float32), faded by age.

        Each event weighs what `events.event_weights` says (ratings by their value, capped at
        HIGHEST_RATING); negative sums are clipped to zero, so removing from the cart can cancel
        adding to it but never counts against.
        """
        weights = weights or EventWeights()
        weight = event_weights(weights, self.types.ids.tolist(), self.event_type, self.value)
        if weights.half_life_days > 0 and len(self.timestamp):
            reference = int(self.timestamp.max()) if now is None else now
            age_days = np.clip(reference - self.timestamp, 0, None) / _SECONDS_PER_DAY
            weight = weight * np.power(0.5, age_days / weights.half_life_days).astype(np.float32)
        shape = (len(self.users), len(self.items))
        matrix = sp.csr_matrix((weight.astype(np.float32), (self.user, self.item)), shape=shape, dtype=np.float32)
        matrix.sum_duplicates()
        matrix.data = np.clip(matrix.data, 0.0, None)
        matrix.eliminate_zeros()
        return matrix

    def last_touched(self, matrix: sp.csr_matrix) -> np.ndarray:
        """When each stored entry of `matrix` (a users × items matrix of this log, in CSR order)
        last had an event: the newest timestamp of that user on that item."""
        items = matrix.shape[1]
        keys = self.user.astype(np.int64) * items + self.item
        order = np.lexsort((self.timestamp, keys))
        sorted_keys = keys[order]
        newest = np.ones(len(order), dtype=bool)  # the last of each key in (key, time) order
        newest[:-1] = sorted_keys[1:] != sorted_keys[:-1]
        event_keys, event_times = sorted_keys[newest], self.timestamp[order][newest]
        entry_keys = entry_rows(matrix).astype(np.int64) * items
        entry_keys += matrix.indices
        found = np.searchsorted(event_keys, entry_keys).clip(max=max(len(event_keys) - 1, 0))
        if len(entry_keys) and (not len(event_keys) or not np.array_equal(event_keys[found], entry_keys)):
            raise ValueError("the matrix has an entry this log has no event for")
        return event_times[found]


@dataclass(frozen=True)
class ItemCatalog:
    """What the catalog says about each item, aligned with an item vocabulary.

    Missing values: empty category and text, NaN price, quantity -1 (unknown).
    """

    items: Vocabulary
    category: np.ndarray  # object (str)
    text: np.ndarray  # object (str): name and description
    price: np.ndarray  # float64
    quantity: np.ndarray  # int64
    active: np.ndarray  # bool

    @classmethod
    def empty(cls, items: Vocabulary) -> "ItemCatalog":
        size = len(items)
        return cls(
            items=items,
            category=np.full(size, "", dtype=object),
            text=np.full(size, "", dtype=object),
            price=np.full(size, np.nan),
            quantity=np.full(size, -1, dtype=np.int64),
            active=np.ones(size, dtype=bool),
        )

    @classmethod
    def from_records(cls, items: Vocabulary, records: dict[str, dict]) -> "ItemCatalog":
        """A catalog from {item id: {category, text, price, quantity, active}} (keys optional)."""
        catalog = cls.empty(items)
        for position, item_id in enumerate(items.ids.tolist()):
            record = records.get(item_id)
            if not record:
                continue
            if record.get("category"):
                catalog.category[position] = record["category"]
            if record.get("text"):
                catalog.text[position] = record["text"]
            if record.get("price") is not None:
                catalog.price[position] = float(record["price"])
            if record.get("quantity") is not None:
                catalog.quantity[position] = int(record["quantity"])
            if record.get("active") is not None:
                catalog.active[position] = bool(record["active"])
        return catalog


@dataclass(frozen=True)
class TrainingData:
    """Everything a recommender fits on."""

    events: EventLog
    catalog: ItemCatalog
    weights: EventWeights = field(default_factory=EventWeights)
    now: int | None = None  # unix seconds the recency fading counts from; the newest event if None

    def __post_init__(self) -> None:
        if self.catalog.items is not self.events.items and not np.array_equal(
            self.catalog.items.ids, self.events.items.ids
        ):
            raise ValueError("the catalog must describe the event log's items, in the same order")

    @property
    def users(self) -> Vocabulary:
        return self.events.users

    @property
    def items(self) -> Vocabulary:
        return self.events.items

    def matrix(self) -> sp.csr_matrix:
        return self.events.matrix(self.weights, now=self.now)
