"""Every route, walked from the app and its OpenAPI document: who it refuses.

One table says, for each route, the scope it needs and what an owner gets on another owner's
object; the walk calls every route anonymously, as a viewer, as an owner on another owner's
objects and with a key lacking that scope, and checks each refusal. A route without an entry
fails the walk, so a new route must say who may call it.
"""

import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from relevo.accounts.models import Account, Role
from relevo.accounts.scopes import ALL_SCOPES, ROLE_SCOPES, Scope
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.jobs import service as jobs_service
from relevo.jobs.models import JobKind
from tests.errors import assert_error

PUBLIC = "public"  # anyone, always
READ = "recommendation read"  # anyone while RELEVO_PUBLIC_RECOMMENDATIONS; else recommendations:read
SIGNED_IN = "signed in"  # any valid token, whatever its scopes


@dataclass(frozen=True)
class Rule:
    """Who may call a route: `scope` (or PUBLIC, READ, SIGNED_IN); `others`: the status an owner
    gets on another owner's object named in the path or body (None: the route acts on nothing
    owned, or on what every reader may see); `body`: a valid body, for checks made after the
    body is read."""

    scope: Scope | str
    others: int | None = None
    body: Callable[["Objects"], dict[str, Any]] | None = field(default=None, compare=False)


def _csv(kind: str, text: str) -> Callable[["Objects"], dict[str, Any]]:
    return lambda objects: {
        "files": {"file": ("rows.csv", io.BytesIO(text.encode()), "text/csv")},
        "data": {"dataset_type": kind},
    }


def _json(make: Callable[["Objects"], Any]) -> Callable[["Objects"], dict[str, Any]]:
    return lambda objects: {"json": make(objects)}


ITEMS_CSV = _csv("items", "product_id,name,store_id\nOTHERS-P,Mine now,\n")
STORE_BODY = _json(lambda objects: {"name": "Renamed"})
PRODUCT_BODY = _json(lambda objects: {"name": "Mine now", "price": "1.00", "quantity": 1, "store_id": objects.store})
AI_PRODUCT_BODY = _json(lambda objects: {"product_id": "OTHERS-P", "product_name": "Mine now"})

