"""Steps the catalog tests share: accounts with their headers, stores and products made through the API."""

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from relevo.accounts.models import Account, Role

STORES = "/api/v1/store/"
PRODUCTS = "/api/v1/store/products/"
MOST_POPULAR = "/api/v1/store/products/most-popular/"

NO_PERMISSION = "You do not have permission to perform this action."
ONLY_OWNERS_ADD = "Only store owners or Admins can add product to store."
NO_STORE = "No store available for this user. Admins must provide a store explicitly."


def store_url(store_id: int) -> str:
    return f"{STORES}{store_id}/"


def product_url(product_id: int) -> str:
    return f"{PRODUCTS}{product_id}/"


def headers_of(make_account: Callable[..., Account], auth: Callable, role: Role) -> tuple[Account, dict[str, str]]:
    """A new account of `role` and the headers that authenticate as it."""
    account = make_account(role)
    return account, auth(account)


def create_store(client: TestClient, headers: dict[str, str], name: str = "Corner Shop") -> dict[str, Any]:
    response = client.post(STORES, json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def product_body(store_id: int | None = None, **fields: Any) -> dict[str, Any]:
    """The store API's example product, with `fields` overriding it."""
    body = {
        "name": "New Product",
        "description": "Product Description",
        "price": "10.00",
        "quantity": 100,
        "category": "Category Name",
    }
    if store_id is not None:
        body["store_id"] = store_id
    return {**body, **fields}


def create_product(
    client: TestClient, headers: dict[str, str], store_id: int | None = None, **fields: Any
) -> dict[str, Any]:
    response = client.post(PRODUCTS, json=product_body(store_id, **fields), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def view(client: TestClient, headers: dict[str, str], product_id: int, **params: str) -> dict[str, Any]:
    response = client.get(product_url(product_id), headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def listed_ids(client: TestClient, headers: dict[str, str], url: str = PRODUCTS, **params: Any) -> list[int]:
    response = client.get(url, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()]


def assert_error(response: Any, status_code: int, detail: str) -> None:
    """A store API error: the status, and the message both as Relevo's `details` and the store
    API's `detail`."""
    assert response.status_code == status_code, response.text
    body = response.json()
    assert body["details"] == detail
    assert body["detail"] == detail
    assert body["error"]


def assert_invalid_field(response: Any, field: str) -> None:
    """A 400 whose message names the bad field, in both `details` and `detail`."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"]
    assert body["details"] == body["detail"]
    assert field in body["details"], body
