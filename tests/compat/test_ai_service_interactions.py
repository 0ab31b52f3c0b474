"""The AI service's interaction routes: POST /interactions, POST /ai/interactions and
GET /interactions, guarded by the shared secret header or a token."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.accounts.models import Role
from relevo.catalog.models import Product
from relevo.core.config import Settings
from tests.conftest import CLIENT_SECRET
from tests.errors import assert_error_mentioning as assert_error
from tests.events.stored import stored_rows

SAVE_ROUTES = ["/interactions", "/ai/interactions"]
SAVED = {"message": "Interaction saved successfully"}
EXAMPLE_BODY = {"user_id": "user123", "product_id": "product456", "category": "Electronics"}


@pytest.fixture
def secret_headers(settings: Settings) -> dict[str, str]:
    assert settings.client_secret_header == "CLIENT-HEADER-SECRET"
    return {"CLIENT-HEADER-SECRET": CLIENT_SECRET}


def save(client: TestClient, headers: dict[str, str], body: dict[str, Any], route: str = "/interactions") -> None:
    response = client.post(route, json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json() == SAVED


def interactions(client: TestClient, headers: dict[str, str], **params: int) -> list[dict[str, Any]]:
    response = client.get("/interactions", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def stored_events(session: Session) -> list[tuple[str, str, str]]:
    """(user id, product id, event type) of every stored event, in arrival order."""
    return [(row.user_id, row.product_id, row.event_type) for row in stored_rows(session)]


def category_of(session: Session, external_id: str) -> str | None:
    session.expire_all()
    return session.scalar(select(Product.category).where(Product.external_id == external_id))


# Saving interactions


@pytest.mark.parametrize("route", SAVE_ROUTES)
def test_the_example_interaction_is_saved(
    client: TestClient, secret_headers: dict, session: Session, route: str
) -> None:
    save(client, secret_headers, EXAMPLE_BODY, route)

    assert stored_events(session) == [("user123", "product456", "view")]
    assert category_of(session, "product456") == "Electronics"


@pytest.mark.parametrize("route", SAVE_ROUTES)
def test_an_existing_category_is_kept(client: TestClient, secret_headers: dict, session: Session, route: str) -> None:
    session.add(Product(external_id="product456", name="Phone", category="Phones", attributes={}))
    session.flush()

    save(client, secret_headers, EXAMPLE_BODY, route)

    assert category_of(session, "product456") == "Phones"


def test_a_known_product_without_category_gets_one(client: TestClient, secret_headers: dict, session: Session) -> None:
    session.add(Product(external_id="product456", name="Phone", attributes={}))
    session.flush()

    save(client, secret_headers, EXAMPLE_BODY)

    assert category_of(session, "product456") == "Electronics"
    assert len(session.scalars(select(Product)).all()) == 1


@pytest.mark.parametrize("category", [None, ""])
def test_the_category_is_optional(
    client: TestClient, secret_headers: dict, session: Session, category: str | None
) -> None:
    save(client, secret_headers, {"user_id": "user123", "product_id": "product456", "category": category})

    assert stored_events(session) == [("user123", "product456", "view")]
    assert category_of(session, "product456") is None


def test_an_interaction_type_may_be_given(client: TestClient, secret_headers: dict, session: Session) -> None:
    save(client, secret_headers, {**EXAMPLE_BODY, "interaction_type": "Purchase"})

    assert stored_events(session) == [("user123", "product456", "purchase")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"product_id": "product456"}, "user_id"),
        ({"user_id": "user123"}, "product_id"),
        ({**EXAMPLE_BODY, "user_id": ""}, "user_id"),
        ({**EXAMPLE_BODY, "category": "x" * 256}, "category"),
        ({**EXAMPLE_BODY, "interaction_type": "Bad Type!"}, "interaction_type"),
    ],
    ids=["no user", "no product", "empty user", "long category", "bad type"],
)
def test_a_bad_interaction_is_refused(
    client: TestClient, secret_headers: dict, session: Session, body: dict[str, Any], field: str
) -> None:
    response = client.post("/interactions", json=body, headers=secret_headers)

    assert_error(response, 422)
    assert field in response.json()["details"]
    assert stored_events(session) == []


# Listing interactions


def test_interactions_are_listed_newest_first(client: TestClient, secret_headers: dict) -> None:
    save(client, secret_headers, EXAMPLE_BODY)
    save(client, secret_headers, {"user_id": "user123", "product_id": "product789"}, "/ai/interactions")
    save(client, secret_headers, {"user_id": "user9", "product_id": "product456", "interaction_type": "click"})

    listed = interactions(client, secret_headers)

    assert [(item["user_id"], item["product_id"], item["interaction_type"]) for item in listed] == [
        ("user9", "product456", "click"),
        ("user123", "product789", "view"),
        ("user123", "product456", "view"),
    ]
    assert [item["category"] for item in listed] == ["Electronics", None, "Electronics"]


def test_a_listed_interaction_has_the_ai_service_fields(client: TestClient, secret_headers: dict) -> None:
    save(client, secret_headers, EXAMPLE_BODY)

    [item] = interactions(client, secret_headers)

    assert set(item) == {"user_id", "product_id", "category", "interaction_type", "timestamp"}
    assert item["timestamp"].endswith("Z")
    assert datetime.fromisoformat(item["timestamp"]).tzinfo is not None


def test_events_from_other_routes_are_listed_too(client: TestClient, secret_headers: dict, admin_headers: dict) -> None:
    posted = client.post("/api/v1/events", json={"user_id": "u1", "product_id": "p1"}, headers=admin_headers)
    assert posted.status_code == 201, posted.text

    assert [item["product_id"] for item in interactions(client, secret_headers)] == ["p1"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"limit": 2}, ["p4", "p3"]),
        ({"limit": 2, "offset": 2}, ["p2", "p1"]),
        ({"offset": 3}, ["p1"]),
        ({"offset": 4}, []),
    ],
)
def test_interactions_are_paged_with_limit_and_offset(
    client: TestClient, secret_headers: dict, params: dict[str, int], expected: list[str]
) -> None:
    for product_id in ("p1", "p2", "p3", "p4"):
        save(client, secret_headers, {"user_id": "user123", "product_id": product_id})

    assert [item["product_id"] for item in interactions(client, secret_headers, **params)] == expected


@pytest.mark.parametrize(("param", "value"), [("limit", 0), ("limit", 10_001), ("offset", -1)])
def test_bad_paging_is_refused(client: TestClient, secret_headers: dict, param: str, value: int) -> None:
    response = client.get("/interactions", params={param: value}, headers=secret_headers)

    assert_error(response, 422)
    assert param in response.json()["details"]


# Who may call them


@pytest.mark.parametrize("route", SAVE_ROUTES)
@pytest.mark.parametrize("secret", ["wrong-secret", "", CLIENT_SECRET.upper()])
def test_a_wrong_secret_is_refused(client: TestClient, session: Session, route: str, secret: str) -> None:
    response = client.post(route, json=EXAMPLE_BODY, headers={"CLIENT-HEADER-SECRET": secret})

    assert_error(response, 401)
    assert "CLIENT-HEADER-SECRET" in response.json()["details"]
    assert stored_events(session) == []


def test_a_wrong_secret_is_refused_even_with_a_token(client: TestClient, admin_headers: dict) -> None:
    headers = {**admin_headers, "CLIENT-HEADER-SECRET": "wrong-secret"}

    assert_error(client.post("/interactions", json=EXAMPLE_BODY, headers=headers), 401)
    assert_error(client.get("/interactions", headers=headers), 401)


def test_a_wrong_secret_may_not_list(client: TestClient) -> None:
    assert_error(client.get("/interactions", headers={"CLIENT-HEADER-SECRET": "wrong-secret"}), 401)


@pytest.mark.parametrize("route", SAVE_ROUTES)
def test_no_secret_and_no_token_is_refused(client: TestClient, session: Session, route: str) -> None:
    assert_error(client.post(route, json=EXAMPLE_BODY), 401)
    assert_error(client.get("/interactions"), 401)
    assert stored_events(session) == []


@pytest.mark.parametrize("route", SAVE_ROUTES)
@pytest.mark.parametrize("role", [Role.service, Role.owner, Role.admin])
def test_a_writers_token_may_save(
    client: TestClient, make_account: Callable, auth: Callable, session: Session, route: str, role: Role
) -> None:
    save(client, auth(make_account(role)), EXAMPLE_BODY, route)

    assert stored_events(session) == [("user123", "product456", "view")]


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_either_token_scheme_is_accepted(
    client: TestClient, make_account: Callable, auth: Callable, scheme: str
) -> None:
    save(client, auth(make_account(Role.service), scheme=scheme), EXAMPLE_BODY)


@pytest.mark.parametrize("route", SAVE_ROUTES)
def test_a_viewers_token_may_not_save(
    client: TestClient, make_account: Callable, auth: Callable, session: Session, route: str
) -> None:
    assert_error(client.post(route, json=EXAMPLE_BODY, headers=auth(make_account(Role.viewer))), 403)
    assert stored_events(session) == []


def test_an_admins_token_may_list(client: TestClient, admin_headers: dict, secret_headers: dict) -> None:
    save(client, secret_headers, EXAMPLE_BODY)

    assert len(interactions(client, admin_headers)) == 1


@pytest.mark.parametrize("role", [Role.viewer, Role.owner, Role.service])
def test_other_tokens_may_not_list_every_shoppers_interactions(
    client: TestClient, make_account: Callable, auth: Callable, role: Role
) -> None:
    assert_error(client.get("/interactions", headers=auth(make_account(role))), 403)


def test_the_secret_header_name_is_configurable(client: TestClient, settings: Settings, session: Session) -> None:
    settings.client_secret_header = "X-Internal-Secret"

    save(client, {"X-Internal-Secret": CLIENT_SECRET}, EXAMPLE_BODY)
    assert_error(client.post("/interactions", json=EXAMPLE_BODY, headers={"CLIENT-HEADER-SECRET": CLIENT_SECRET}), 401)

    assert len(stored_events(session)) == 1


@pytest.mark.parametrize("secret", ["", "anything"])
def test_without_a_configured_secret_the_header_opens_nothing(
    client: TestClient, settings: Settings, session: Session, secret: str
) -> None:
    settings.client_secret = None

    assert_error(client.post("/interactions", json=EXAMPLE_BODY, headers={"CLIENT-HEADER-SECRET": secret}), 401)
    assert_error(client.get("/interactions", headers={"CLIENT-HEADER-SECRET": secret}), 401)
    assert stored_events(session) == []