ROUTES: dict[tuple[str, str], Rule] = {
    # Operations, documentation and logging in.
    ("GET", "/health"): Rule(PUBLIC),
    ("GET", "/health/"): Rule(PUBLIC),
    ("GET", "/ready"): Rule(PUBLIC),
    ("GET", "/ready/"): Rule(PUBLIC),
    ("GET", "/metrics"): Rule(PUBLIC),
    ("GET", "/docs"): Rule(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Rule(PUBLIC),
    ("GET", "/redoc"): Rule(PUBLIC),
    ("GET", "/relevo.js"): Rule(PUBLIC),
    ("GET", "/openapi.json"): Rule(PUBLIC),
    ("POST", "/login"): Rule(PUBLIC),
    ("POST", "/api/v1/auth/token"): Rule(PUBLIC),
    ("GET", "/status"): Rule(Scope.read),
    ("GET", "/stats"): Rule(Scope.read),
    # Recommendation reads.
    ("GET", "/api/v1/recommendations/{user_id}"): Rule(READ),
    ("GET", "/api/v1/recommendations/{user_id}/explain"): Rule(Scope.models_manage),
    ("GET", "/api/v1/products/{product_id}/similar"): Rule(READ),
    ("GET", "/api/v1/products/{product_id}/bought-together"): Rule(READ),
    ("GET", "/api/v1/popular"): Rule(READ),
    ("GET", "/api/recommendations/{user_id}/"): Rule(READ),
    ("GET", "/recommendations/{user_id}"): Rule(READ),
    ("GET", "/recommendations"): Rule(READ),
    ("GET", "/interaction-recommendations"): Rule(READ),
    ("GET", "/category-recommendations"): Rule(READ),
    ("POST", "/recommendations/generate"): Rule(Scope.recommendations_read),
    # Behaviour in; the behaviour log out (every shopper's: admins only).
    ("POST", "/api/v1/events"): Rule(Scope.events_write),
    ("GET", "/api/v1/events"): Rule(Scope.admin),
    ("POST", "/api/interaction/"): Rule(Scope.events_write),
    ("POST", "/api/streaming-event/"): Rule(Scope.events_write),
    ("POST", "/purchases"): Rule(Scope.events_write),
    ("POST", "/interactions"): Rule(Scope.events_write),
    ("POST", "/ai/interactions"): Rule(Scope.events_write),
    ("GET", "/interactions"): Rule(Scope.admin),
    ("GET", "/api/v1/users"): Rule(Scope.admin),
    ("GET", "/api/v1/users/{user_id}"): Rule(Scope.admin),
    ("DELETE", "/api/v1/users/{user_id}"): Rule(Scope.admin),
    ("GET", "/api/v1/users/{user_id}/export"): Rule(Scope.admin),
    ("GET", "/api/v1/privacy/audit"): Rule(Scope.admin),
    # The catalog: an owner's own stores and products.
    ("GET", "/api/v1/store/"): Rule(Scope.read),
    ("POST", "/api/v1/store/"): Rule(Scope.catalog_write, body=STORE_BODY),
    ("GET", "/api/v1/store/{store_id}/"): Rule(Scope.read, others=403),
    ("PUT", "/api/v1/store/{store_id}/"): Rule(Scope.catalog_write, others=403, body=STORE_BODY),
    ("PATCH", "/api/v1/store/{store_id}/"): Rule(Scope.catalog_write, others=403, body=STORE_BODY),
    ("DELETE", "/api/v1/store/{store_id}/"): Rule(Scope.catalog_write, others=403),
    ("GET", "/api/v1/store/products/"): Rule(Scope.read),
    ("POST", "/api/v1/store/products/"): Rule(Scope.catalog_write, others=403, body=PRODUCT_BODY),
    ("GET", "/api/v1/store/products/most-popular/"): Rule(Scope.read),
    # A product's page: any reader may view any product (and counts a view), as shoppers do.
    ("GET", "/api/v1/store/products/{product_id}/"): Rule(Scope.read),
    ("PUT", "/api/v1/store/products/{product_id}/"): Rule(Scope.catalog_write, others=403, body=STORE_BODY),
    ("PATCH", "/api/v1/store/products/{product_id}/"): Rule(Scope.catalog_write, others=403, body=STORE_BODY),
    ("DELETE", "/api/v1/store/products/{product_id}/"): Rule(Scope.catalog_write, others=403),
    ("POST", "/products"): Rule(Scope.catalog_write, others=403, body=AI_PRODUCT_BODY),
    ("POST", "/ai/products"): Rule(Scope.catalog_write, others=403, body=AI_PRODUCT_BODY),
    ("GET", "/products"): Rule(Scope.read),
    # CSV uploads (an items file here; interactions and users need events:write, tested apart).
    ("POST", "/api/v1/datasets"): Rule(Scope.catalog_write, others=201, body=ITEMS_CSV),
    ("POST", "/api/upload-dataset/"): Rule(Scope.catalog_write, others=201, body=ITEMS_CSV),
    ("GET", "/api/v1/datasets"): Rule(Scope.read),
    ("GET", "/api/v1/datasets/{dataset_id}"): Rule(Scope.read, others=404),
    # Jobs: each caller's own.
    ("POST", "/api/v1/jobs"): Rule(Scope.jobs_manage),
    ("GET", "/api/v1/jobs"): Rule(Scope.read),
    ("GET", "/api/v1/jobs/{job_id}"): Rule(Scope.read, others=404),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): Rule(Scope.jobs_manage, others=404),
    ("DELETE", "/api/v1/jobs/{job_id}"): Rule(Scope.jobs_manage, others=404),
    ("GET", "/api/v1/jobs/{job_id}/results"): Rule(Scope.read, others=404),
    ("GET", "/api/v1/jobs/{job_id}/export"): Rule(Scope.read, others=404),
    ("POST", "/generate-recommendations"): Rule(Scope.jobs_manage),
    ("GET", "/job-status/{job_id}"): Rule(Scope.read, others=404),
    ("GET", "/jobs"): Rule(Scope.read),
    ("DELETE", "/job/{job_id}"): Rule(Scope.jobs_manage, others=404),
    # The shared models: read by any reader, changed only with models:manage.
    ("GET", "/api/v1/models"): Rule(Scope.read),
    ("POST", "/api/v1/models/{name}/train"): Rule(Scope.models_manage),
    ("GET", "/api/v1/models/{name}/versions"): Rule(Scope.read),
    ("GET", "/api/v1/models/{name}/versions/{version}"): Rule(Scope.read),
    ("POST", "/api/v1/models/{name}/versions/{version}/deploy"): Rule(Scope.models_manage),
    ("POST", "/api/v1/models/{name}/rollback"): Rule(Scope.models_manage),
    ("DELETE", "/api/v1/models/{name}/versions/{version}"): Rule(Scope.models_manage),
    ("GET", "/api/v1/models/{name}/metrics"): Rule(Scope.read),
    # Inference: any reader asks a predictor about customers.
    ("GET", "/inference"): Rule(Scope.read),
    ("POST", "/api/v1/registry/models/{name}/versions/{version}/predict"): Rule(Scope.read),
    ("POST", "/api/enhanced-train/"): Rule(Scope.models_manage),
    # The registry: read by any reader; uploads, downloads and changes with models:manage; the
    # audit log by admins.
    ("GET", "/api/v1/registry/models"): Rule(Scope.read),
    ("GET", "/api/v1/registry/models/{name}"): Rule(Scope.read),
    ("GET", "/api/v1/registry/models/{name}/versions"): Rule(Scope.read),
    ("POST", "/api/v1/registry/models/{name}/versions"): Rule(Scope.models_manage),
    ("GET", "/api/v1/registry/models/{name}/versions/{reference}"): Rule(Scope.read),
    ("GET", "/api/v1/registry/models/{name}/versions/{reference}/download"): Rule(Scope.models_manage),
    ("POST", "/api/v1/registry/models/{name}/versions/{reference}/deploy"): Rule(Scope.models_manage),
    ("POST", "/api/v1/registry/models/{name}/rollback"): Rule(Scope.models_manage),
    ("POST", "/api/v1/registry/models/{name}/versions/{reference}/archive"): Rule(Scope.models_manage),
    ("DELETE", "/api/v1/registry/models/{name}/versions/{reference}"): Rule(Scope.models_manage),
    ("GET", "/api/v1/registry/models/{name}/aliases"): Rule(Scope.read),
    ("PUT", "/api/v1/registry/models/{name}/aliases/{alias}"): Rule(Scope.models_manage),
    ("DELETE", "/api/v1/registry/models/{name}/aliases/{alias}"): Rule(Scope.models_manage),
    ("GET", "/api/v1/registry/audit"): Rule(Scope.admin),
    ("POST", "/upload_model"): Rule(Scope.models_manage),
    ("GET", "/get_model"): Rule(Scope.models_manage),
    ("GET", "/api/model-metrics/"): Rule(Scope.read),
    # Online metrics: the shop's figures, read by any reader.
    ("GET", "/api/performance-metrics/"): Rule(Scope.read),
    ("GET", "/api/v1/metrics/online"): Rule(Scope.read),
    # Experiments: read by any reader, run only with models:manage (they decide what serves).
    ("POST", "/api/v1/experiments"): Rule(Scope.models_manage),
    ("GET", "/api/v1/experiments"): Rule(Scope.read),
    ("GET", "/api/v1/experiments/plan"): Rule(Scope.read),
    ("GET", "/api/v1/experiments/{experiment_id}"): Rule(Scope.read),
    ("PATCH", "/api/v1/experiments/{experiment_id}"): Rule(Scope.models_manage),
    ("POST", "/api/v1/experiments/{experiment_id}/start"): Rule(Scope.models_manage),
    ("POST", "/api/v1/experiments/{experiment_id}/pause"): Rule(Scope.models_manage),
    ("POST", "/api/v1/experiments/{experiment_id}/stop"): Rule(Scope.models_manage),
    ("DELETE", "/api/v1/experiments/{experiment_id}"): Rule(Scope.models_manage),
    ("GET", "/api/v1/experiments/{experiment_id}/results"): Rule(Scope.read),
    ("POST", "/api/ab-test/create/"): Rule(Scope.models_manage),
    # Accounts and keys.
    ("GET", "/api/v1/auth/me"): Rule(SIGNED_IN),
    ("GET", "/api/v1/accounts"): Rule(Scope.admin),
    ("POST", "/api/v1/accounts"): Rule(Scope.admin),
    ("GET", "/api/v1/accounts/{account_id}"): Rule(Scope.admin),
    ("PATCH", "/api/v1/accounts/{account_id}"): Rule(Scope.admin),
    ("DELETE", "/api/v1/accounts/{account_id}"): Rule(Scope.admin),
    ("GET", "/api/v1/api-keys"): Rule(Scope.keys_manage),
    ("POST", "/api/v1/api-keys"): Rule(Scope.keys_manage),
    ("DELETE", "/api/v1/api-keys/{key_id}"): Rule(Scope.keys_manage, others=404),
    ("GET", "/api/v1/accounts/{account_id}/rate-limits"): Rule(Scope.admin),
    ("PUT", "/api/v1/accounts/{account_id}/rate-limits"): Rule(Scope.admin),
    ("DELETE", "/api/v1/accounts/{account_id}/rate-limits"): Rule(Scope.admin),
    ("GET", "/api/v1/api-keys/{key_id}/rate-limits"): Rule(Scope.admin),
    ("PUT", "/api/v1/api-keys/{key_id}/rate-limits"): Rule(Scope.admin),
    ("DELETE", "/api/v1/api-keys/{key_id}/rate-limits"): Rule(Scope.admin),
}
PRIVATE = {route for route, rule in ROUTES.items() if rule.scope not in (PUBLIC, READ)}


