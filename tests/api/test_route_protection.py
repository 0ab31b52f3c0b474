"""Every registered route either is public by design or refuses an anonymous caller with 401."""

import re

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from relevo.core.config import Settings

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/health/"),
    ("GET", "/ready"),
    ("GET", "/ready/"),
    ("GET", "/metrics"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/openapi.json"),
    ("POST", "/login"),
    ("POST", "/api/v1/auth/token"),
}
# Recommendation reads: public unless RELEVO_PUBLIC_RECOMMENDATIONS is false.
READS = {
    ("GET", "/api/v1/recommendations/{user_id}"),
    ("GET", "/api/v1/products/{product_id}/similar"),
    ("GET", "/api/v1/products/{product_id}/bought-together"),
    ("GET", "/api/v1/popular"),
    ("GET", "/api/recommendations/{user_id}/"),
    ("GET", "/recommendations/{user_id}"),
    ("GET", "/recommendations"),
    ("GET", "/interaction-recommendations"),
    ("GET", "/category-recommendations"),
}


def all_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, including routes of included routers."""
    routes = []
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                routes.append((method, route.path))
    return routes


def test_every_non_public_route_refuses_anonymous_callers(client: TestClient, app: FastAPI) -> None:
    checked = 0
    for method, path in all_routes(app):
        if (method, path) in PUBLIC | READS:
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        response = client.request(method, concrete)
        assert response.status_code == 401, f"{method} {path} answered {response.status_code} without a token"
        assert response.json()["error"] in ("Not authenticated",), f"{method} {path}: {response.json()}"
        checked += 1
    assert checked >= 30


def test_every_non_public_route_refuses_a_forged_token(client: TestClient, app: FastAPI) -> None:
    headers = {"Authorization": "Bearer not-a-real-token"}
    for method, path in all_routes(app):
        if (method, path) in PUBLIC:
            continue
        response = client.request(method, re.sub(r"\{[^}]+\}", "1", path), headers=headers)
        assert response.status_code == 401, f"{method} {path} accepted a forged token"


def test_public_routes_answer_without_a_token(client: TestClient) -> None:
    for method, path in sorted(PUBLIC):
        if method != "GET" or path == "/docs/oauth2-redirect":
            continue
        response = client.get(path)
        assert response.status_code == 200, f"{path} answered {response.status_code}"


def test_every_api_route_is_tagged_by_domain(app: FastAPI) -> None:
    routes = [route for route in iter_route_contexts(app.routes) if isinstance(route.original_route, APIRoute)]
    assert len(routes) > 30
    assert [route.path for route in routes if not route.tags] == []


def test_recommendation_reads_are_public_by_default(client: TestClient, app: FastAPI) -> None:
    routes = {route for route in all_routes(app) if route in READS}
    assert routes == READS
    for _, path in sorted(routes):
        response = client.get(
            re.sub(r"\{[^}]+\}", "1", path), params={"user_id": "1", "product_id": "1", "category": "x"}
        )
        assert response.status_code != 401, f"{path}: {response.status_code}"


def test_recommendation_reads_can_require_a_token(client: TestClient, settings: Settings) -> None:
    settings.public_recommendations = False
    for _, path in sorted(READS):
        response = client.get(
            re.sub(r"\{[^}]+\}", "1", path), params={"user_id": "1", "product_id": "1", "category": "x"}
        )
        assert response.status_code == 401, f"{path}: {response.status_code}"


def test_every_route_that_reads_a_token_documents_the_same_authorization_header(app: FastAPI) -> None:
    schema = app.openapi()
    assert list(schema["components"]["securitySchemes"]) == ["APIKeyHeader"]
    assert schema["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "Authorization"
    for method, path in READS:
        assert schema["paths"][path][method.lower()]["security"] == [{"APIKeyHeader": []}], path


def test_a_read_checks_its_caller_before_its_parameters(client: TestClient, settings: Settings) -> None:
    settings.public_recommendations = False
    response = client.get("/api/recommendations/1/", params={"count": 0})
    assert response.status_code == 401
    settings.public_recommendations = True
    response = client.get("/api/recommendations/1/", params={"count": 0})
    assert response.status_code == 422
    assert response.json()["details"]
