"""The catalog as serving needs it: each product's details for the answer, and fast masks
for the business filters (category, store, price range, in stock), kept up to date by reading
only what changed."""

import copy
import threading
import time
from datetime import timedelta
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from relevo.catalog import service as catalog_service
from relevo.core import categories
from relevo.core.caches import LockedCache
from relevo.core.db import Database, utcnow

_MASKS = 256  # filter masks kept per catalog snapshot
_MODELS = 8  # models whose items are kept aligned with the catalog
# Products changed this long before the last read are read again: a write whose transaction
# began before that read and committed after it, or a clock a little behind, is still caught.
# Anything later still is caught by the totals check, which then reads the whole catalog.
_OVERLAP = timedelta(seconds=5)


class Filters(NamedTuple):
    """The business filters of a request (a named tuple: part of the keys of kept masks and
    answers, so hashed and compared on every request, which a dataclass does in Python)."""

    category: str | None = None  # the category or any below it ("Electronics" covers "Electronics > Audio")
    store_id: int | None = None
    min_price: float | None = None
    max_price: float | None = None
    in_stock: bool = False  # quantity > 0

    @property
    def any(self) -> bool:
        return bool(self.category or self.store_id is not None or self.in_stock) or (
            self.min_price is not None or self.max_price is not None
        )


class ProductView(NamedTuple):
    """One product as an answer shows it (a named tuple: a hundred thousand of them make a
    snapshot, and a frozen dataclass costs twice as much to make)."""

    product_id: str
    name: str | None
    category: str | None
    price: Decimal | None
    currency: str | None


class CatalogSnapshot:
    """Every product at one moment, as arrays. Rows are those of `catalog.service.serving_items`."""

    def __init__(self, rows: list[tuple]) -> None:
        self.ids = [row[0] for row in rows]
        self.position = {product_id: index for index, product_id in enumerate(self.ids)}
        # Made once per snapshot, so an answer's details are looked up, not built.
        self.views = [_view(row) for row in rows]
        self.category = [row[2] or "" for row in rows]
        self.price = np.array([_price(row) for row in rows], dtype=np.float64)
        self.quantity = np.array([_quantity(row) for row in rows], dtype=np.int64)
        self.store = np.array([_store(row) for row in rows], dtype=np.int64)
        self.available = np.array([bool(row[7]) for row in rows], dtype=bool)
        self.revision = np.array([row[8] for row in rows], dtype=np.int64)
        self._masks = LockedCache.lru(_MASKS)

    def patched(self, rows: list[tuple]) -> "CatalogSnapshot":
        """A new snapshot: this one with these products changed or added."""
        new = [row for row in rows if row[0] not in self.position]
        patched = copy.copy(self)
        patched.ids = self.ids + [row[0] for row in new]
        if new:
            patched.position = {**self.position, **{row[0]: len(self.ids) + n for n, row in enumerate(new)}}
        patched.views = self.views + [_view(row) for row in new]
        patched.category = self.category + [row[2] or "" for row in new]
        patched.price = np.concatenate([self.price, [_price(row) for row in new]])
        patched.quantity = np.concatenate([self.quantity, np.array([_quantity(row) for row in new], dtype=np.int64)])
        patched.store = np.concatenate([self.store, np.array([_store(row) for row in new], dtype=np.int64)])
        patched.available = np.concatenate([self.available, np.array([bool(row[7]) for row in new], dtype=bool)])
        patched.revision = np.concatenate([self.revision, np.array([row[8] for row in new], dtype=np.int64)])
        for row in rows:
            at = patched.position[row[0]]
            patched.views[at], patched.category[at] = _view(row), row[2] or ""
            patched.price[at], patched.quantity[at], patched.store[at] = _price(row), _quantity(row), _store(row)
            patched.available[at], patched.revision[at] = bool(row[7]), row[8]
        patched._masks = LockedCache.lru(_MASKS)
        return patched

    @property
    def totals(self) -> tuple[int, int]:
        """(products, sum of their revisions): what `catalog.service.catalog_revision` says of
        the catalog this snapshot shows."""
        return len(self.ids), int(self.revision.sum())

    def view(self, product_id: str) -> ProductView:
        index = self.position.get(product_id)
        return ProductView(product_id, None, None, None, None) if index is None else self.views[index]

    def allowed(self, filters: Filters) -> np.ndarray:
        """A mask over this snapshot's products: available, and passing the filters."""
        key = (filters.category, filters.store_id, filters.min_price, filters.max_price, filters.in_stock)
        found = self._masks.get(key)
        if found is not None:
            return found
        mask = self.available.copy()
        if filters.category:
            mask &= categories.mask(filters.category, self.category)
        if filters.store_id is not None:
            mask &= self.store == filters.store_id
        if filters.min_price is not None:
            mask &= self.price >= filters.min_price
        if filters.max_price is not None:
            mask &= self.price <= filters.max_price
        if filters.in_stock:
            mask &= self.quantity > 0
        self._masks.put(key, mask)
        return mask

    def align(self, item_ids: np.ndarray) -> np.ndarray:
        """For each of a model's items, its position here (-1: not in the catalog)."""
        lookup = self.position.get
        return np.fromiter((lookup(item, -1) for item in item_ids.tolist()), dtype=np.int64, count=len(item_ids))


