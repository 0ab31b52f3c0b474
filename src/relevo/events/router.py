"""Routes of the canonical events API."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request, status

from relevo.accounts import publishable
from relevo.api.deps import (
    AdminCaller,
    EventSender,
    EventWriterDep,
    LimitedRoute,
    SessionDep,
    SettingsDep,
    count_request,
    count_shoppers,
)
from relevo.core.fields import as_naive_utc
from relevo.core.pagination import Page
from relevo.core.rates import BULK_EVENTS, LimitClass
from relevo.events import service
from relevo.events.schemas import EventRead, IngestResult, OneOrMoreEvents

router = APIRouter(prefix="/api/v1/events", tags=["events"], route_class=LimitedRoute)


def event_read(row: tuple) -> EventRead:
    event, user_id, product_id, _category = row
    return EventRead(
        id=event.id,
        event_id=event.event_id,
        user_id=user_id,
        product_id=product_id,
        event_type=event.event_type,
        value=event.value,
        session_id=event.session_id,
        device_type=event.device_type,
        context=event.context,
        recommendation_id=event.recommendation_id,
        dataset_id=event.dataset_id,
        timestamp=event.occurred_at,
    )


def event_filters(
    user_id: str | None = None,
    product_id: str | None = None,
    event_type: str | None = None,
    session_id: str | None = None,
    since: Annotated[datetime | None, Query(description="Events at or after this time")] = None,
    until: Annotated[datetime | None, Query(description="Events before this time")] = None,
) -> service.EventFilters:
    return service.EventFilters(
        user_id=user_id,
        product_id=product_id,
        event_type=event_type,
        session_id=session_id,
        since=None if since is None else as_naive_utc(since),
        until=None if until is None else as_naive_utc(until),
    )


@router.post("", response_model=IngestResult, status_code=status.HTTP_201_CREATED)
async def post_events(
    request: Request,
    body: Annotated[OneOrMoreEvents, Body(description="One event, or a list of up to 10,000")],
    caller: EventSender,
    writer: EventWriterDep,
    settings: SettingsDep,
) -> IngestResult:
    """A batch of more than 1,000 events is a bulk operation: it counts against the bulk limit
    as well as the API calls'. A publishable key sends shoppers' events only, each shopper
    counted against RELEVO_RATE_LIMIT_SHOPPER."""
    events = body if isinstance(body, list) else [body]
    publishable.check_events(caller, [event.event_type for event in events])
    await count_shoppers(request, caller, (event.user_id for event in events))
    if len(events) > BULK_EVENTS:
        await count_request(request, (LimitClass.bulk,))
    return await writer.ingest(events, source="api", max_batch=settings.max_event_batch)


@router.get("", response_model=Page[EventRead])
def list_events(
    _: AdminCaller,
    session: SessionDep,
    filters: Annotated[service.EventFilters, Depends(event_filters)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page:
    rows, next_cursor = service.list_events(session=session, filters=filters, limit=limit, cursor=cursor)
    return Page(items=[event_read(row) for row in rows], next_cursor=next_cursor)
