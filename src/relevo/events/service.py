"""Event ingestion and reading. Every way behaviour comes in (API, compatible routes, CSV) ends
here: unknown users and products are created, and each event_id is stored once. Small
batches go through one multi-row insert; large ones through the backend's bulk path."""

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache
from operator import itemgetter
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Float, Integer, Select, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from relevo.accounts.callers import Caller
from relevo.catalog import service as catalog_service
from relevo.catalog.models import Product
from relevo.core import metrics
from relevo.core.db import after_commit, utcnow
from relevo.core.errors import InvalidArgument
from relevo.core.pagination import paginate_by_id
from relevo.events.models import Event, EventType
from relevo.events.schemas import EventIn, IngestResult
from relevo.events.signal import SharedFileSignal, signal_for
from relevo.storage import bulk
from relevo.users import service as users_service
from relevo.users.models import User

# Batches up to this size are stored with a few small statements; larger ones chunk by
# chunk through the backend's bulk path.
SMALL_BATCH = 200
_BY_USER = itemgetter(1)  # a resolved row's user_id
_FLOAT32_MAX = float(np.finfo(np.float32).max)  # event values reach the engine as float32


class EventRow(NamedTuple):
    """One event ready to store, with the shop's own user and product ids."""

    event_id: str | None
    user_id: str
    product_id: str
    event_type: str
    value: float | None
    session_id: str | None
    device_type: str | None
    context: dict[str, Any] | None
    recommendation_id: str | None
    occurred_at: datetime


_EVENT_COLUMNS = [
    "event_id",
    "user_id",
    "product_id",
    "event_type",
    "value",
    "session_id",
    "device_type",
    "context",
    "recommendation_id",
    "dataset_id",
    "occurred_at",
]


def row_from(event: EventIn, now: datetime) -> EventRow:
    return EventRow(
        event.event_id,
        event.user_id,
        event.product_id,
        event.event_type,
        event.value,
        event.session_id,
        event.device_type,
        event.context,
        event.recommendation_id,
        event.timestamp or now,
    )


def prepare_rows(events: Sequence[EventIn], *, max_batch: int) -> list[EventRow]:
    """An API call's events as rows to store, refusing empty and oversized batches."""
    if not events:
        raise InvalidArgument("events: send at least one event")
    if len(events) > max_batch:
        raise InvalidArgument(f"events: a batch holds at most {max_batch} events; this one has {len(events)}")
    now = utcnow()
    return [row_from(event, now) for event in events]


def ingest(
    *,
    session: Session,
    events: Sequence[EventIn],
    source: str,
    max_batch: int,
    categories: dict[str, str] | None = None,
) -> IngestResult:
    """Stores a batch of events; `source` labels the ingestion metric. (The API goes through
    `relevo.events.writer`, which stores concurrent requests together.)"""
    rows = prepare_rows(events, max_batch=max_batch)
    stored = store_events(session=session, rows=rows, categories=categories)
    metrics.EVENTS_INGESTED.labels(source).inc(stored)
    return IngestResult(received=len(rows), stored=stored, duplicates=len(rows) - stored)


def store_events(*, session: Session, rows: Sequence[EventRow], categories: dict[str, str] | None) -> int:
    """store_rows, and `categories` (product id to category, when the sender knows them) fill
    in products that have no category yet."""
    stored = store_rows(session=session, rows=rows)
    if categories:
        catalog_service.fill_missing_categories(session=session, categories=categories)
    return stored


def store_submissions(
    *, session: Session, submissions: Sequence[tuple[Sequence[EventRow], dict[str, str] | None]]
) -> list[int]:
    """Stores the events of several requests in one go; returns how many of each were new
    (an event_id repeated across them counts for the first)."""
    every_row = [row for rows, _ in submissions for row in rows]
    inserted = _insert_skipping_duplicates(session, _resolve(session, every_row, None))
    _count_recommendation_clicks(session, every_row, inserted)
    stored_ids = Counter(inserted)
    _signal_after_commit(session, {row.user_id for row in every_row})
    counts = []
    for rows, _ in submissions:
        count = 0
        for row in rows:
            if row.event_id is None:
                count += 1
            elif stored_ids[row.event_id] > 0:
                stored_ids[row.event_id] -= 1
                count += 1
        counts.append(count)
    categories = {key: value for _, known in submissions if known for key, value in known.items()}
    if categories:
        catalog_service.fill_missing_categories(session=session, categories=categories)
    return counts