def all_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, including routes of included routers."""
    routes = []
    for route in iter_route_contexts(app.routes):
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                routes.append((method, route.path))
    return routes


@dataclass
class Objects:
    """Another owner's things, whose ids fill the walked paths."""

    account: int
    store: int
    product: int
    job: str
    dataset: int
    key: int

    def path(self, path: str) -> str:
        values = {
            "store_id": self.store,
            "product_id": self.product,
            "job_id": self.job,
            "dataset_id": self.dataset,
            "key_id": self.key,
            "account_id": self.account,
            "name": "default",
            "version": 1,
            "reference": 1,
            "alias": "champion",
            "user_id": "U1",
            "experiment_id": "some-experiment",
        }
        return re.sub(r"\{([^}]+)\}", lambda match: str(values[match.group(1)]), path)


def call(client: TestClient, objects: Objects, method: str, path: str, headers: dict[str, str]) -> Any:
    rule = ROUTES[(method, path)]
    options = rule.body(objects) if rule.body else {}
    return client.request(method, objects.path(path), headers=headers, **options)


@pytest.fixture
def others(client: TestClient, make_account: Callable[..., Account], auth: Callable, database: Database) -> Objects:
    """An owner with a store, a product, a batch job, a dataset and an API key."""
    owner = make_account(Role.owner)
    headers = auth(owner)

    def made(response: Any, name: str = "id") -> Any:
        assert response.status_code == 201, response.text
        return response.json()[name]

    store = made(client.post("/api/v1/store/", json={"name": "Theirs"}, headers=headers))
    product_body = {"product_id": "OTHERS-P", "name": "Theirs", "price": "1.00", "quantity": 1, "store_id": store}
    product = made(client.post("/api/v1/store/products/", json=product_body, headers=headers))
    events_csv = {"file": ("e.csv", io.BytesIO(b"user_id,product_id\nU1,OTHERS-P\n"), "text/csv")}
    dataset = made(
        client.post("/api/v1/datasets", files=events_csv, data={"dataset_type": "interactions"}, headers=headers),
        "dataset_id",
    )
    key = made(client.post("/api/v1/api-keys", json={"name": "theirs", "scopes": ["read"]}, headers=headers))
    with database.transaction() as session:
        job = jobs_service.create(
            session=session, kind=JobKind.generate, params={}, created_by=owner.id, max_pending=None
        ).id
    return Objects(account=owner.id, store=store, product=product, job=job, dataset=dataset, key=key)


