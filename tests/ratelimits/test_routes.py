"""Every route of the app is rate-limited but the probes and /metrics, and the table naming
training starts and bulk operations names routes that exist."""

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from relevo.api.deps import LimitedRoute
from relevo.core.rates import LimitClass
from relevo.ratelimits.routes import BULK_OPERATIONS, NEVER_LIMITED, TRAINING_STARTS, limit_classes


def api_routes(app: FastAPI) -> list[APIRoute]:
    """The routes of the API (not the documentation pages, which are plain routes)."""
    routes = (context.original_route for context in iter_route_contexts(app.routes))
    return [route for route in routes if isinstance(route, APIRoute)]


def test_every_api_route_counts_its_requests(app: FastAPI) -> None:
    routes = api_routes(app)

    assert sorted(route.path for route in routes if not isinstance(route, LimitedRoute)) == []
    never = {route.path for route in routes if not limit_classes(route.path, route.methods)}
    assert never == NEVER_LIMITED
    limited = [limit_classes(route.path, route.methods) for route in routes if route.path not in never]
    assert {classes[0] for classes in limited} == {LimitClass.api}


def test_the_training_and_bulk_routes_exist(app: FastAPI) -> None:
    answered = {(method, route.path) for route in api_routes(app) for method in route.methods or ()}

    assert sorted(TRAINING_STARTS - answered) == []
    assert sorted(BULK_OPERATIONS - answered) == []
    assert limit_classes("/api/enhanced-train/", {"POST"}) == (LimitClass.api, LimitClass.training)
    assert limit_classes("/api/v1/datasets", {"POST"}) == (LimitClass.api, LimitClass.bulk)
    assert limit_classes("/api/v1/datasets", {"GET"}) == (LimitClass.api,)
