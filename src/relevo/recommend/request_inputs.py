"""What a recommendation request needs, gathered without blocking the event loop: the
deployed version, a fresh catalog snapshot and the user's events since training. Models and
the catalog are kept in memory; when one is due for a look, the first request to notice looks
(on a worker thread) and requests arriving meanwhile use what is kept, so most requests touch
neither the database nor the thread pool, and none queue behind a refresh."""

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from relevo.core.errors import NotFound, NotReady
from relevo.recommend.answer import AnswerInputs
from relevo.recommend.catalog_view import CatalogSnapshot
from relevo.recommend.deployed import DeployedVersion
from relevo.recommend.state import ServingState
from relevo.recommend.user_events import UserEvents

TRAIN_FIRST = "no model is deployed yet: train a model first (POST /api/v1/models/{name}/train or /api/enhanced-train/)"
Kept = TypeVar("Kept")


def serving_state(request: Request) -> ServingState:
    return request.app.state.serving


async def deployed_version(request: Request, name: str | None = None, number: int | None = None) -> DeployedVersion:
    """The deployed version of model `name` (by default the serving model), or its version
    `number`. Without one, the serving model is not ready yet (503); any other name is one the
    caller got wrong (404)."""
    state = serving_state(request)
    if name is not None and number is not None:
        return await run_in_threadpool(state.versions.pinned, name, number)
    serving_model = request.app.state.settings.serving_model
    name = name or serving_model
    versions = state.versions
    version = await refreshed(
        state, ("model", name), versions.cached(name), versions.needs_check(name), versions.get, name
    )
    if version is not None:
        return version
    names = await run_in_threadpool(versions.deployed_names)
    deployed = f"; deployed models: {', '.join(names)}" if names else ""
    if name != serving_model:
        others = deployed or "; no model is deployed yet"
        raise NotFound(f"model: no model named {name!r} is deployed{others}", error="No model")
    raise NotReady(TRAIN_FIRST.format(name=name) + deployed, error="No model")


async def catalog_snapshot(request: Request) -> CatalogSnapshot:
    state = serving_state(request)
    catalog = state.catalog
    return await refreshed(state, ("catalog",), catalog.cached(), catalog.needs_refresh(), catalog.snapshot)


async def answer_inputs(request: Request, model: str | None = None, number: int | None = None) -> AnswerInputs:
    version = await deployed_version(request, model, number)
    erased = serving_state(request).erased
    await refreshed(serving_state(request), ("erased",), True, erased.needs_refresh(), erased.refresh)
    return AnswerInputs(version=version, snapshot=await catalog_snapshot(request), state=serving_state(request))


async def answer_inputs_if_any(request: Request) -> AnswerInputs | None:
    """For routes that answer anyway before any model is deployed: None then."""
    try:
        return await answer_inputs(request)
    except NotReady:
        return None


async def events_since_training(inputs: AnswerInputs, user_id: str) -> UserEvents:
    """The user's events after the version's watermark (read on a worker thread if need be)."""
    events, watermark = inputs.state.events, inputs.version.watermark
    known = events.known(user_id, watermark)
    return known if known is not None else await run_in_threadpool(events.read, user_id, watermark)


async def refreshed(
    state: ServingState, key: tuple, kept: Kept | None, due: bool, refresh: Callable[..., Kept], *args: Any
) -> Kept | None:
    """`kept`, or what `refresh(*args)` gives when it is due and no other request is at it."""
    if not due or (kept is not None and key in state.refreshing):
        return kept
    state.refreshing.add(key)
    try:
        return await run_in_threadpool(refresh, *args)
    finally:
        state.refreshing.discard(key)