def store_rows(*, session: Session, rows: Iterable[EventRow], dataset_id: int | None = None) -> int:
    """Stores events, creating unknown users and products; returns how many were new.

    Events with an event_id that is already stored (or repeated in `rows`) are skipped.
    """
    if isinstance(rows, Sequence) and len(rows) <= SMALL_BATCH:
        inserted = _insert_skipping_duplicates(session, _resolve(session, rows, dataset_id))
        _count_recommendation_clicks(session, rows, inserted)
        stored = len(inserted)
        _signal_after_commit(session, {row.user_id for row in rows})
        return stored
    return _store_many(session, rows, dataset_id)


def _store_many(session: Session, rows: Iterable[EventRow], dataset_id: int | None) -> int:
    """Chunk by chunk: resolve ids, insert events with an event_id so that duplicates are
    skipped, and hand the others to a bulk writer, which stores them while the next chunk is
    produced (for a CSV import: parsed and validated)."""
    stored = 0
    touched: set[str] = set()
    # In user order, the (user_id, occurred_at) index is updated page by page instead of all
    # over: PostgreSQL spends about 40% less time storing a chunk.
    writer = bulk.BulkWriter(session, Event.__table__, _EVENT_COLUMNS, order_by=_BY_USER)
    with bulk.gc_paused(), writer:
        for chunk in bulk.batched(rows):
            # Ids seen before are found while the previous chunk is still being stored; only
            # the new ones need the connection.
            users, new_users = users_service.known_ids(session=session, external_ids={row[1] for row in chunk})
            products, new_products = catalog_service.known_ids(session=session, external_ids={row[2] for row in chunk})
            writer.wait()
            users.update(users_service.ensure_ids(session=session, external_ids=new_users))
            products.update(catalog_service.ensure_ids(session=session, external_ids=new_products))
            resolved = _as_table_rows(chunk, users, products, dataset_id)
            touched.update(users)
            keyed = [row for row in resolved if row[0] is not None]
            inserted = _insert_skipping_duplicates(session, keyed)
            _count_recommendation_clicks(session, chunk, inserted)
            if keyed:
                stored += len(inserted)
                resolved = [row for row in resolved if row[0] is None]
            writer.append(resolved)
            stored += len(resolved)
    bulk.refresh_statistics(session, Event.__table__, stored)
    _signal_after_commit(session, touched)
    return stored


def _count_recommendation_clicks(session: Session, rows: Sequence[EventRow], inserted: Sequence[str | None]) -> None:
    """Once the transaction commits, counts in Prometheus the clicks just stored that carry the
    recommendation_id of the answer they came from: rows without an event_id are all stored,
    the others when `inserted` (the event_ids stored) holds them, the first of a repeated one."""
    # Positions rather than names (event_id, event_type, recommendation_id): imports pass here.
    if not any(row[8] and row[3] == EventType.click for row in rows):
        return
    stored = Counter(inserted)
    counted = 0
    for row in rows:
        if row[0] is not None:
            if not stored[row[0]]:
                continue
            stored[row[0]] -= 1
        counted += bool(row[8] and row[3] == EventType.click)
    if counted:
        after_commit(session, lambda: metrics.RECOMMENDATION_CLICKS.inc(counted))


def signal(session: Session) -> SharedFileSignal | None:
    """The database's signal of which users have new events (events.signal), if it has one."""
    bind = session.get_bind()
    return signal_for(bind.engine.url, lambda: latest_event_id(session=session))


def _signal_after_commit(session: Session, user_ids: set[str]) -> None:
    """Once the events just stored commit, the signal says these users have events up to the
    newest event id now (read in this transaction: on SQLite, the only writer)."""
    found = signal(session)
    if found is None or not user_ids:
        return
    newest = latest_event_id(session=session)
    after_commit(session, lambda: found.publish(user_ids, newest))