def key_headers(client: TestClient, headers: dict[str, str], scopes: frozenset[Scope]) -> dict[str, str]:
    response = client.post(
        "/api/v1/api-keys", json={"name": f"k-{uuid.uuid4().hex[:6]}", "scopes": sorted(scopes)}, headers=headers
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


def test_every_route_has_one_rule(app: FastAPI) -> None:
    routes = set(all_routes(app))
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert documented <= routes
    assert sorted(routes - set(ROUTES)) == [], "routes without a rule in ROUTES"
    assert sorted(set(ROUTES) - routes) == [], "rules for routes that do not exist"


def test_anonymous_callers_are_refused_by_every_private_route(client: TestClient, others: Objects) -> None:
    for method, path in sorted(PRIVATE):
        response = call(client, others, method, path, {})
        assert_error(response, 401, "Not authenticated")


def test_a_forged_token_is_refused_by_every_route_that_reads_one(client: TestClient, others: Objects) -> None:
    forged = {"Authorization": "Bearer not-a-real-token"}
    for (method, path), rule in sorted(ROUTES.items()):
        if rule.scope != PUBLIC:
            assert_error(call(client, others, method, path, forged), 401)


def test_viewers_are_refused_what_their_role_does_not_hold(
    client: TestClient, others: Objects, make_account: Callable[..., Account], auth: Callable
) -> None:
    headers = auth(make_account(Role.viewer))
    refused = 0
    for method, path in sorted(PRIVATE):
        scope = ROUTES[(method, path)].scope
        if scope == SIGNED_IN or scope in ROLE_SCOPES[Role.viewer]:
            continue
        assert_error(call(client, others, method, path, headers), 403)
        refused += 1
    assert refused >= 35


def test_owners_are_refused_other_owners_objects(
    client: TestClient, others: Objects, make_account: Callable[..., Account], auth: Callable
) -> None:
    owner = make_account(Role.owner)
    headers = auth(owner)
    client.post("/api/v1/store/", json={"name": "Mine"}, headers=headers)
    checked = 0
    for (method, path), rule in sorted(ROUTES.items()):
        if rule.others is None:
            continue
        response = call(client, others, method, path, headers)
        if rule.others == 201:  # an upload: taken, with the other owner's rows refused by line
            assert response.status_code == 201, response.text
            assert response.json()["rows_rejected"] == 1, response.json()
            assert "not yours" in response.json()["rejected_lines"][0]["reason"]
        else:
            assert_error(response, rule.others)
        checked += 1
    assert checked >= 20
    theirs = client.get("/api/v1/store/products/", headers=auth(make_account(Role.admin))).json()
    assert [product["name"] for product in theirs if product["product_id"] == "OTHERS-P"] == ["Theirs"]


def test_a_key_is_refused_every_route_needing_a_scope_it_lacks(
    client: TestClient, others: Objects, make_account: Callable[..., Account], auth: Callable
) -> None:
    admin = auth(make_account(Role.admin))
    for scope in sorted(ALL_SCOPES):
        headers = key_headers(client, admin, ALL_SCOPES - {scope})
        routes = sorted(route for route in PRIVATE if ROUTES[route].scope == scope)
        assert routes, f"no route needs {scope}"
        for method, path in routes:
            details = assert_error(call(client, others, method, path, headers), 403)
            assert isinstance(details, str) and details, (method, path)


def test_uploads_of_interactions_and_users_need_events_write(
    client: TestClient, make_account: Callable[..., Account], auth: Callable
) -> None:
    admin = auth(make_account(Role.admin))
    headers = key_headers(client, admin, ALL_SCOPES - {Scope.events_write})
    for kind, text in (("interactions", "user_id,product_id\nU1,P1\n"), ("users", "user_id\nU1\n")):
        files = {"file": ("rows.csv", io.BytesIO(text.encode()), "text/csv")}
        response = client.post("/api/v1/datasets", files=files, data={"dataset_type": kind}, headers=headers)
        assert "events:write" in assert_error(response, 403)


def test_public_routes_answer_without_a_token(client: TestClient) -> None:
    for (method, path), rule in sorted(ROUTES.items()):
        if rule.scope != PUBLIC or method != "GET" or path == "/docs/oauth2-redirect":
            continue
        response = client.get(path)
        assert response.status_code == 200, f"{path} answered {response.status_code}"


def test_every_api_route_is_tagged_by_domain(app: FastAPI) -> None:
    routes = [route for route in iter_route_contexts(app.routes) if isinstance(route.original_route, APIRoute)]
    assert len(routes) > 30
    assert [route.path for route in routes if not route.tags] == []


READS = sorted(route for route, rule in ROUTES.items() if rule.scope == READ)


def test_recommendation_reads_are_public_by_default(client: TestClient) -> None:
    for _, path in READS:
        response = client.get(
            re.sub(r"\{[^}]+\}", "1", path), params={"user_id": "1", "product_id": "1", "category": "x"}
        )
        assert response.status_code != 401, f"{path}: {response.status_code}"


def test_recommendation_reads_can_require_a_token_with_their_scope(
    client: TestClient, settings: Settings, make_account: Callable[..., Account], auth: Callable
) -> None:
    settings.public_recommendations = False
    admin = auth(make_account(Role.admin))
    lacking = key_headers(client, admin, ALL_SCOPES - {Scope.recommendations_read})
    holding = key_headers(client, admin, frozenset({Scope.recommendations_read}))
    params = {"user_id": "1", "product_id": "1", "category": "x"}
    for _, path in READS:
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        assert_error(client.get(concrete, params=params), 401)
        assert_error(client.get(concrete, params=params, headers=lacking), 403)
        assert client.get(concrete, params=params, headers=holding).status_code not in (401, 403), path


def test_the_openapi_document_marks_reads_as_optionally_authenticated(client: TestClient, settings: Settings) -> None:
    schema = client.get("/openapi.json").json()
    assert list(schema["components"]["securitySchemes"]) == ["APIKeyHeader"]
    assert schema["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "Authorization"
    for method, path in READS:
        assert schema["paths"][path][method.lower()]["security"] == [{}, {"APIKeyHeader": []}], path
    for method, path in sorted(PRIVATE):
        operation = schema["paths"].get(path, {}).get(method.lower())
        if operation is not None and ROUTES[(method, path)].scope not in (PUBLIC,):
            assert {} not in operation.get("security", [{"APIKeyHeader": []}]), path


def test_a_server_whose_reads_need_a_token_documents_them_so(settings: Settings, database: Database) -> None:
    from relevo.server.app import create_app

    settings.public_recommendations = False
    schema = create_app(settings, database=database).openapi()
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
