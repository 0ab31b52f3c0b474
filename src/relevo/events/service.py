"""Event ingestion and reading. Every way behaviour comes in (API, seed routes, CSV) ends in
`store_rows`, which creates unknown users and products and stores each event_id once."""

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Column, DateTime, Float, Integer, Select, String, Text, func, literal, select
from sqlalchemy.orm import Session

from relevo.accounts.models import Account
from relevo.catalog import service as catalog_service
from relevo.catalog.models import Product
from relevo.core.db import utcnow
from relevo.core.errors import InvalidArgument
from relevo.core.pagination import paginate_by_id
from relevo.events.models import Event, EventType
from relevo.events.schemas import EventIn, IngestResult
from relevo.ops import metrics
from relevo.storage import bulk
from relevo.users import service as users_service
from relevo.users.models import User

# Batches up to this size resolve ids with a few small queries; larger ones go through a
# staging table and set-based SQL.
SMALL_BATCH = 200


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


_STAGE_COLUMNS = (
    Column("event_id", String(255)),
    Column("user_id", String(255)),
    Column("product_id", String(255)),
    Column("event_type", String(32)),
    Column("value", Float),
    Column("session_id", String(255)),
    Column("device_type", String(32)),
    Column("context", Text),
    Column("recommendation_id", String(64)),
    Column("occurred_at", DateTime),
)
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


def ingest(
    *,
    session: Session,
    events: Sequence[EventIn],
    source: str,
    max_batch: int,
    categories: dict[str, str] | None = None,
) -> IngestResult:
    """Stores a batch of events from an API call; `source` labels the ingestion metric.

    `categories` (product id to category), when the caller knows them, fill in products
    that have no category yet.
    """
    if not events:
        raise InvalidArgument("events: send at least one event")
    if len(events) > max_batch:
        raise InvalidArgument(f"events: a batch holds at most {max_batch} events; this one has {len(events)}")
    now = utcnow()
    stored = store_rows(session=session, rows=[row_from(event, now) for event in events])
    if categories:
        catalog_service.fill_missing_categories(session=session, categories=categories)
    metrics.EVENTS_INGESTED.labels(source).inc(stored)
    return IngestResult(received=len(events), stored=stored, duplicates=len(events) - stored)


def store_rows(*, session: Session, rows: Iterable[EventRow], dataset_id: int | None = None) -> int:
    """Stores events, creating unknown users and products; returns how many were new."""
    if isinstance(rows, Sequence) and len(rows) <= SMALL_BATCH:
        return _store_few(session, rows, dataset_id)
    return _store_many(session, rows, dataset_id)


def _store_few(session: Session, rows: Sequence[EventRow], dataset_id: int | None) -> int:
    if not rows:
        return 0
    user_ids = users_service.ensure_ids(session=session, external_ids={row.user_id for row in rows})
    product_ids = catalog_service.ensure_ids(session=session, external_ids={row.product_id for row in rows})
    values = [
        {
            **row._asdict(),
            "user_id": user_ids[row.user_id],
            "product_id": product_ids[row.product_id],
            "dataset_id": dataset_id,
        }
        for row in rows
    ]
    statement = bulk.upsert_statement(session, Event.__table__).values(values)
    statement = statement.on_conflict_do_nothing(index_elements=["event_id"], index_where=Event.event_id.is_not(None))
    return session.execute(statement).rowcount


def _store_many(session: Session, rows: Iterable[EventRow], dataset_id: int | None) -> int:
    now = utcnow()
    with bulk.staging_table(session, "relevo_stage_events", _STAGE_COLUMNS) as stage:
        bulk.load_rows(session, stage, _with_json_context(rows))
        if session.connection().dialect.name == "postgresql":
            session.connection().exec_driver_sql(f"ANALYZE {stage.name}")
        _insert_distinct_ids(session, User, stage.c.user_id, {"attributes": {}, "created_at": now})
        product_defaults = {"views_count": 0, "attributes": {}, "is_active": True, "created_at": now, "updated_at": now}
        _insert_distinct_ids(session, Product, stage.c.product_id, product_defaults)
        source = (
            select(
                stage.c.event_id,
                User.id,
                Product.id,
                stage.c.event_type,
                stage.c.value,
                stage.c.session_id,
                stage.c.device_type,
                bulk.as_json_document(session, stage.c.context),
                stage.c.recommendation_id,
                literal(dataset_id, Integer()),
                stage.c.occurred_at,
            )
            .join(User, User.external_id == stage.c.user_id)
            .join(Product, Product.external_id == stage.c.product_id)
            .where(bulk.every_row())
        )
        statement = bulk.upsert_statement(session, Event.__table__).from_select(_EVENT_COLUMNS, source)
        statement = statement.on_conflict_do_nothing(
            index_elements=["event_id"], index_where=Event.event_id.is_not(None)
        )
        return session.execute(statement).rowcount


def _with_json_context(rows: Iterable[EventRow]) -> Iterator[EventRow]:
    for row in rows:
        yield row if row.context is None else row._replace(context=json.dumps(row.context))


def _insert_distinct_ids(session: Session, model: type, staged_id: Column, defaults: dict[str, Any]) -> None:
    """Creates, in one statement, the users or products the staged events name for the first time."""
    table = model.__table__
    names = list(defaults)
    source = select(staged_id, *(literal(value, table.c[name].type) for name, value in defaults.items())).distinct()
    statement = bulk.upsert_statement(session, table).from_select(
        ["external_id", *names], source.where(bulk.every_row())
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["external_id"]))


def record_product_view(*, session: Session, account: Account, product_id: int) -> Product:
    """Seed 003's product retrieval: one more view, recorded as a `view` event of the caller."""
    product = catalog_service.count_views(session=session, product_id=product_id)
    user = users_service.ensure_account_user(session=session, account=account)
    session.add(Event(user_id=user.id, product_id=product.id, event_type=EventType.view, occurred_at=utcnow()))
    session.flush()
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
    """Seed 003's interaction list, newest first: (Event, user id, product id, category) rows."""
    query = _events_with_shop_ids().order_by(Event.id.desc()).limit(limit).offset(offset)
    return session.execute(query).all()


def _events_with_shop_ids() -> Select:
    return (
        select(Event, User.external_id, Product.external_id, Product.category)
        .join(User, User.id == Event.user_id)
        .join(Product, Product.id == Event.product_id)
    )


def count_by_type(*, session: Session) -> dict[str, int]:
    query = select(Event.event_type, func.count()).group_by(Event.event_type).order_by(Event.event_type)
    return dict(session.execute(query).all())