def _resolve(session: Session, rows: Sequence[EventRow], dataset_id: int | None) -> list[tuple[Any, ...]]:
    """Event rows as table rows (_EVENT_COLUMNS order), with internal user and product ids."""
    users = users_service.ensure_ids(session=session, external_ids={row[1] for row in rows})
    products = catalog_service.ensure_ids(session=session, external_ids={row[2] for row in rows})
    return _as_table_rows(rows, users, products, dataset_id)


def _as_table_rows(
    rows: Sequence[EventRow], users: dict[str, int], products: dict[str, int], dataset_id: int | None
) -> list[tuple[Any, ...]]:
    user_id, product_id = users.__getitem__, products.__getitem__
    # Positions rather than names: this runs for every event of every import.
    return [
        (row[0], user_id(row[1]), product_id(row[2]), *row[3:9], dataset_id, row[9])  # _EVENT_COLUMNS order
        for row in rows
    ]


def _insert_skipping_duplicates(session: Session, rows: Sequence[tuple[Any, ...]]) -> list[str | None]:
    """Inserts rows, skipping event_ids already stored; returns the event_id of each row it
    inserted (None for rows without one)."""
    if not rows:
        return []
    connection = session.connection()
    # A list of parameter sets: sent as batched multi-row inserts of one cached statement.
    values = [dict(zip(_EVENT_COLUMNS, row, strict=True)) for row in rows]
    return list(connection.execute(_skipping_insert(connection.dialect.name), values).scalars())


