"""The catalog as serving needs it: each product's details for the answer, and fast masks
for the business filters (category, store, price range, in stock), refreshed every so often."""

import threading
import time
from collections import OrderedDict
from decimal import Decimal
from typing import NamedTuple

import numpy as np

from relevo.catalog import service as catalog_service
from relevo.core import categories
from relevo.core.db import Database

_MASK_CACHE = 256  # filter masks kept per catalog snapshot
_MODELS = 8  # models whose items are kept aligned with the catalog


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
    """Every product at one moment, as arrays."""

    def __init__(self, rows: list[tuple]) -> None:
        self.ids = [row[0] for row in rows]
        self.position = {product_id: index for index, product_id in enumerate(self.ids)}
        # Made once per snapshot, so an answer's details are looked up, not built.
        self.views = [ProductView(row[0], row[1], row[2] or None, row[3], row[4]) for row in rows]
        self.category = [row[2] or "" for row in rows]
        self.price = np.array([np.nan if row[3] is None else float(row[3]) for row in rows])
        self.quantity = np.array([-1 if row[5] is None else row[5] for row in rows], dtype=np.int64)
        self.store = np.array([-1 if row[6] is None else row[6] for row in rows], dtype=np.int64)
        self.available = np.array([bool(row[7]) for row in rows], dtype=bool)
        self._masks: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def view(self, product_id: str) -> ProductView:
        index = self.position.get(product_id)
        return ProductView(product_id, None, None, None, None) if index is None else self.views[index]

    def allowed(self, filters: Filters) -> np.ndarray:
        """A mask over this snapshot's products: available, and passing the filters."""
        key = (filters.category, filters.store_id, filters.min_price, filters.max_price, filters.in_stock)
        with self._lock:
            found = self._masks.get(key)
            if found is not None:
                self._masks.move_to_end(key)
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
        with self._lock:
            self._masks[key] = mask
            if len(self._masks) > _MASK_CACHE:
                self._masks.popitem(last=False)
        return mask

    def align(self, item_ids: np.ndarray) -> np.ndarray:
        """For each of a model's items, its position here (-1: not in the catalog)."""
        lookup = self.position.get
        return np.fromiter((lookup(item, -1) for item in item_ids.tolist()), dtype=np.int64, count=len(item_ids))


class CatalogView:
    """The latest snapshot, replaced every `refresh_seconds`."""

    def __init__(self, database: Database, refresh_seconds: float) -> None:
        self._database = database
        self._refresh_seconds = refresh_seconds
        self._snapshot: CatalogSnapshot | None = None
        self._revision: tuple[int, int] | None = None  # the catalog's, when the snapshot was read
        self._taken = -np.inf
        self._lock = threading.Lock()
        self._model_masks: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._alignments: OrderedDict[int, tuple[np.ndarray, CatalogSnapshot, np.ndarray]] = OrderedDict()

    def needs_refresh(self) -> bool:
        return time.monotonic() - self._taken >= self._refresh_seconds

    def snapshot(self) -> CatalogSnapshot:
        """The current snapshot; when one is due, the catalog is read again only if it changed
        since (its revision moved), so a large, quiet catalog costs one small query per
        refresh, and answers kept for this snapshot stay valid. Blocks: call from a thread."""
        if self._snapshot is None or self.needs_refresh():
            with self._lock:
                if self._snapshot is None or self.needs_refresh():
                    with self._database.session(write=False) as session:
                        # The revision before the rows: a change committed in between is read
                        # now and seen again next time (one read too many, never one too few).
                        revision = catalog_service.catalog_revision(session=session)
                        if self._snapshot is None or revision != self._revision:
                            rows = catalog_service.serving_items(session=session)
                            self._snapshot, self._revision = CatalogSnapshot(rows), revision
                            self._model_masks.clear()
                            self._alignments.clear()
                    self._taken = time.monotonic()
        return self._snapshot

    def cached(self) -> CatalogSnapshot | None:
        return self._snapshot

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
        with self._lock:
            self._model_masks[key] = (item_ids, mask)
            if len(self._model_masks) > _MASK_CACHE:
                self._model_masks.popitem(last=False)
        return mask

    def _alignment(self, snapshot: CatalogSnapshot, item_ids: np.ndarray) -> np.ndarray:
        found = self._alignments.get(id(item_ids))
        if found is not None and found[0] is item_ids and found[1] is snapshot:
            return found[2]
        alignment = snapshot.align(item_ids)
        with self._lock:
            self._alignments[id(item_ids)] = (item_ids, snapshot, alignment)
            if len(self._alignments) > _MODELS:
                self._alignments.popitem(last=False)
        return alignment
