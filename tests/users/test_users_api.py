"""The users API: the shoppers Relevo knows, listed and read by the shop's own ids."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from relevo.accounts.models import Role
from relevo.users.models import User

USERS = "/api/v1/users"


def add_users(session: Session, *external_ids: str) -> None:
    session.add_all(User(external_id=external_id, attributes={}) for external_id in external_ids)
    session.flush()


def get_ok(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def walk_pages(client: TestClient, headers: dict[str, str], limit: int) -> list[list[str]]:
    """The user ids on every page of the list, following next_cursor to the end."""
    pages, cursor = [], None
    while True:
        params = {"limit": limit} if cursor is None else {"limit": limit, "cursor": cursor}
        page = get_ok(client, USERS, headers, **params)
        pages.append([user["user_id"] for user in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def test_a_user_is_read_by_the_shops_id(client: TestClient, admin_headers: dict, session: Session) -> None:
    session.add(User(external_id="shopper-7", attributes={"tier": "gold", "age": 31}))
    session.flush()

    user = get_ok(client, f"{USERS}/shopper-7", admin_headers)

    assert set(user) == {"user_id", "attributes", "created_at", "erased_at"}
    assert (user["user_id"], user["attributes"]) == ("shopper-7", {"tier": "gold", "age": 31})
    created_at = datetime.fromisoformat(user["created_at"])
    assert user["created_at"].endswith("Z")
    assert abs(datetime.now(UTC) - created_at) < timedelta(hours=1)


def test_users_created_by_events_are_readable(client: TestClient, admin_headers: dict) -> None:
    response = client.post("/api/v1/events", json={"user_id": 42, "product_id": "p1"}, headers=admin_headers)
    assert response.status_code == 201, response.text

    assert get_ok(client, f"{USERS}/42", admin_headers)["attributes"] == {}


def test_an_unknown_user_is_not_found(client: TestClient, admin_headers: dict) -> None:
    response = client.get(f"{USERS}/nobody", headers=admin_headers)

    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "Not found"
    assert "nobody" in body["details"]


def test_users_are_listed_newest_first(client: TestClient, admin_headers: dict, session: Session) -> None:
    add_users(session, "first", "second", "third")

    page = get_ok(client, USERS, admin_headers)

    assert [user["user_id"] for user in page["items"]] == ["third", "second", "first"]
    assert page["next_cursor"] is None
    assert set(page["items"][0]) == {"user_id", "attributes", "created_at", "erased_at"}


def test_the_list_is_empty_without_users(client: TestClient, admin_headers: dict) -> None:
    assert get_ok(client, USERS, admin_headers) == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("limit", "expected"), [(2, [["u5", "u4"], ["u3", "u2"], ["u1"]]), (5, [["u5", "u4", "u3", "u2", "u1"]])]
)
def test_pages_walk_every_user_exactly_once(
    client: TestClient, admin_headers: dict, session: Session, limit: int, expected: list[list[str]]
) -> None:
    add_users(session, "u1", "u2", "u3", "u4", "u5")

    assert walk_pages(client, admin_headers, limit) == expected


@pytest.mark.parametrize("cursor", ["abc", "-3", "99999999999999999999999999"])
def test_a_bad_cursor_is_refused(client: TestClient, admin_headers: dict, cursor: str) -> None:
    response = client.get(USERS, params={"cursor": cursor}, headers=admin_headers)

    assert response.status_code == 400
    assert "cursor" in response.json()["details"]


@pytest.mark.parametrize("limit", ["0", "1001", "many"])
def test_a_bad_limit_is_refused(client: TestClient, admin_headers: dict, limit: str) -> None:
    response = client.get(USERS, params={"limit": limit}, headers=admin_headers)

    assert response.status_code == 422
    assert "limit" in response.json()["details"]


@pytest.mark.parametrize("role", [Role.viewer, Role.service, Role.owner, Role.admin])
def test_only_admins_read_every_shopper(
    client: TestClient, session: Session, make_account: Callable, auth: Callable, role: Role
) -> None:
    add_users(session, "u1")
    headers = auth(make_account(role))

    if role != Role.admin:  # shoppers are every store's: reading them all is an admin's matter
        assert client.get(USERS, headers=headers).status_code == 403
        assert client.get(f"{USERS}/u1", headers=headers).status_code == 403
        return
    assert len(get_ok(client, USERS, headers)["items"]) == 1
    assert get_ok(client, f"{USERS}/u1", headers)["user_id"] == "u1"


@pytest.mark.parametrize("path", [USERS, f"{USERS}/u1"])
def test_anonymous_callers_may_not_read_users(client: TestClient, session: Session, path: str) -> None:
    add_users(session, "u1")

    response = client.get(path)

    assert response.status_code == 401
    assert set(response.json()) == {"error", "details"}
