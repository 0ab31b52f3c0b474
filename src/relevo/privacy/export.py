"""Exporting a shopper: everything Relevo holds about them as one JSON document, written as it
is read (a page of rows at a time, each page in a short read of its own), so a shopper with
millions of events costs a page of memory. The document's shape is in docs/api.md."""

from collections.abc import Callable, Iterator
from typing import Any

import orjson
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from relevo.batch.models import JobResult
from relevo.catalog.models import Product
from relevo.core.db import Database
from relevo.events.models import Event
from relevo.exposures.models import Exposure
from relevo.jobs.models import Job, JobKind
from relevo.users import privacy_audit as audit
from relevo.users import service as users_service
from relevo.users.privacy_models import PrivacyAction, PrivacyRecord

PAGE = 1_000  # rows read at a time
_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def export(*, database: Database, account_id: int, user_id: str) -> Iterator[bytes]:
    """The shopper's document, in pieces (NotFound at once if Relevo never knew them). The export
    is logged before the first piece."""
    with database.transaction() as session:
        user = users_service.get_or_raise(session=session, external_id=user_id)
        head = {
            "user_id": user.external_id,
            "attributes": user.attributes,
            "created_at": user.created_at,
            "erased_at": user.erased_at,
            "account_id": user.account_id,
        }
        internal_id = user.id
        audit.record(session=session, account_id=account_id, action=PrivacyAction.export, user_id=user_id, details={})
    return _document(database, head, internal_id, user_id)


def _document(database: Database, head: dict[str, Any], internal_id: int, user_id: str) -> Iterator[bytes]:
    yield b'{"user":' + orjson.dumps(head, option=_OPTIONS)
    sections: list[tuple[str, Select, Any, Callable[[Any], dict[str, Any]]]] = [
        ("events", _events(internal_id), Event.id, _event),
        ("batch_results", select(JobResult).where(JobResult.user_id == user_id), JobResult.id, _batch_result),
        ("exposures", select(Exposure).where(Exposure.user_id == user_id), Exposure.id, _exposure),
        ("audit", select(PrivacyRecord).where(PrivacyRecord.user_id == user_id), PrivacyRecord.id, _audit_entry),
    ]
    for name, query, key, shown in sections:
        yield b',"' + name.encode() + b'":['
        first = True
        for page in _pages(database, query, key):
            for row in page:
                yield (b"" if first else b",") + orjson.dumps(shown(row), option=_OPTIONS)
                first = False
        yield b"]"
    yield b',"batch_jobs_listing":' + orjson.dumps(_jobs_listing(database, user_id)) + b"}"


def _pages(database: Database, query: Select, key: Any) -> Iterator[list[Any]]:
    """The query's rows by ascending `key`, a page at a time."""
    after = None
    while True:
        paged = query if after is None else query.where(key > after)
        with database.session(write=False) as session:
            rows = _rows(session, paged.order_by(key).limit(PAGE))
        if not rows:
            return
        yield rows
        if len(rows) < PAGE:
            return
        last = rows[-1]
        after = last[0].id if isinstance(last, tuple) else last.id


def _rows(session: Session, query: Select) -> list[Any]:
    result = session.execute(query)
    return list(result.scalars() if len(query.column_descriptions) == 1 else (tuple(row) for row in result))


def _events(internal_id: int) -> Select:
    return (
        select(Event, Product.external_id)
        .outerjoin(Product, Product.id == Event.product_id)
        .where(Event.user_id == internal_id)
    )


def _event(row: tuple[Event, str | None]) -> dict[str, Any]:
    event, product_id = row
    return {
        "id": event.id,
        "event_id": event.event_id,
        "product_id": product_id,
        "event_type": event.event_type,
        "value": event.value,
        "session_id": event.session_id,
        "device_type": event.device_type,
        "context": event.context,
        "recommendation_id": event.recommendation_id,
        "occurred_at": event.occurred_at,
    }


def _batch_result(result: JobResult) -> dict[str, Any]:
    items = result.items if result.ranked else []
    return {"job_id": result.job_id, "items": items, "error": result.error, "created_at": result.created_at}


def _exposure(exposure: Exposure) -> dict[str, Any]:
    return {
        "recommendation_id": exposure.recommendation_id,
        "shown_at": exposure.shown_at,
        "items": exposure.items,
        "source": exposure.source,
        "fallback": exposure.fallback,
        "route": exposure.route,
        "model": exposure.model,
        "model_version": exposure.model_version,
        "experiment_id": exposure.experiment_id,
        "variant": exposure.variant,
    }


def _audit_entry(entry: PrivacyRecord) -> dict[str, Any]:
    return {"action": entry.action, "account_id": entry.account_id, "occurred_at": entry.occurred_at}


def _jobs_listing(database: Database, user_id: str) -> list[str]:
    """The batch jobs whose user lists name the shopper."""
    with database.session(write=False) as session:
        jobs = session.execute(select(Job.id, Job.params).where(Job.kind == JobKind.generate))
        return [job_id for job_id, params in jobs if user_id in ((params or {}).get("user_ids") or ())]
