"""Routes of online metrics: the time series of what recommendations did and how requests were
answered."""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from relevo.api.deps import LimitedRoute, ReaderCaller, SessionDep, SettingsDep
from relevo.core.db import utcnow
from relevo.core.fields import as_naive_utc
from relevo.performance import service
from relevo.performance.schemas import OnlineMetricsRead
from relevo.registry.schemas import MODEL_NAME

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"], route_class=LimitedRoute)


def recorded_so_far(request: Request) -> None:
    """Writes what this process has recorded (answers, request statistics) before figures are
    read, so they hold this process's latest; other processes' arrive within a second."""
    request.app.state.exposures.flush()
    statistics = request.app.state.request_statistics
    if statistics is not None:
        statistics.flush()


RecordedSoFar = Annotated[None, Depends(recorded_so_far)]


@router.get("/online", response_model=OnlineMetricsRead)
def online_metrics(
    _: ReaderCaller,
    __: RecordedSoFar,
    session: SessionDep,
    settings: SettingsDep,
    start: Annotated[
        datetime | None, Query(alias="from", description="Default: a day before `to` (a week by the day)")
    ] = None,
    end: Annotated[datetime | None, Query(alias="to", description="Default: now")] = None,
    bucket: Annotated[service.Bucket, Query(description="The series' step")] = "hour",
    model: Annotated[str | None, Query(pattern=MODEL_NAME, description="Only this model's answers")] = None,
    variant: Annotated[str | None, Query(max_length=100, description="Only this experiment variant's answers")] = None,
) -> OnlineMetricsRead:
    """Per model version and experiment variant, the answers served to a person and what they
    earned; per route, requests and their latency; each per hour or day (docs/api.md)."""
    query = service.online_query(
        start=None if start is None else as_naive_utc(start),
        end=None if end is None else as_naive_utc(end),
        bucket=bucket,
        model=model,
        variant=variant,
        now=utcnow(),
    )
    attribution = timedelta(hours=settings.attribution_hours)
    return OnlineMetricsRead.of(service.online(session=session, query=query, attribution=attribution))