@cache
def _skipping_insert(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING event_id, built once per backend: on
    the single-event path, building it anew cost more than running it."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Event.__table__)
    insert = insert.on_conflict_do_nothing(index_elements=["event_id"], index_where=Event.event_id.is_not(None))
    return insert.returning(Event.event_id)


def record_product_view(*, session: Session, account: Caller, product_id: int) -> Product:
    """The store API's product retrieval: one more view, and a `view` event of the caller's
    shopper unless the caller is staff (catalog_service.STAFF_ROLES says why)."""
    product = catalog_service.count_views(session=session, product_id=product_id)
    if catalog_service.is_staff(account):
        return product
    user = users_service.ensure_account_user(session=session, account=account)
    session.add(Event(user_id=user.id, product_id=product.id, event_type=EventType.view, occurred_at=utcnow()))
    session.flush()
    _signal_after_commit(session, {user.external_id})
    return product


class EventFilters(NamedTuple):
    user_id: str | None = None
    product_id: str | None = None
    event_type: str | None = None
    session_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_events(
    *, session: Session, filters: EventFilters, limit: int, cursor: str | None
) -> tuple[Sequence[Any], str | None]:
    """Events newest first, each row (Event, user external id, product external id, category)."""
    query = _events_with_shop_ids()
    if filters.user_id is not None:
        query = query.where(User.external_id == filters.user_id)
    if filters.product_id is not None:
        query = query.where(Product.external_id == filters.product_id)
    if filters.event_type is not None:
        query = query.where(Event.event_type == filters.event_type)
    if filters.session_id is not None:
        query = query.where(Event.session_id == filters.session_id)
    if filters.since is not None:
        query = query.where(Event.occurred_at >= filters.since)
    if filters.until is not None:
        query = query.where(Event.occurred_at < filters.until)
    return paginate_by_id(session, query, Event.id, limit=limit, cursor=cursor)


def list_interactions(*, session: Session, limit: int, offset: int) -> Sequence[Any]:
    """The AI service's interaction list, newest first: (Event, user id, product id, category) rows."""
    query = _events_with_shop_ids().order_by(Event.id.desc()).limit(limit).offset(offset)
    return session.execute(query).all()


def _events_with_shop_ids() -> Select:
    return (
        select(Event, User.external_id, Product.external_id, Product.category)
        .join(User, User.id == Event.user_id)
        .join(Product, Product.id == Event.product_id)
    )


class EventColumns(NamedTuple):
    """Events as columns, for training: internal ids, type names, unix seconds, values."""

    user_id: np.ndarray  # int64
    product_id: np.ndarray  # int64
    event_type: list[str]
    timestamp: np.ndarray  # int64
    value: np.ndarray  # float32, NaN where none
    watermark: int  # the highest event id included


def training_columns(*, session: Session, dataset_ids: Sequence[int] | None = None) -> EventColumns:
    """Every event (or those of the given datasets), streamed from the database in chunks."""
    dialect = session.connection().dialect.name
    seconds = (
        func.extract("epoch", Event.occurred_at)
        if dialect == "postgresql"
        else func.cast(func.strftime("%s", Event.occurred_at), Integer)
    )
    query = select(Event.id, Event.user_id, Event.product_id, Event.event_type, seconds, Event.value)
    if dataset_ids:
        query = query.where(Event.dataset_id.in_(list(dataset_ids)))
    ids, users, products, types, stamps, values = [], [], [], [], [], []
    for chunk in session.execute(query.execution_options(yield_per=100_000)).partitions():
        columns = list(zip(*chunk, strict=True))
        ids.append(np.asarray(columns[0], dtype=np.int64))
        users.append(np.asarray(columns[1], dtype=np.int64))
        products.append(np.asarray(columns[2], dtype=np.int64))
        types.extend(columns[3])
        stamps.append(np.asarray(columns[4], dtype=np.float64).astype(np.int64))
        stored = np.asarray([np.nan if value is None else value for value in columns[5]], dtype=np.float64)
        values.append(np.clip(stored, -_FLOAT32_MAX, _FLOAT32_MAX).astype(np.float32))
    if not ids:
        empty = np.zeros(0, dtype=np.int64)
        return EventColumns(empty, empty, [], empty, np.zeros(0, dtype=np.float32), 0)
    every_id = np.concatenate(ids)
    return EventColumns(
        user_id=np.concatenate(users),
        product_id=np.concatenate(products),
        event_type=types,
        timestamp=np.concatenate(stamps),
        value=np.concatenate(values),
        watermark=int(every_id.max()),
    )


_USERS_PER_QUERY = 500  # ids bound in one query (SQLite allows 32,766 at most)


class PurchaseColumns(NamedTuple):
    """Purchases as columns, for customer-level models: internal user ids, unix seconds, the
    amount spent and the product's category."""

    user_id: np.ndarray  # int64
    timestamp: np.ndarray  # int64
    amount: np.ndarray  # float64
    category: list[str | None]


def purchase_columns(
    *, session: Session, before: datetime, purchase_types: Iterable[str], user_ids: Sequence[int] | None = None
) -> PurchaseColumns:
    """The purchases (events of `purchase_types`) that happened before `before` (naive UTC), of
    some users or of everyone, oldest first per user. The amount of a purchase is its value, or
    the product's price when it has none (as revenue is counted for recommendations), 0 when
    neither is known."""
    dialect = session.connection().dialect.name
    seconds = (
        func.extract("epoch", Event.occurred_at)
        if dialect == "postgresql"
        else func.cast(func.strftime("%s", Event.occurred_at), Integer)
    )
    amount = func.coalesce(Event.value, cast(Product.price, Float), 0.0)
    query = (
        select(Event.user_id, seconds, amount, Product.category)
        .outerjoin(Product, Product.id == Event.product_id)
        .where(Event.event_type.in_(sorted(purchase_types)), Event.occurred_at < before)
    )
    if user_ids is None:
        chunks = [query]
    else:
        # By user: each query walks the (user_id, occurred_at) index.
        wanted = sorted(set(user_ids))
        chunks = [
            query.where(Event.user_id.in_(wanted[start : start + _USERS_PER_QUERY]))
            for start in range(0, len(wanted), _USERS_PER_QUERY)
        ]
    users, stamps, amounts, categories = [], [], [], []
    for chunk_query in chunks:
        ordered = chunk_query.order_by(Event.user_id, Event.occurred_at).execution_options(yield_per=100_000)
        for rows in session.execute(ordered).partitions():
            columns = list(zip(*rows, strict=True))
            users.append(np.asarray(columns[0], dtype=np.int64))
            stamps.append(np.floor(np.asarray(columns[1], dtype=np.float64)).astype(np.int64))
            amounts.append(np.asarray(columns[2], dtype=np.float64))
            categories.extend(columns[3])
    if not users:
        empty = np.zeros(0, dtype=np.int64)
        return PurchaseColumns(empty, empty, np.zeros(0, dtype=np.float64), [])
    return PurchaseColumns(np.concatenate(users), np.concatenate(stamps), np.concatenate(amounts), categories)


# (event id, product id, type, value), with the shop's product id.
UserEvent = tuple[int, str, str, float | None]


def user_events_after(*, session: Session, user_id: str, after_id: int, limit: int) -> list[UserEvent]:
    """The user's `limit` latest events stored after `after_id`, oldest first."""
    rows = session.execute(_user_events_after(), {"user_id": user_id, "after_id": after_id, "limit": limit})
    return [tuple(row) for row in reversed(rows.all())]


@cache
def _user_events_after() -> Select:
    """Built once: on the path of every recommendation request."""
    return (
        select(Event.id, Product.external_id, Event.event_type, Event.value)
        .join(User, User.id == Event.user_id)
        .join(Product, Product.id == Event.product_id)
        .where(User.external_id == bindparam("user_id"), Event.id > bindparam("after_id"))
        .order_by(Event.id.desc())
        .limit(bindparam("limit"))
    )


def user_products_of_types(*, session: Session, event_types: Iterable[str]) -> Iterator[Sequence[tuple[str, str]]]:
    """(user, product) of every event of these types, the shop's ids, in chunks (what serving
    leaves out of a user's answers: engine/events.py LEFT_OUT_TYPES)."""
    query = (
        select(User.external_id, Product.external_id)
        .select_from(Event)
        .join(User, User.id == Event.user_id)
        .join(Product, Product.id == Event.product_id)
        .where(Event.event_type.in_(sorted(event_types)))
    )
    yield from session.execute(query.execution_options(yield_per=100_000)).partitions()


def count_user_events(*, session: Session, user_id: str, up_to: int) -> int:
    """How many events of the user are stored with ids up to `up_to`."""
    query = select(func.count()).select_from(Event).join(User, User.id == Event.user_id)
    return session.scalar(query.where(User.external_id == user_id, Event.id <= up_to)) or 0


def users_events_after(
    *, session: Session, user_ids: Sequence[str], after_id: int, limit: int
) -> dict[str, list[UserEvent]]:
    """Each user's `limit` latest events stored after `after_id`, oldest first (users without
    any are left out): for many users at once."""
    found: dict[str, list[UserEvent]] = {}
    for start in range(0, len(user_ids), _USERS_PER_QUERY):
        query = (
            select(User.external_id, Event.id, Product.external_id, Event.event_type, Event.value)
            .join(User, User.id == Event.user_id)
            .join(Product, Product.id == Event.product_id)
            .where(User.external_id.in_(user_ids[start : start + _USERS_PER_QUERY]), Event.id > after_id)
            .order_by(Event.id)
        )
        for user, *event in session.execute(query):
            found.setdefault(user, []).append(tuple(event))
    return {user: events[-limit:] for user, events in found.items()}


def popular_products(
    *, session: Session, since: datetime | None, category: str | None, limit: int
) -> list[tuple[str, int]]:
    """The products most users interacted with (since a time, in a category), with how many
    users did: straight from the events, so it answers before any model is trained."""
    users = func.count(func.distinct(Event.user_id))
    query = (
        select(Product.external_id, users)
        .join(Product, Product.id == Event.product_id)
        .where(Product.deleted_at.is_(None), Product.is_active)
        .group_by(Product.external_id)
        .order_by(users.desc(), Product.external_id)
        .limit(limit)
    )
    if since is not None:
        query = query.where(Event.occurred_at >= since)
    if category:
        query = query.where(catalog_service.category_condition(category))
    return [(row[0], int(row[1])) for row in session.execute(query)]


def latest_event_id(*, session: Session) -> int:
    return session.scalar(select(func.max(Event.id))) or 0


def count_by_type(*, session: Session) -> dict[str, int]:
    query = select(Event.event_type, func.count()).group_by(Event.event_type).order_by(Event.event_type)
    return dict(session.execute(query).all())
