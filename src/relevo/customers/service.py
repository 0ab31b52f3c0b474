"""A customer's purchase history as customer-level models read it: from the purchase events
stored before a date, for one customer, a few, or everyone who bought."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time

import numpy as np
from sqlalchemy.orm import Session

from relevo.engine.customers.features import PurchaseHistory
from relevo.engine.events import PURCHASE_TYPES
from relevo.events import service as events_service
from relevo.users import service as users_service

_SECONDS_PER_DAY = 86_400


def start_of(day: date) -> datetime:
    """Midnight UTC at the start of `day`, naive as every stored timestamp."""
    return datetime.combine(day, time.min, tzinfo=UTC).replace(tzinfo=None)


def day_number(day: date) -> int:
    """Days since 1970-01-01: how the engine counts days."""
    return (day - date(1970, 1, 1)).days


def purchase_history(
    *, session: Session, before: date, customers: Sequence[str] | None = None
) -> tuple[PurchaseHistory, list[str]]:
    """The purchases made before midnight UTC at the start of `before` (the database leaves the
    later ones out: nothing from that day on is read), and the shop's id of each customer row.

    With `customers`, the rows are those of the listed customers that exist, in the order
    given (once each), whether they bought anything or not; customers Relevo does not know are
    left out, and callers compare the ids returned. Without, the rows are every customer with
    a purchase before that date."""
    cutoff = start_of(before)
    if customers is None:
        columns = events_service.purchase_columns(session=session, before=cutoff, purchase_types=PURCHASE_TYPES)
        internal = np.unique(columns.user_id)
        names = users_service.external_ids(session=session, ids=internal.tolist())
        external = [names[int(user_id)] for user_id in internal]
    else:
        ordered = list(dict.fromkeys(customers))
        found = users_service.existing_ids(session=session, external_ids=ordered)
        external = [customer for customer in ordered if customer in found]
        internal = np.asarray([found[customer] for customer in external], dtype=np.int64)
        columns = events_service.purchase_columns(
            session=session, before=cutoff, purchase_types=PURCHASE_TYPES, user_ids=internal.tolist()
        )
    order = np.argsort(internal, kind="stable")
    rows = order[np.searchsorted(internal, columns.user_id, sorter=order)] if len(internal) else np.zeros(0, np.int64)
    categories, category = _category_indices(columns.category)
    history = PurchaseHistory(
        customer=rows.astype(np.int32),
        day=np.floor_divide(columns.timestamp, _SECONDS_PER_DAY).astype(np.int32),
        # A value too large for a float (stored as infinity) says nothing about what was spent.
        amount=np.where(np.isfinite(columns.amount), columns.amount, 0.0),
        category=category,
        categories=categories,
        customers=len(external),
    )
    return history, external


def _category_indices(categories: list[str | None]) -> tuple[tuple[str, ...], np.ndarray]:
    """The distinct categories, sorted, and each purchase's index among them (-1 for none)."""
    known = sorted({category for category in categories if category})
    position = {category: index for index, category in enumerate(known)}
    indices = np.fromiter((position.get(category or "", -1) for category in categories), np.int32, len(categories))
    return tuple(known), indices
