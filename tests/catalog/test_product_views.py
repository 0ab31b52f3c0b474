"""Whose views of a product, through the store API, are a shopper's `view` events: every view
counts in views_count, but only shoppers' views are events (staff look at products to run
the shop)."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.accounts.models import Account, Role
from relevo.events.models import Event
from relevo.users.models import User
from tests.catalog.shop import create_product, create_store, view


def headers_for(client: TestClient, account: Account, auth: Callable, token: str) -> dict[str, str]:
    """A login token of `account`, or an API key of it holding only `read`."""
    if token == "login":
        return auth(account)
    response = client.post("/api/v1/api-keys", json={"name": "browsing", "scopes": ["read"]}, headers=auth(account))
    assert response.status_code == 201, response.text
    return {"Authorization": f"Token {response.json()['key']}"}


@pytest.fixture
def product(client: TestClient, owner_headers: dict) -> dict:
    return create_product(client, owner_headers, create_store(client, owner_headers)["id"])


def view_events(session: Session, product: dict) -> list[tuple[str, str]]:
    query = (
        select(User.external_id, Event.event_type)
        .join(User, User.id == Event.user_id)
        .where(Event.product_id == product["id"])
        .order_by(Event.id)
    )
    return [tuple(row) for row in session.execute(query)]


@pytest.mark.parametrize("token", ["login", "key"])
@pytest.mark.parametrize("role", [Role.admin, Role.owner])
def test_staff_views_count_but_are_no_shoppers_events(
    client: TestClient,
    make_account: Callable[..., Account],
    auth: Callable,
    session: Session,
    product: dict,
    role: Role,
    token: str,
) -> None:
    staff = make_account(role)
    headers = headers_for(client, staff, auth, token)

    counts = [view(client, headers, product["id"])["views_count"] for _ in range(2)]

    assert counts == [1, 2]
    assert view_events(session, product) == []
    # No shopper is made for the account either: it would show up in the training data.
    assert session.scalar(select(func.count()).select_from(User).where(User.account_id == staff.id)) == 0


def test_the_products_own_owner_is_staff_too(
    client: TestClient, owner: Account, owner_headers: dict, session: Session, product: dict
) -> None:
    assert view(client, owner_headers, product["id"])["views_count"] == 1
    assert view_events(session, product) == []


@pytest.mark.parametrize("token", ["login", "key"])
def test_a_shoppers_views_are_view_events(
    client: TestClient,
    make_account: Callable[..., Account],
    auth: Callable,
    session: Session,
    product: dict,
    token: str,
) -> None:
    shopper = make_account(Role.viewer)
    headers = headers_for(client, shopper, auth, token)

    counts = [view(client, headers, product["id"])["views_count"] for _ in range(2)]

    assert counts == [1, 2]
    shopper_id = f"account:{shopper.username}"
    assert view_events(session, product) == [(shopper_id, "view"), (shopper_id, "view")]


def test_staff_and_shoppers_views_add_up_but_only_shoppers_are_events(
    client: TestClient,
    make_account: Callable[..., Account],
    auth: Callable,
    admin_headers: dict,
    owner_headers: dict,
    session: Session,
    product: dict,
) -> None:
    shopper = make_account(Role.viewer)

    view(client, admin_headers, product["id"])
    view(client, auth(shopper), product["id"])
    body = view(client, owner_headers, product["id"])

    assert body["views_count"] == 3
    assert view_events(session, product) == [(f"account:{shopper.username}", "view")]
    listed = client.get("/api/v1/events", params={"event_type": "view"}, headers=admin_headers).json()["items"]
    assert [event["user_id"] for event in listed] == [f"account:{shopper.username}"]
