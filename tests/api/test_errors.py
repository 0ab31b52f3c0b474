"""Every failure answers {"error", "details"} with the right status; no 500 shows its internals."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from relevo.accounts.models import Role
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.server.app import create_app
from tests.errors import assert_error, assert_error_mentioning

MB = 1024 * 1024
SECRET_DETAIL = "password=hunter2 at db-internal.example:5432"


@pytest.fixture
def failing_client(settings: Settings, database: Database) -> Iterator[TestClient]:
    """The real app plus one route that fails the way a bug would."""
    app: FastAPI = create_app(settings, database=database)

    def explode() -> None:
        raise RuntimeError(SECRET_DETAIL)

    app.add_api_route("/explode", explode, tags=["test"])
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    """A request body sent in pieces, so the server learns its length only by reading it."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


# Routing errors


def test_an_unknown_route_is_not_found_naming_the_path(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")

    details = assert_error(response, 404, "Not found")
    assert "/api/v1/no-such-thing" in details


def test_a_wrong_method_is_not_allowed(client: TestClient) -> None:
    response = client.delete("/health")

    details = assert_error(response, 405, "Method not allowed")
    assert "DELETE" in details
    assert "/health" in details
    assert response.headers["allow"] == "GET"


# Bad request bodies and parameters


@pytest.mark.parametrize("body", [b"{not json", b'{"user_id": "u-1",', b"\xff\xfe"])
def test_malformed_json_is_a_bad_request(client: TestClient, admin_headers: dict[str, str], body: bytes) -> None:
    headers = {**admin_headers, "Content-Type": "application/json"}

    response = client.post("/api/v1/events", content=body, headers=headers)

    assert "body" in assert_error(response, 400, "Invalid JSON")


def test_a_validation_error_names_each_bad_field(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/accounts", json={"username": "ab"}, headers=admin_headers)

    details = assert_error(response, 422, "Invalid parameter")
    assert "username:" in details
    assert "password: Field required" in details


def test_a_bad_event_names_the_field(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/events", json={"user_id": "u-1", "product_id": "p-1", "value": "lots"}, headers=admin_headers
    )

    assert "value" in assert_error(response, 422, "Invalid parameter")


def test_a_bad_query_parameter_is_named(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.get("/api/v1/events", params={"since": "yesterday-ish"}, headers=admin_headers)

    assert "since" in assert_error(response, 422, "Invalid parameter")


BEYOND_64_BITS = str(2**63)
# Ids of Relevo's rows and quantities are 32-bit columns on PostgreSQL.
BEYOND_32_BITS = str(2**31)


def validation_status(path: str) -> int:
    """The store API answers bad input with 400, as it documents; the rest with 422."""
    return 400 if path.startswith("/api/v1/store/") else 422


@pytest.mark.parametrize(
    "method, path, name",
    [
        ("GET", "/api/v1/accounts/{n}", "account_id"),
        ("DELETE", "/api/v1/accounts/{n}", "account_id"),
        ("DELETE", "/api/v1/api-keys/{n}", "key_id"),
        ("GET", "/api/v1/store/{n}/", "store_id"),
        ("GET", "/api/v1/store/products/{n}/", "product_id"),
        ("DELETE", "/api/v1/store/products/{n}/", "product_id"),
        ("GET", "/api/v1/datasets/{n}", "dataset_id"),
        ("GET", "/api/v1/models/default/versions/{n}", "version"),
        ("POST", "/api/v1/models/default/versions/{n}/deploy", "version"),
    ],
)
def test_an_id_beyond_its_column_is_refused_naming_the_parameter(
    client: TestClient, admin_headers: dict[str, str], method: str, path: str, name: str
) -> None:
    response = client.request(method, path.format(n=BEYOND_32_BITS), headers=admin_headers)

    assert_error_mentioning(response, validation_status(path), name, "2147483647")


@pytest.mark.parametrize(
    "path", ["/api/v1/store/products/?offset={n}", "/products?offset={n}", "/interactions?offset={n}"]
)
def test_an_offset_beyond_64_bits_is_refused_naming_it(
    client: TestClient, admin_headers: dict[str, str], path: str
) -> None:
    response = client.get(path.format(n=BEYOND_64_BITS), headers=admin_headers)

    assert_error_mentioning(response, validation_status(path), "offset", "9223372036854775807")


@pytest.mark.parametrize(
    "path, body, name",
    [
        ("/api/v1/models/default/train", {"algorithm": "popular", "seed": -1}, "seed"),
        ("/api/v1/models/default/train", {"algorithm": "popular", "seed": 2**32}, "seed"),
        ("/api/v1/models/default/train", {"algorithm": "popular", "dataset_ids": [2**31]}, "dataset_ids"),
        ("/api/enhanced-train/", {"dataset_ids": [2**31]}, "dataset_ids"),
        ("/api/interaction/", {"user_id": 2**63, "product_id": 1}, "user_id"),
        ("/api/v1/store/products/", {"name": "A lamp", "price": 10, "quantity": 2**31}, "quantity"),
        ("/api/v1/store/products/", {"name": "A lamp", "price": 10, "quantity": 1, "store_id": 2**31}, "store_id"),
        ("/api/v1/api-keys", {"name": "k", "scopes": ["read"], "account_id": 2**31}, "account_id"),
        ("/api/v1/jobs", {"user_ids": ["u1"], "filters": {"store_id": 2**31}}, "store_id"),
    ],
)
def test_a_body_integer_out_of_range_is_refused_naming_the_field(
    client: TestClient, admin_headers: dict[str, str], path: str, body: dict, name: str
) -> None:
    response = client.post(path, json=body, headers=admin_headers)

    assert_error_mentioning(response, validation_status(path), name)


def test_an_unauthenticated_call_is_refused_with_the_error_shape(client: TestClient) -> None:
    response = client.post("/api/v1/events", json={"user_id": "u-1", "product_id": "p-1"})

    assert "Authorization" in assert_error(response, 401, "Not authenticated")


def test_a_forbidden_call_is_refused_with_the_error_shape(client: TestClient, make_account, auth) -> None:
    response = client.get("/api/v1/accounts", headers=auth(make_account(Role.viewer)))

    assert "viewer" in assert_error(response, 403, "Permission denied")


# Body size limit (settings.max_upload_mb is 2 in tests)


def test_a_body_declared_too_large_is_refused(
    client: TestClient, settings: Settings, admin_headers: dict[str, str]
) -> None:
    assert settings.max_upload_mb == 2

    response = client.post("/api/v1/events", content=b" " * (3 * MB), headers=admin_headers)

    assert "2 MB" in assert_error(response, 413, "Payload too large")


def test_a_streamed_body_too_large_is_refused(client: TestClient, admin_headers: dict[str, str]) -> None:
    headers = {**admin_headers, "Content-Type": "application/json"}

    response = client.post("/api/v1/events", content=chunks(3 * MB), headers=headers)

    assert response.request.headers.get("content-length") is None
    assert "2 MB" in assert_error(response, 413, "Payload too large")


def test_an_anonymous_oversized_body_is_refused_before_authentication(client: TestClient) -> None:
    response = client.post("/api/v1/events", content=chunks(3 * MB))

    assert_error(response, 413, "Payload too large")


def test_a_streamed_body_under_the_limit_is_accepted(client: TestClient, admin_headers: dict[str, str]) -> None:
    event = b'{"user_id": "u-1", "product_id": "p-1", "event_type": "view"}'
    padded = event + b" " * (MB - len(event))  # JSON allows trailing whitespace
    headers = {**admin_headers, "Content-Type": "application/json"}

    response = client.post("/api/v1/events", content=iter([padded[: MB // 2], padded[MB // 2 :]]), headers=headers)

    assert response.status_code == 201, response.text
    assert response.json()["stored"] == 1


# Unexpected errors


def test_an_unexpected_error_is_a_500_without_internals(failing_client: TestClient) -> None:
    response = failing_client.get("/explode", headers={"X-Request-ID": "trace-me-42"})

    details = assert_error(response, 500, "Internal server error")
    assert "trace-me-42" in details
    for leak in ("RuntimeError", "hunter2", "Traceback", "explode", ".py"):
        assert leak not in response.text
    assert response.headers["x-request-id"] == "trace-me-42"


def test_an_unexpected_error_is_logged_with_its_request_id(
    failing_client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    failing_client.get("/explode", headers={"X-Request-ID": "trace-me-43"})

    [record] = [record for record in caplog.records if record.name == "relevo.api" and record.exc_info]
    assert record.exc_info[0] is RuntimeError
    assert record.request_id == "trace-me-43"


def test_an_unexpected_errors_log_holds_no_password(failing_client: TestClient, capsys: pytest.CaptureFixture) -> None:
    failing_client.get("/explode", params={"password": "hunter3", "token": "t0ken-value"})

    logged = capsys.readouterr().err
    assert "RuntimeError: password=*** at db-internal.example:5432" in logged  # the traceback, redacted
    for secret in ("hunter2", "hunter3", "t0ken-value"):
        assert secret not in logged


def test_a_failing_service_call_is_a_500(
    client: TestClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_) -> None:
        raise KeyError("internal-key-name")

    monkeypatch.setattr("relevo.accounts.service.list_accounts", broken)

    response = client.get("/api/v1/accounts", headers=admin_headers)

    assert_error(response, 500, "Internal server error")
    assert "internal-key-name" not in response.text
    assert response.headers["x-request-id"] in response.json()["details"]


# Request ids


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/health", 200), ("GET", "/nowhere", 404), ("GET", "/api/v1/auth/me", 401), ("PUT", "/health", 405)],
)
def test_every_response_carries_a_request_id(client: TestClient, method: str, path: str, status: int) -> None:
    first = client.request(method, path)
    second = client.request(method, path)

    assert first.status_code == status
    assert len(first.headers["x-request-id"]) >= 16
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_an_oversized_request_carries_a_request_id(client: TestClient) -> None:
    response = client.post("/api/v1/events", content=b" " * (3 * MB), headers={"X-Request-ID": "big-upload-1"})

    assert response.status_code == 413
    assert response.headers["x-request-id"] == "big-upload-1"


def test_a_callers_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "shop-frontend-7f3a"})

    assert response.headers["x-request-id"] == "shop-frontend-7f3a"


def test_a_callers_request_id_is_cut_to_64_characters(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "r" * 500})

    assert response.headers["x-request-id"] == "r" * 64


@pytest.mark.parametrize(
    "url, name",
    [
        ("/api/v1/store/products/?category=a%00b", "category"),
        ("/category-recommendations?category=%00", "category"),
        ("/interaction-recommendations?product_id=1&category=x%00", "category"),
        ("/api/v1/users/a%00b", "path"),
        ("/api/v1/jobs/j%00/results", "path"),
        ("/job-status/j%00", "path"),
        ("/api/v1/events?user_id=u%00", "user_id"),
    ],
)
def test_a_nul_character_in_the_url_is_refused_naming_where(
    client: TestClient, admin_headers: dict[str, str], url: str, name: str
) -> None:
    """PostgreSQL cannot compare text holding NUL: every route refuses it before the database does."""
    response = client.get(url, headers=admin_headers)

    assert assert_error(response, 400, "Invalid parameter") == f"{name}: must not contain NUL characters"
