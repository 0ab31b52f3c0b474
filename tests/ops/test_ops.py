"""Operations: liveness, readiness, system status (the model-serving API's), data statistics,
Prometheus metrics."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from relevo import __version__
from relevo.accounts.models import Role
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.server.app import create_app
from tests.conftest import PASSWORD
from tests.errors import assert_error

CLOSED_REDIS = "redis://127.0.0.1:1/0"


def client_for(settings: Settings, database: Database) -> TestClient:
    return TestClient(create_app(settings, database=database), raise_server_exceptions=False)


def ingest(client: TestClient, headers: dict[str, str], events: list[dict]) -> None:
    response = client.post("/api/v1/events", json=events, headers=headers)
    assert response.status_code == 201, response.text


def metric_value(client: TestClient, sample_name: str, **labels: str) -> float:
    """The value of one Prometheus sample, 0 if it has not been recorded yet."""
    response = client.get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


# Liveness and readiness


@pytest.mark.parametrize("path", ["/health", "/health/"])
def test_health_is_public(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "version": __version__}


@pytest.mark.parametrize("path", ["/ready", "/ready/"])
def test_ready_checks_the_database_and_migrations(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


def test_ready_checks_redis_when_configured(settings: Settings, database: Database, redis_url: str) -> None:
    with client_for(settings.model_copy(update={"redis_url": redis_url}), database) as client:
        response = client.get("/ready/")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "redis": "ok"}


def test_ready_fails_when_redis_is_unreachable(settings: Settings, database: Database) -> None:
    with client_for(settings.model_copy(update={"redis_url": CLOSED_REDIS}), database) as client:
        response = client.get("/ready/")

    checks = assert_error(response, 503, "Not ready")
    assert checks["database"] == "ok"
    assert checks["redis"].startswith("unreachable")


@pytest.fixture
def unmigrated_database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    yield database
    database.dispose()


def test_ready_fails_when_migrations_are_behind(settings: Settings, unmigrated_database: Database) -> None:
    with client_for(settings, unmigrated_database) as client:
        response = client.get("/ready/")

    checks = assert_error(response, 503, "Not ready")
    assert checks["database"] == "ok"
    assert "relevo db upgrade" in checks["migrations"]


def test_ready_fails_when_the_database_is_unreachable(settings: Settings) -> None:
    database = Database("postgresql+psycopg://relevo@127.0.0.1:1/relevo")
    try:
        with client_for(settings, database) as client:
            response = client.get("/ready/")
    finally:
        database.dispose()

    checks = assert_error(response, 503, "Not ready")
    assert checks["database"].startswith("unreachable")
    assert "relevo@" not in str(checks)


# The model-serving API: GET /status


def test_status_needs_authentication(client: TestClient) -> None:
    assert_error(client.get("/status"), 401, "Not authenticated")


def test_status_answers_in_the_model_serving_api_shape(
    client: TestClient, make_account: Callable, auth: Callable
) -> None:
    response = client.get("/status", headers=auth(make_account(Role.viewer)))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "memory", "cpu_usage", "disk_usage"}
    assert body["status"] == "healthy"
    memory, disk = body["memory"], body["disk_usage"]
    assert set(memory) == {"total", "available", "percent", "used", "free"}
    assert set(disk) == {"total", "used", "free", "percent"}
    assert all(isinstance(memory[name], int) for name in ("total", "available", "used", "free"))
    assert all(isinstance(disk[name], int) for name in ("total", "used", "free"))
    assert 0 < memory["available"] <= memory["total"]
    assert 0 < disk["free"] <= disk["total"]
    assert 0 <= memory["percent"] <= 100
    assert 0 <= disk["percent"] <= 100
    assert body["cpu_usage"].endswith("%")
    assert 0 <= float(body["cpu_usage"].removesuffix("%")) <= 100


def test_a_login_token_reads_the_status(client: TestClient, make_account: Callable) -> None:
    account = make_account(Role.admin)
    token = client.post("/login", params={"username": account.username, "password": PASSWORD}).json()["access_token"]

    response = client.get("/status", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


# GET /stats


def test_stats_needs_authentication(client: TestClient) -> None:
    assert_error(client.get("/stats"), 401, "Not authenticated")


def test_stats_count_products_users_and_events_by_type(client: TestClient, admin_headers: dict[str, str]) -> None:
    before = client.get("/stats", headers=admin_headers).json()

    ingest(
        client,
        admin_headers,
        [
            {"user_id": "stats-u1", "product_id": "stats-p1", "event_type": "view"},
            {"user_id": "stats-u1", "product_id": "stats-p2", "event_type": "view"},
            {"user_id": "stats-u2", "product_id": "stats-p1", "event_type": "purchase", "value": 2},
        ],
    )
    response = client.get("/stats", headers=admin_headers)

    assert response.status_code == 200
    after = response.json()
    assert after["events"] - before["events"] == 3
    assert after["users"] - before["users"] == 2
    assert after["products"] - before["products"] == 2
    by_type = after["events_by_type"]
    assert by_type["view"] - before["events_by_type"].get("view", 0) == 2
    assert by_type["purchase"] - before["events_by_type"].get("purchase", 0) == 1
    assert sum(by_type.values()) == after["events"]
    assert after["accounts"] >= 1
    assert {"stores", "datasets"} <= set(after)


def test_stats_do_not_count_a_duplicate_event_twice(client: TestClient, admin_headers: dict[str, str]) -> None:
    event = {"user_id": "stats-u3", "product_id": "stats-p3", "event_type": "click", "event_id": "stats-dup-1"}
    before = client.get("/stats", headers=admin_headers).json()

    ingest(client, admin_headers, [event])
    ingest(client, admin_headers, [event])

    after = client.get("/stats", headers=admin_headers).json()
    assert after["events"] - before["events"] == 1
    assert after["events_by_type"]["click"] - before["events_by_type"].get("click", 0) == 1


# GET /metrics


def test_metrics_are_public_prometheus_text(client: TestClient) -> None:
    client.get("/health")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"relevo_http_requests", "relevo_http_request_duration_seconds"} <= names


def test_metrics_count_requests_by_route_template(client: TestClient, admin_headers: dict[str, str]) -> None:
    labels = {"method": "POST", "route": "/api/v1/events", "status": "201"}
    before = metric_value(client, "relevo_http_requests_total", **labels)

    ingest(client, admin_headers, [{"user_id": "m-u1", "product_id": "m-p1"}])

    assert metric_value(client, "relevo_http_requests_total", **labels) == before + 1


def test_metrics_label_a_path_by_its_template_not_its_values(
    client: TestClient, make_account: Callable, admin_headers: dict[str, str]
) -> None:
    account = make_account(Role.viewer)
    labels = {"method": "GET", "route": "/api/v1/accounts/{account_id}", "status": "200"}
    before = metric_value(client, "relevo_http_requests_total", **labels)

    assert client.get(f"/api/v1/accounts/{account.id}", headers=admin_headers).status_code == 200

    assert metric_value(client, "relevo_http_requests_total", **labels) == before + 1
    assert f'route="/api/v1/accounts/{account.id}"' not in client.get("/metrics").text


def test_metrics_count_failures_with_their_status(client: TestClient) -> None:
    labels = {"method": "GET", "route": "/status", "status": "401"}
    before = metric_value(client, "relevo_http_requests_total", **labels)

    client.get("/status")

    assert metric_value(client, "relevo_http_requests_total", **labels) == before + 1


def test_metrics_put_unknown_paths_under_one_label(client: TestClient) -> None:
    labels = {"method": "GET", "route": "unmatched", "status": "404"}
    before = metric_value(client, "relevo_http_requests_total", **labels)

    client.get("/no/such/page-1")
    client.get("/no/such/page-2")

    assert metric_value(client, "relevo_http_requests_total", **labels) == before + 2
    assert "/no/such/page" not in client.get("/metrics").text


def test_metrics_record_latency_histograms_per_route(client: TestClient) -> None:
    labels = {"method": "GET", "route": "/health"}
    before = metric_value(client, "relevo_http_request_duration_seconds_count", **labels)

    client.get("/health")

    assert metric_value(client, "relevo_http_request_duration_seconds_count", **labels) == before + 1
    assert metric_value(client, "relevo_http_request_duration_seconds_bucket", le="+Inf", **labels) == before + 1
    assert metric_value(client, "relevo_http_request_duration_seconds_sum", **labels) > 0
    text = client.get("/metrics").text
    assert 'relevo_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health"}' in text
