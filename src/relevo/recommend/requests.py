"""What a recommendation request needs: the served model, a fresh catalog snapshot and the
user's recent events. Each is kept in memory; when one is due for a refresh, the first request
to notice does it (off the event loop) and requests arriving meanwhile use what is kept, so
most requests touch neither the database nor the thread pool, and none queue behind a refresh."""

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from relevo.core.errors import NotFound, NotReady
from relevo.recommend.catalog_view import CatalogSnapshot, Filters
from relevo.recommend.models_in_memory import DeployedModels, ServedModel
from relevo.recommend.service import RecommendationList, Serving, recommend_for_user

TRAIN_FIRST = "no model is deployed yet: train a model first (POST /api/v1/models/{name}/train or /api/enhanced-train/)"
Kept = TypeVar("Kept")


async def served_model(request: Request, name: str | None = None) -> ServedModel:
    """The deployed version of model `name` (by default the serving model). Without one, the
    serving model is not ready yet (503); any other model is one the caller named wrongly (404)."""
    models: DeployedModels = request.app.state.models
    serving_model = request.app.state.settings.serving_model
    name = name or serving_model
    serving: Serving = request.app.state.serving
    served = await _refreshed(serving, ("model", name), models.cached(name), models.needs_check(name), models.get, name)
    if served is None and name != serving_model:
        raise NotFound(f"model: {name!r} has no deployed version (GET /api/v1/models lists them)", error="No model")
    if served is None:
        raise NotReady(TRAIN_FIRST.format(name=name), error="No model")
    return served


async def served_model_if_any(request: Request) -> ServedModel | None:
    """The serving model, or None before any is deployed (for routes that answer anyway)."""
    try:
        return await served_model(request)
    except NotReady:
        return None


async def catalog_snapshot(request: Request) -> CatalogSnapshot:
    serving: Serving = request.app.state.serving
    catalog = serving.catalog
    return await _refreshed(serving, ("catalog",), catalog.cached(), catalog.needs_refresh(), catalog.snapshot)


async def recent_events(request: Request, served: ServedModel) -> None:
    serving: Serving = request.app.state.serving
    recent = serving.recent
    if recent.needs_reading(served.watermark) and ("recent",) not in serving.refreshing:
        await _refreshed(serving, ("recent",), None, True, recent.read, served.watermark)


async def recommendations_for(
    request: Request, served: ServedModel, user_id: str, count: int, filters: Filters, **options: Any
) -> RecommendationList:
    """The user's recommendations from `served`, with the catalog and the user's events as this
    process keeps them (`options`: those of `recommend_for_user`)."""
    snapshot = await catalog_snapshot(request)
    await recent_events(request, served)
    return recommend_for_user(
        served=served,
        serving=request.app.state.serving,
        snapshot=snapshot,
        user_id=user_id,
        count=count,
        filters=filters,
        **options,
    )


async def _refreshed(
    serving: Serving, key: tuple, kept: Kept | None, due: bool, refresh: Callable[..., Kept], *args: Any
) -> Kept | None:
    """`kept`, or what `refresh(*args)` gives when it is due and no other request is at it."""
    if not due or (kept is not None and key in serving.refreshing):
        return kept
    serving.refreshing.add(key)
    try:
        return await run_in_threadpool(refresh, *args)
    finally:
        serving.refreshing.discard(key)
