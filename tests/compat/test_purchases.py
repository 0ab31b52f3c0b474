"""The purchases API's POST /purchases: a user's purchases, stored as purchase events."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.accounts.models import Role
from relevo.catalog.models import Product
from relevo.core.config import Settings
from relevo.users.models import User
from tests.errors import assert_error_mentioning as assert_error
from tests.events.stored import stored_rows

PURCHASES = "/purchases"
EXAMPLE_ID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
EXAMPLE_BODY = {"user_id": EXAMPLE_ID, "products": [EXAMPLE_ID]}
ADDED = {"status": "purchases_added"}


def stored_purchases(session: Session) -> list[tuple[str, str, str]]:
    """(user id, product id, event type) of every stored event, in arrival order."""
    return [(row.user_id, row.product_id, row.event_type) for row in stored_rows(session)]


def add_purchases(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> None:
    response = client.post(PURCHASES, json=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == ADDED


def test_the_example_request_adds_a_purchase(client: TestClient, admin_headers: dict, session: Session) -> None:
    add_purchases(client, admin_headers, EXAMPLE_BODY)

    assert stored_purchases(session) == [(EXAMPLE_ID, EXAMPLE_ID, "purchase")]


def test_each_product_becomes_one_purchase(client: TestClient, admin_headers: dict, session: Session) -> None:
    add_purchases(client, admin_headers, {"user_id": "user123", "products": ["a", "b", "c"]})

    assert stored_purchases(session) == [
        ("user123", "a", "purchase"),
        ("user123", "b", "purchase"),
        ("user123", "c", "purchase"),
    ]


def test_unknown_products_join_the_catalog_bare(client: TestClient, admin_headers: dict, session: Session) -> None:
    add_purchases(client, admin_headers, {"user_id": "user123", "products": ["new-product"]})

    product = session.scalar(select(Product).where(Product.external_id == "new-product"))
    assert product is not None
    assert (product.name, product.store_id) == (None, None)


def test_purchases_accumulate_over_requests(client: TestClient, admin_headers: dict, session: Session) -> None:
    add_purchases(client, admin_headers, {"user_id": "user123", "products": ["a"]})
    add_purchases(client, admin_headers, {"user_id": "user123", "products": ["a", "b"]})

    assert [product for _, product, _ in stored_purchases(session)] == ["a", "a", "b"]
    assert len(session.scalars(select(User)).all()) == 1
    assert len(session.scalars(select(Product)).all()) == 2


def test_integer_ids_are_stored_as_text(client: TestClient, admin_headers: dict, session: Session) -> None:
    add_purchases(client, admin_headers, {"user_id": 7, "products": [11, "12"]})

    assert stored_purchases(session) == [("7", "11", "purchase"), ("7", "12", "purchase")]


def test_purchases_are_readable_as_events(client: TestClient, admin_headers: dict) -> None:
    add_purchases(client, admin_headers, EXAMPLE_BODY)

    response = client.get("/api/v1/events", params={"user_id": EXAMPLE_ID}, headers=admin_headers)

    assert [(item["product_id"], item["event_type"]) for item in response.json()["items"]] == [(EXAMPLE_ID, "purchase")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": EXAMPLE_ID, "products": []}, "products"),
        ({"user_id": EXAMPLE_ID}, "products"),
        ({"products": [EXAMPLE_ID]}, "user_id"),
        ({"user_id": "", "products": [EXAMPLE_ID]}, "user_id"),
        ({"user_id": EXAMPLE_ID, "products": [""]}, "products"),
        ({"user_id": EXAMPLE_ID, "products": EXAMPLE_ID}, "products"),
    ],
    ids=["empty products", "no products", "no user", "empty user", "empty product id", "products not a list"],
)
def test_bad_purchases_are_refused(
    client: TestClient, admin_headers: dict, session: Session, body: dict[str, Any], field: str
) -> None:
    assert_error(client.post(PURCHASES, json=body, headers=admin_headers), 422, field)
    assert stored_purchases(session) == []


def test_more_products_than_one_batch_holds_are_refused(
    client: TestClient, admin_headers: dict, session: Session, settings: Settings
) -> None:
    products = [f"p{i}" for i in range(settings.max_event_batch + 1)]

    response = client.post(PURCHASES, json={"user_id": "user123", "products": products}, headers=admin_headers)

    assert_error(response, 400)
    assert f"at most {settings.max_event_batch}" in response.json()["details"]
    assert stored_purchases(session) == []


@pytest.mark.parametrize("role", [Role.service, Role.owner, Role.admin])
def test_writers_may_add_purchases(client: TestClient, make_account: Callable, auth: Callable, role: Role) -> None:
    add_purchases(client, auth(make_account(role)), EXAMPLE_BODY)


def test_viewers_may_not_add_purchases(
    client: TestClient, make_account: Callable, auth: Callable, session: Session
) -> None:
    assert_error(client.post(PURCHASES, json=EXAMPLE_BODY, headers=auth(make_account(Role.viewer))), 403)
    assert stored_purchases(session) == []


def test_anonymous_callers_may_not_add_purchases(client: TestClient, session: Session) -> None:
    assert_error(client.post(PURCHASES, json=EXAMPLE_BODY), 401)
    assert stored_purchases(session) == []
