"""Publishable keys: made for web pages, they send shoppers' events and read recommendations,
from their own origins only, and nothing else; CORS lets their origins call those routes."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from relevo.accounts.models import Role
from tests.errors import assert_error, assert_error_mentioning

SHOP = "https://shop.example"
VIEW = {"user_id": "shopper-1", "product_id": "P1", "event_type": "view"}


def create(client: TestClient, headers: dict[str, str], **fields: object):
    body = {"name": "storefront", "kind": "publishable", "origins": [SHOP], "scopes": ["events:write"], **fields}
    return client.post("/api/v1/api-keys", json=body, headers=headers)


@pytest.fixture
def owner_headers(make_account: Callable, auth: Callable) -> dict[str, str]:
    return auth(make_account(Role.owner))


@pytest.fixture
def page_key(client: TestClient, owner_headers: dict[str, str]) -> dict:
    response = create(client, owner_headers, scopes=["events:write", "recommendations:read"])
    assert response.status_code == 201, response.text
    return response.json()


def from_page(key: dict, origin: str | None = SHOP) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key['key']}"}
    if origin is not None:
        headers["Origin"] = origin
    return headers


def stored_events(client: TestClient, admin_headers: dict[str, str], user_id: str) -> list[dict]:
    response = client.get("/api/v1/events", params={"user_id": user_id}, headers=admin_headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_publishable_key_is_told_apart_and_lists_its_origins(page_key: dict, client: TestClient) -> None:
    assert page_key["key"].startswith("pk_")
    assert page_key["kind"] == "publishable"
    assert page_key["origins"] == [SHOP]
    assert sorted(page_key["scopes"]) == ["events:write", "recommendations:read"]


def test_secret_keys_stay_as_they_were(client: TestClient, owner_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/api-keys", json={"name": "backend", "scopes": ["read"]}, headers=owner_headers)
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "secret"
    assert response.json()["origins"] == []
    assert response.json()["key"].startswith("rlv_")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"origins": []}, "origins"),
        ({"origins": None}, "origins"),
        ({"origins": ["shop.example"]}, "origins"),
        ({"origins": ["https://shop.example/cart"]}, "origins"),
        ({"scopes": ["read"]}, "scopes"),
        ({"scopes": ["events:write", "catalog:write"]}, "scopes"),
        ({"kind": "secret"}, "origins"),
        ({"kind": "open"}, "kind"),
    ],
)
def test_creation_refuses_what_a_publishable_key_cannot_be(
    client: TestClient, owner_headers: dict[str, str], fields: dict, named: str
) -> None:
    response = create(client, owner_headers, **fields)
    assert 400 <= response.status_code < 500, response.text
    assert_error_mentioning(response, response.status_code, named)


def test_it_sends_a_shoppers_events_from_its_origin(
    client: TestClient, page_key: dict, admin_headers: dict[str, str]
) -> None:
    response = client.post("/api/v1/events", json=VIEW, headers=from_page(page_key))
    assert response.status_code == 201, response.text
    [stored] = stored_events(client, admin_headers, "shopper-1")
    assert (stored["product_id"], stored["event_type"]) == ("P1", "view")


@pytest.mark.parametrize("origin", [None, "https://evil.example", "http://shop.example"])
def test_it_is_refused_from_any_other_origin(
    client: TestClient, page_key: dict, admin_headers: dict[str, str], origin: str | None
) -> None:
    response = client.post("/api/v1/events", json=VIEW, headers=from_page(page_key, origin))
    assert_error_mentioning(response, 403, "Origin" if origin is None else origin)
    assert stored_events(client, admin_headers, "shopper-1") == []


@pytest.mark.parametrize("event_type", ["purchase", "rating", "refund"])
def test_it_sends_no_purchase_nor_other_backend_event(
    client: TestClient, page_key: dict, admin_headers: dict[str, str], event_type: str
) -> None:
    events = [VIEW, {**VIEW, "event_type": event_type}]
    response = client.post("/api/v1/events", json=events, headers=from_page(page_key))
    assert_error_mentioning(response, 403, "event_type", event_type)
    assert stored_events(client, admin_headers, "shopper-1") == []


def test_it_sends_a_few_events_at_a_time(client: TestClient, page_key: dict, admin_headers: dict[str, str]) -> None:
    assert client.post("/api/v1/events", json=[VIEW] * 20, headers=from_page(page_key)).status_code == 201
    refused = client.post("/api/v1/events", json=[{**VIEW, "user_id": "other"}] * 21, headers=from_page(page_key))
    assert_error_mentioning(refused, 400, "events", "20")
    assert stored_events(client, admin_headers, "other") == []


@pytest.mark.parametrize("event_type", ["view", "click", "add_to_cart", "remove_from_cart"])
def test_it_sends_every_event_a_shopper_makes(client: TestClient, page_key: dict, event_type: str) -> None:
    response = client.post("/api/v1/events", json={**VIEW, "event_type": event_type}, headers=from_page(page_key))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/events", None),
        ("POST", "/purchases", {"user_id": "shopper-1", "product_id": "P1"}),
        ("POST", "/interactions", {"user_id": "shopper-1", "product_id": "P1"}),
        ("GET", "/api/v1/store/products/", None),
        ("POST", "/api/v1/store/products/", {"name": "x"}),
        ("GET", "/api/v1/datasets", None),
        ("GET", "/api/v1/api-keys", None),
        ("GET", "/api/v1/auth/me", None),
        ("GET", "/api/v1/recommendations/shopper-1/explain", None),
    ],
)
def test_it_calls_no_other_route(client: TestClient, page_key: dict, method: str, path: str, body: object) -> None:
    response = client.request(method, path, json=body, headers=from_page(page_key))
    assert_error_mentioning(response, 403, "publishable key")


def test_it_reads_recommendations(client: TestClient, page_key: dict) -> None:
    assert client.get("/api/v1/popular", headers=from_page(page_key)).status_code == 200
    response = client.get("/api/v1/recommendations/shopper-1", headers=from_page(page_key))
    assert response.status_code in (200, 503), response.text  # 503: no model deployed yet
    assert_error(client.get("/api/v1/popular", headers=from_page(page_key, "https://evil.example")), 403)


def test_a_viewers_publishable_key_cannot_send_events(
    client: TestClient, make_account: Callable, auth: Callable
) -> None:
    response = create(client, auth(make_account(Role.viewer)))
    assert_error_mentioning(response, 403, "events:write")


def test_cors_allows_its_origins_on_its_routes_only(client: TestClient, page_key: dict) -> None:
    preflight = {
        "Origin": SHOP,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization",
    }
    answer = client.options("/api/v1/events", headers=preflight)
    assert answer.headers.get("access-control-allow-origin") == SHOP
    answer = client.options("/api/v1/store/products/", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers
    answer = client.options("/api/v1/events", headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in answer.headers


def test_a_revoked_keys_origins_are_no_longer_allowed(
    client: TestClient, page_key: dict, owner_headers: dict[str, str]
) -> None:
    assert client.delete(f"/api/v1/api-keys/{page_key['id']}", headers=owner_headers).status_code == 200
    preflight = {"Origin": SHOP, "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/api/v1/events", headers=preflight).headers
    assert_error(client.post("/api/v1/events", json=VIEW, headers=from_page(page_key)), 401)
