"""The AI service's product routes: POST /products, POST /ai/products and GET /products,
guarded by the shared secret header or a token, upserting into the one catalog."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.accounts.models import Account, Role
from relevo.catalog.models import Product
from relevo.core.config import Settings
from tests.catalog.shop import PRODUCTS, create_product, create_store, product_url, view
from tests.conftest import CLIENT_SECRET

SAVE_ROUTES = ["/products", "/ai/products"]
SAVED = {"message": "Product saved successfully"}
SMARTPHONE = {"product_name": "Smartphone", "product_id": "product789", "category": "Electronics"}


@pytest.fixture
def secret_headers(settings: Settings) -> dict[str, str]:
    assert settings.client_secret_header == "CLIENT-HEADER-SECRET"
    return {settings.client_secret_header: CLIENT_SECRET}


def save(client: TestClient, headers: dict[str, str], body: dict, route: str = "/products") -> None:
    response = client.post(route, json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json() == SAVED


def catalog(client: TestClient, headers: dict[str, str], **params: int) -> list[dict]:
    response = client.get("/products", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def count_products(session: Session, external_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Product).where(Product.external_id == external_id))


# Saving


@pytest.mark.parametrize("route", SAVE_ROUTES)
def test_secret_header_saves_a_product(client: TestClient, secret_headers: dict, route: str) -> None:
    response = client.post(route, json=SMARTPHONE, headers=secret_headers)

    assert response.status_code == 201
    assert response.json() == SAVED
    assert catalog(client, secret_headers) == [SMARTPHONE]


@pytest.mark.parametrize("route", SAVE_ROUTES)
def test_saving_the_same_product_id_again_updates_it(
    client: TestClient, secret_headers: dict, session: Session, route: str
) -> None:
    save(client, secret_headers, SMARTPHONE, route)

    save(client, secret_headers, {**SMARTPHONE, "product_name": "Smartphone 2", "category": "Phones"}, route)

    assert catalog(client, secret_headers) == [
        {"product_id": "product789", "product_name": "Smartphone 2", "category": "Phones"}
    ]
    assert count_products(session, "product789") == 1


def test_both_routes_write_the_same_catalog(client: TestClient, secret_headers: dict, session: Session) -> None:
    save(client, secret_headers, SMARTPHONE, "/products")
    save(client, secret_headers, {**SMARTPHONE, "category": "Mobiles"}, "/ai/products")

    assert catalog(client, secret_headers) == [{**SMARTPHONE, "category": "Mobiles"}]
    assert count_products(session, "product789") == 1


def test_fields_left_out_keep_their_value(client: TestClient, secret_headers: dict) -> None:
    save(client, secret_headers, SMARTPHONE)

    save(client, secret_headers, {"product_id": "product789", "category": "Phones"})

    assert catalog(client, secret_headers) == [{**SMARTPHONE, "category": "Phones"}]


def test_integer_product_id_is_accepted(client: TestClient, secret_headers: dict, session: Session) -> None:
    save(client, secret_headers, {"product_name": "Lamp", "product_id": 456, "category": "Home"})
    save(client, secret_headers, {"product_name": "Desk lamp", "product_id": "456", "category": "Home"})

    assert catalog(client, secret_headers) == [{"product_id": "456", "product_name": "Desk lamp", "category": "Home"}]
    assert count_products(session, "456") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"product_name": "No id", "category": "Misc"}, "product_id"),
        ({**SMARTPHONE, "product_id": ""}, "product_id"),
        ({**SMARTPHONE, "product_id": None}, "product_id"),
        ({**SMARTPHONE, "product_name": "x" * 256}, "product_name"),
    ],
)
def test_bad_products_are_refused_naming_the_field(
    client: TestClient, secret_headers: dict, body: dict, field: str
) -> None:
    response = client.post("/products", json=body, headers=secret_headers)

    assert response.status_code == 422
    assert response.json()["error"] == "Invalid parameter"
    assert field in response.json()["details"]
    assert catalog(client, secret_headers) == []


def test_malformed_json_is_a_bad_request(client: TestClient, secret_headers: dict) -> None:
    headers = {**secret_headers, "Content-Type": "application/json"}

    response = client.post("/products", content=b"{not json", headers=headers)

    assert response.status_code == 400
    assert response.json()["error"] == "Invalid JSON"


# Listing


def test_list_pages_with_limit_and_offset(client: TestClient, secret_headers: dict) -> None:
    for number in range(4):
        save(client, secret_headers, {"product_name": f"P{number}", "product_id": f"p{number}", "category": "C"})

    assert [item["product_id"] for item in catalog(client, secret_headers, limit=2)] == ["p0", "p1"]
    assert [item["product_id"] for item in catalog(client, secret_headers, limit=2, offset=2)] == ["p2", "p3"]
    assert catalog(client, secret_headers, offset=4) == []


def test_list_includes_store_products_and_leaves_out_deleted_ones(
    client: TestClient, secret_headers: dict, make_account: Callable[..., Account], auth: Callable
) -> None:
    owner_headers = auth(make_account(Role.owner))
    store = create_store(client, owner_headers)
    kept = create_product(client, owner_headers, store["id"], name="Kept", category="Shoes", product_id="SKU-1")
    gone = create_product(client, owner_headers, store["id"], name="Gone", product_id="SKU-2")
    client.delete(product_url(gone["id"]), headers=owner_headers)

    assert catalog(client, secret_headers) == [{"product_id": "SKU-1", "product_name": "Kept", "category": "Shoes"}]
    assert kept["product_id"] == "SKU-1"


@pytest.mark.parametrize("params", [{"limit": 0}, {"offset": -1}])
def test_list_refuses_bad_paging(client: TestClient, secret_headers: dict, params: dict) -> None:
    response = client.get("/products", params=params, headers=secret_headers)

    assert response.status_code == 422
    assert next(iter(params)) in response.json()["details"]


# Who may call


@pytest.mark.parametrize("route", SAVE_ROUTES)
def test_wrong_secret_is_refused(client: TestClient, settings: Settings, route: str) -> None:
    headers = {settings.client_secret_header: "not-the-secret"}

    response = client.post(route, json=SMARTPHONE, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == "Not authenticated"
    assert "CLIENT-HEADER-SECRET" in response.json()["details"]
    assert client.get("/products", headers=headers).status_code == 401


def test_wrong_secret_is_refused_even_with_a_valid_token(
    client: TestClient, settings: Settings, admin_headers: dict
) -> None:
    headers = {**admin_headers, settings.client_secret_header: "not-the-secret"}

    assert client.post("/products", json=SMARTPHONE, headers=headers).status_code == 401


@pytest.mark.parametrize("route", SAVE_ROUTES)
def test_neither_secret_nor_token_is_refused(client: TestClient, route: str) -> None:
    response = client.post(route, json=SMARTPHONE)

    assert response.status_code == 401
    assert response.json()["error"] == "Not authenticated"
    assert client.get("/products").status_code == 401


def test_a_forged_token_is_refused(client: TestClient) -> None:
    assert client.post("/products", json=SMARTPHONE, headers={"Authorization": "Token forged"}).status_code == 401


@pytest.mark.parametrize("role", [Role.admin, Role.owner])
@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_catalog_writers_may_save(
    client: TestClient, make_account: Callable[..., Account], auth: Callable, role: Role, scheme: str
) -> None:
    headers = auth(make_account(role), scheme=scheme)
    create_store(client, headers)

    save(client, headers, SMARTPHONE, "/ai/products")

    assert catalog(client, headers) == [SMARTPHONE]


def test_an_owners_new_product_goes_to_their_first_store(
    client: TestClient, make_account: Callable[..., Account], auth: Callable, admin_headers: dict
) -> None:
    headers = auth(make_account(Role.owner))
    store = create_store(client, headers)
    create_store(client, headers, "Second")

    save(client, headers, SMARTPHONE)

    [product] = client.get(PRODUCTS, headers=headers).json()
    assert (product["product_id"], product["store"]) == ("product789", store["id"])


def test_an_owner_without_a_store_is_told_to_create_one(
    client: TestClient, make_account: Callable[..., Account], auth: Callable
) -> None:
    response = client.post("/products", json=SMARTPHONE, headers=auth(make_account(Role.owner)))

    assert response.status_code == 400
    assert response.json()["details"].startswith("No store available")


@pytest.mark.parametrize("route", SAVE_ROUTES)
def test_an_owner_cannot_change_another_owners_product(
    client: TestClient, make_account: Callable[..., Account], auth: Callable, route: str
) -> None:
    theirs, mine = auth(make_account(Role.owner)), auth(make_account(Role.owner))
    their_store = create_store(client, theirs)
    create_store(client, mine)
    product = create_product(client, theirs, their_store["id"], product_id="product789", name="Theirs")

    response = client.post(route, json={**SMARTPHONE, "product_name": "Mine now"}, headers=mine)

    assert response.status_code == 403
    assert response.json()["error"] == "Permission denied"
    assert view(client, theirs, product["id"])["name"] == "Theirs"
    assert client.get(PRODUCTS, headers=mine).json() == []


def test_a_service_token_may_not_save_products(
    client: TestClient, make_account: Callable[..., Account], auth: Callable
) -> None:
    response = client.post("/products", json=SMARTPHONE, headers=auth(make_account(Role.service)))

    assert response.status_code == 403
    assert "catalog:write" in response.json()["details"]


@pytest.mark.parametrize("route", SAVE_ROUTES)
def test_viewer_token_may_read_but_not_save(
    client: TestClient, make_account: Callable[..., Account], auth: Callable, secret_headers: dict, route: str
) -> None:
    viewer_headers = auth(make_account(Role.viewer))
    save(client, secret_headers, SMARTPHONE)

    response = client.post(route, json={**SMARTPHONE, "product_name": "Changed"}, headers=viewer_headers)

    assert response.status_code == 403
    assert response.json()["error"] == "Permission denied"
    assert catalog(client, viewer_headers) == [SMARTPHONE]


# The same catalog as the store API


def test_saved_products_appear_to_admins_without_a_store(
    client: TestClient, secret_headers: dict, admin_headers: dict
) -> None:
    save(client, secret_headers, SMARTPHONE)

    response = client.get(PRODUCTS, headers=admin_headers)

    assert response.status_code == 200
    [product] = response.json()
    assert product == {
        "id": product["id"],
        "product_id": "product789",
        "name": "Smartphone",
        "description": None,
        "price": None,
        "quantity": None,
        "category": "Electronics",
        "store": None,
        "views_count": 0,
        "converted_price": None,
        "converted_currency": None,
        "currency": None,
        "attributes": {},
        "is_active": True,
    }


def test_saved_products_are_not_listed_to_owners(
    client: TestClient, secret_headers: dict, make_account: Callable[..., Account], auth: Callable
) -> None:
    owner_headers = auth(make_account(Role.owner))
    create_store(client, owner_headers)
    save(client, secret_headers, SMARTPHONE)

    assert client.get(PRODUCTS, headers=owner_headers).json() == []


def test_saved_products_can_be_viewed_and_converted(
    client: TestClient, secret_headers: dict, make_account: Callable[..., Account], auth: Callable, admin_headers: dict
) -> None:
    save(client, secret_headers, SMARTPHONE)
    [product] = client.get(PRODUCTS, headers=admin_headers).json()

    body = view(client, auth(make_account(Role.viewer)), product["id"], currency="EUR")

    assert body["views_count"] == 1
    assert body["converted_price"] is None
    assert body["converted_currency"] is None


def test_upsert_fills_in_a_store_product_without_moving_it(
    client: TestClient, secret_headers: dict, make_account: Callable[..., Account], auth: Callable
) -> None:
    owner_headers = auth(make_account(Role.owner))
    store = create_store(client, owner_headers)
    product = create_product(client, owner_headers, store["id"], product_id="product789", category="Old")

    save(client, secret_headers, SMARTPHONE)

    assert view(client, owner_headers, product["id"]) == {
        **product,
        "name": "Smartphone",
        "category": "Electronics",
        "views_count": 1,
    }


def test_saving_a_deleted_product_brings_it_back(
    client: TestClient, secret_headers: dict, admin_headers: dict, session: Session
) -> None:
    save(client, secret_headers, SMARTPHONE)
    [listed] = [item for item in catalog(client, secret_headers) if item["product_id"] == "product789"]
    product_id = session.scalar(select(Product.id).where(Product.external_id == "product789"))
    assert client.delete(product_url(product_id), headers=admin_headers).status_code == 200
    assert "product789" not in [item["product_id"] for item in catalog(client, secret_headers)]
    save(client, secret_headers, SMARTPHONE)
    assert "product789" in [item["product_id"] for item in catalog(client, secret_headers)]
    assert client.get(product_url(product_id), headers=admin_headers).status_code == 200
    assert listed["product_name"] == "Smartphone"
