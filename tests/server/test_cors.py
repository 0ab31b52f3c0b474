"""Browser calls (CORS): the origins RELEVO_CORS_ORIGINS lists get the headers, others none."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.server.app import create_app

SHOP = "https://shop.example"
OTHER = "https://elsewhere.example"


@pytest.fixture
def cors_client(settings: Settings, database: Database) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"cors_origins": f"{SHOP}, http://127.0.0.1:8080"})
    with TestClient(create_app(configured, database=database), raise_server_exceptions=False) as client:
        yield client


def preflight(client: TestClient, origin: str) -> dict[str, str]:
    response = client.options(
        "/api/v1/events",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    return {name.lower(): value for name, value in response.headers.items()}


def test_a_preflight_from_an_allowed_origin_is_answered(cors_client: TestClient) -> None:
    headers = preflight(cors_client, SHOP)
    assert headers["access-control-allow-origin"] == SHOP
    assert set(headers["access-control-allow-methods"].split(", ")) == {"GET", "POST", "OPTIONS"}
    assert "authorization" in headers["access-control-allow-headers"].lower()
    assert "content-type" in headers["access-control-allow-headers"].lower()


def test_a_simple_request_from_an_allowed_origin_may_read_the_answer(cors_client: TestClient) -> None:
    response = cors_client.get("/api/v1/popular", headers={"Origin": "http://127.0.0.1:8080"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://127.0.0.1:8080"
    exposed = response.headers["access-control-expose-headers"].lower()
    assert {"x-request-id", "ratelimit", "ratelimit-policy", "retry-after"} <= set(exposed.split(", "))


def test_another_origin_gets_no_cors_headers(cors_client: TestClient) -> None:
    assert not any(name.startswith("access-control-") for name in preflight(cors_client, OTHER))
    response = cors_client.get("/api/v1/popular", headers={"Origin": OTHER})
    assert not any(name.lower().startswith("access-control-") for name in response.headers)


def test_no_origin_is_allowed_by_default(client: TestClient) -> None:
    assert not any(name.startswith("access-control-") for name in preflight(client, SHOP))
    response = client.get("/api/v1/popular", headers={"Origin": SHOP})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("wrong", ["shop.example", "ftp://shop.example", "https://shop.example/path", "https://"])
def test_a_setting_that_is_not_an_origin_is_refused(wrong: str) -> None:
    with pytest.raises(ValidationError, match="cors_origins"):
        Settings(cors_origins=f"{SHOP},{wrong}")


def test_origins_are_written_as_browsers_send_them() -> None:
    assert Settings(cors_origins=" HTTPS://Shop.Example/ ,http://localhost:3000").cors_origin_list == (
        SHOP,
        "http://localhost:3000",
    )