def _view(row: tuple) -> ProductView:
    return ProductView(row[0], row[1], row[2] or None, row[3], row[4])


def _price(row: tuple) -> float:
    return np.nan if row[3] is None else float(row[3])


def _quantity(row: tuple) -> int:
    return -1 if row[5] is None else row[5]


def _store(row: tuple) -> int:
    return -1 if row[6] is None else row[6]


class CatalogView:
    """The latest snapshot. Every `refresh_seconds` the catalog's totals (products, sum of their
    revisions, which every change raises) are read; when they moved, the products changed since
    the last read are read and patched into a copy of the snapshot, and the whole catalog is read
    again only if the patched copy does not add up to the totals."""

    def __init__(self, database: Database, refresh_seconds: float) -> None:
        self._database = database
        self._refresh_seconds = refresh_seconds
        self._snapshot: CatalogSnapshot | None = None
        self._read_from = utcnow()  # when the reading that made the snapshot began
        self._taken = -np.inf
        self._lock = threading.Lock()
        # Keyed by the ids of the arrays they were made for, and checked to be those arrays.
        self._model_masks = LockedCache.lru(_MASKS)
        self._alignments = LockedCache.lru(_MODELS)

    def needs_refresh(self) -> bool:
        return time.monotonic() - self._taken >= self._refresh_seconds

    def cached(self) -> CatalogSnapshot | None:
        return self._snapshot

    def snapshot(self) -> CatalogSnapshot:
        """The current snapshot, brought up to date if due. Blocks: call from a thread."""
        if self._snapshot is None or self.needs_refresh():
            with self._lock:
                if self._snapshot is None or self.needs_refresh():
                    self._refresh()
        return self._snapshot

    def _refresh(self) -> None:
        began = utcnow()
        with self._database.session(write=False) as session:
            # The totals before the rows: a change committed in between is read now and seen
            # again next time (one read too many, never one too few).
            totals = catalog_service.catalog_revision(session=session)
            snapshot = self._snapshot
            if snapshot is not None and totals != snapshot.totals:
                changed = catalog_service.serving_items(session=session, changed_since=self._read_from - _OVERLAP)
                snapshot = snapshot.patched(changed)
            if snapshot is None or snapshot.totals != totals:  # the first read, or a change the patch missed
                snapshot = CatalogSnapshot(catalog_service.serving_items(session=session))
        if snapshot is not self._snapshot:
            self._snapshot = snapshot
            self._model_masks.clear()
            self._alignments.clear()
        self._read_from = began
        self._taken = time.monotonic()

    def model_mask(self, snapshot: CatalogSnapshot, item_ids: np.ndarray, filters: Filters) -> np.ndarray:
        """The filter mask over a model's items (items gone from the catalog are left out),
        kept for the next answer with the same filters."""
        key = (id(snapshot), id(item_ids), filters)
        found = self._model_masks.get(key)
        if found is not None and found[0] is item_ids:  # the same arrays, not new ones at a freed address
            return found[1]
        alignment = self._alignment(snapshot, item_ids)
        allowed = snapshot.allowed(filters)
        mask = np.where(alignment >= 0, allowed[np.clip(alignment, 0, None)], False)
        self._model_masks.put(key, (item_ids, mask))
        return mask

    def _alignment(self, snapshot: CatalogSnapshot, item_ids: np.ndarray) -> np.ndarray:
        found = self._alignments.get(id(item_ids))
        if found is not None and found[0] is item_ids and found[1] is snapshot:
            return found[2]
        alignment = snapshot.align(item_ids)
        self._alignments.put(id(item_ids), (item_ids, snapshot, alignment))
        return alignment
