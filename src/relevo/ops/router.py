"""Routes of operations: liveness, readiness, system status, statistics, Prometheus metrics."""

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from relevo.api.deps import DatabaseDep, LimitedRoute, ReaderCaller, SessionDep, SettingsDep
from relevo.api.errors import error_response
from relevo.core import metrics
from relevo.ops import service
from relevo.ops.prometheus import DatabaseFigures
from relevo.ops.schemas import Health, Readiness, Stats, SystemStatus

router = APIRouter(tags=["operations"], route_class=LimitedRoute)


@router.get("/health", response_model=Health)
@router.get("/health/", response_model=Health, include_in_schema=False)
async def health() -> Health:
    # No I/O: answered on the event loop, without a hand-over to the thread pool.
    return service.health()


@router.get("/ready", response_model=Readiness, include_in_schema=False)
@router.get("/ready/", response_model=Readiness, responses={503: {"description": "Not ready; details say why"}})
def ready(database: DatabaseDep, settings: SettingsDep) -> Readiness | JSONResponse:
    readiness = service.readiness(database=database, settings=settings)
    if readiness.status != "ready":
        return error_response(503, "Not ready", readiness.checks)
    return readiness


@router.get("/status", response_model=SystemStatus)
def system_status(_: ReaderCaller, settings: SettingsDep) -> SystemStatus:
    return service.system_status(data_dir=settings.data_dir)


@router.get("/stats", response_model=Stats)
def stats(_: ReaderCaller, session: SessionDep) -> Stats:
    return service.stats(session=session)


@router.get("/metrics", response_class=Response)
def prometheus_metrics(database: DatabaseDep) -> Response:
    body, content_type = metrics.render(DatabaseFigures(database))
    return Response(body, media_type=content_type)
