"""The store API: who lists, creates, reads, changes and deletes which stores."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.accounts.models import Account, Role
from relevo.catalog.models import Product
from relevo.events.models import Event
from tests.catalog.shop import (
    NO_PERMISSION,
    STORES,
    assert_error,
    assert_invalid_field,
    create_product,
    create_store,
    listed_ids,
    product_url,
    store_url,
    view,
)


@pytest.fixture
def other_owner_headers(make_account: Callable[..., Account], auth: Callable) -> dict[str, str]:
    return auth(make_account(Role.owner))


# Creating


def test_create_sets_the_caller_as_owner(client: TestClient, owner: Account, owner_headers: dict) -> None:
    response = client.post(STORES, json={"name": "New Store Name"}, headers=owner_headers)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "name", "owner", "created_at"}
    assert isinstance(body["id"], int)
    assert body["name"] == "New Store Name"
    assert body["owner"] == owner.username
    assert body["created_at"].endswith("Z")
    assert datetime.fromisoformat(body["created_at"]).tzinfo == UTC


def test_create_ignores_an_owner_in_the_body(
    client: TestClient, owner: Account, owner_headers: dict, make_account: Callable[..., Account]
) -> None:
    someone_else = make_account(Role.owner)

    response = client.post(STORES, json={"name": "Mine", "owner": someone_else.username}, headers=owner_headers)

    assert response.status_code == 201
    assert response.json()["owner"] == owner.username


def test_admin_can_create_a_store_of_their_own(
    client: TestClient, make_account: Callable[..., Account], auth: Callable
) -> None:
    admin = make_account(Role.admin)

    store = create_store(client, auth(admin), "Flagship")

    assert store["owner"] == admin.username


def test_token_scheme_of_the_store_api_is_accepted(client: TestClient, owner: Account, auth: Callable) -> None:
    response = client.post(STORES, json={"name": "Token Store"}, headers=auth(owner, scheme="Token"))

    assert response.status_code == 201
    assert response.json()["owner"] == owner.username


@pytest.mark.parametrize("role", [Role.viewer, Role.service])
def test_accounts_that_own_no_stores_cannot_create_one(
    client: TestClient, make_account: Callable[..., Account], auth: Callable, role: Role
) -> None:
    response = client.post(STORES, json={"name": "Not allowed"}, headers=auth(make_account(role)))

    assert_error(response, 403, "Only store owners or Admins can create stores.")


@pytest.mark.parametrize("body", [{"name": ""}, {}, {"name": None}, {"name": "x" * 256}])
def test_create_refuses_a_bad_name(client: TestClient, owner_headers: dict, body: dict) -> None:
    response = client.post(STORES, json=body, headers=owner_headers)

    assert_invalid_field(response, "name")


def test_create_refuses_malformed_json(client: TestClient, owner_headers: dict) -> None:
    headers = {**owner_headers, "Content-Type": "application/json"}

    response = client.post(STORES, content=b'{"name": ', headers=headers)

    assert response.status_code == 400
    assert response.json()["error"] == "Invalid JSON"


def test_anonymous_callers_are_refused(client: TestClient) -> None:
    assert client.get(STORES).status_code == 401
    assert client.post(STORES, json={"name": "x"}).status_code == 401


# Listing


def test_owners_list_only_their_own_stores(client: TestClient, owner_headers: dict, other_owner_headers: dict) -> None:
    first = create_store(client, owner_headers, "First")
    second = create_store(client, owner_headers, "Second")
    create_store(client, other_owner_headers, "Not mine")

    response = client.get(STORES, headers=owner_headers)

    assert response.status_code == 200
    assert response.json() == [first, second]


def test_admins_list_every_store(
    client: TestClient, owner_headers: dict, other_owner_headers: dict, admin_headers: dict
) -> None:
    mine = create_store(client, owner_headers, "Mine")
    theirs = create_store(client, other_owner_headers, "Theirs")

    response = client.get(STORES, headers=admin_headers)

    assert response.status_code == 200
    assert [store["id"] for store in response.json()] == [mine["id"], theirs["id"]]


def test_viewers_list_no_stores(
    client: TestClient, owner_headers: dict, make_account: Callable[..., Account], auth: Callable
) -> None:
    create_store(client, owner_headers)

    response = client.get(STORES, headers=auth(make_account(Role.viewer)))

    assert response.status_code == 200
    assert response.json() == []


# Reading


def test_owner_reads_their_store(client: TestClient, owner_headers: dict) -> None:
    store = create_store(client, owner_headers, "Store Name")

    response = client.get(store_url(store["id"]), headers=owner_headers)

    assert response.status_code == 200
    assert response.json() == store


def test_reading_someone_elses_store_is_forbidden(
    client: TestClient, owner_headers: dict, other_owner_headers: dict
) -> None:
    store = create_store(client, other_owner_headers)

    response = client.get(store_url(store["id"]), headers=owner_headers)

    assert_error(response, 403, NO_PERMISSION)


def test_viewer_cannot_read_a_store(
    client: TestClient, owner_headers: dict, make_account: Callable[..., Account], auth: Callable
) -> None:
    store = create_store(client, owner_headers)

    response = client.get(store_url(store["id"]), headers=auth(make_account(Role.viewer)))

    assert_error(response, 403, NO_PERMISSION)


def test_missing_store_is_not_found(client: TestClient, admin_headers: dict) -> None:
    response = client.get(store_url(999_999), headers=admin_headers)

    assert_error(response, 404, "store 999999 does not exist")


def test_store_id_must_be_a_number(client: TestClient, admin_headers: dict) -> None:
    response = client.get(f"{STORES}abc/", headers=admin_headers)

    assert_invalid_field(response, "store_id")


# Updating


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_owner_renames_their_store(client: TestClient, owner: Account, owner_headers: dict, method: str) -> None:
    store = create_store(client, owner_headers, "Store Name")

    response = client.request(
        method, store_url(store["id"]), json={"name": "Updated Store Name"}, headers=owner_headers
    )

    assert response.status_code == 200
    assert response.json() == {**store, "name": "Updated Store Name"}
    assert client.get(store_url(store["id"]), headers=owner_headers).json()["name"] == "Updated Store Name"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_changing_someone_elses_store_is_forbidden(
    client: TestClient, owner_headers: dict, other_owner_headers: dict, method: str
) -> None:
    store = create_store(client, other_owner_headers, "Theirs")

    response = client.request(method, store_url(store["id"]), json={"name": "Hijacked"}, headers=owner_headers)

    assert_error(response, 403, NO_PERMISSION)
    assert client.get(store_url(store["id"]), headers=other_owner_headers).json()["name"] == "Theirs"


def test_admin_renames_any_store_and_the_owner_stays(
    client: TestClient, owner: Account, owner_headers: dict, admin_headers: dict
) -> None:
    store = create_store(client, owner_headers, "Before")

    response = client.put(store_url(store["id"]), json={"name": "After"}, headers=admin_headers)

    assert response.status_code == 200
    assert response.json()["name"] == "After"
    assert response.json()["owner"] == owner.username


def test_update_refuses_an_empty_name(client: TestClient, owner_headers: dict) -> None:
    store = create_store(client, owner_headers)

    response = client.put(store_url(store["id"]), json={"name": ""}, headers=owner_headers)

    assert_invalid_field(response, "name")


def test_updating_a_missing_store_is_not_found(client: TestClient, admin_headers: dict) -> None:
    response = client.put(store_url(999_999), json={"name": "Nobody"}, headers=admin_headers)

    assert_error(response, 404, "store 999999 does not exist")


# Deleting


def test_owner_deletes_their_store(client: TestClient, owner_headers: dict) -> None:
    store = create_store(client, owner_headers)

    response = client.delete(store_url(store["id"]), headers=owner_headers)

    assert response.status_code == 200
    assert response.json() == {"detail": "Store deleted successfully."}
    assert_error(client.get(store_url(store["id"]), headers=owner_headers), 404, f"store {store['id']} does not exist")
    assert client.get(STORES, headers=owner_headers).json() == []


def test_deleting_someone_elses_store_is_forbidden(
    client: TestClient, owner_headers: dict, other_owner_headers: dict
) -> None:
    store = create_store(client, other_owner_headers)

    response = client.delete(store_url(store["id"]), headers=owner_headers)

    assert_error(response, 403, NO_PERMISSION)
    assert client.get(store_url(store["id"]), headers=other_owner_headers).status_code == 200


def test_admin_deletes_any_store(client: TestClient, owner_headers: dict, admin_headers: dict) -> None:
    store = create_store(client, owner_headers)

    response = client.delete(store_url(store["id"]), headers=admin_headers)

    assert response.json() == {"detail": "Store deleted successfully."}
    assert client.get(STORES, headers=owner_headers).json() == []


def test_deleting_a_missing_store_is_not_found(client: TestClient, admin_headers: dict) -> None:
    response = client.delete(store_url(999_999), headers=admin_headers)

    assert_error(response, 404, "store 999999 does not exist")


def test_deleting_a_store_deletes_its_products_but_keeps_their_events(
    client: TestClient,
    owner_headers: dict,
    admin_headers: dict,
    make_account: Callable[..., Account],
    auth: Callable,
    session: Session,
) -> None:
    store = create_store(client, owner_headers, "Closing down")
    kept_store = create_store(client, owner_headers, "Staying")
    doomed = create_product(client, owner_headers, store["id"], name="Doomed")
    kept = create_product(client, owner_headers, kept_store["id"], name="Kept")
    view(client, auth(make_account(Role.viewer)), doomed["id"])  # a shopper's view: an event

    client.delete(store_url(store["id"]), headers=owner_headers)

    assert listed_ids(client, admin_headers) == [kept["id"]]
    assert listed_ids(client, owner_headers) == [kept["id"]]
    assert_error(
        client.get(product_url(doomed["id"]), headers=admin_headers), 404, f"product {doomed['id']} does not exist"
    )
    product = session.scalar(select(Product).where(Product.id == doomed["id"]))
    assert product.deleted_at is not None
    assert product.is_active is False
    assert session.scalars(select(Event.event_type).where(Event.product_id == doomed["id"])).all() == ["view"]
