"""Every list of products by category applies the one category rule (relevo.core.categories,
whose own tests hold the table of cases), and every way into the catalog stores a category
canonically, as that rule's SQL form expects."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.accounts.models import Account, Role
from relevo.catalog.models import Product
from relevo.core.config import Settings
from tests.catalog.shop import PRODUCTS, create_product, create_store, product_url
from tests.conftest import CLIENT_SECRET
from tests.datasets.csv_files import csv_bytes, multipart

CATEGORIES = {
    "books": "Books",
    "fiction": "Books > Fiction",
    "novels": "Books>Fiction>Novels",  # stored as "Books > Fiction > Novels"
    "shelves": "Bookshelves",
    "used": "Used > Books",
    "percent": "50 percent > Books",
}
# (the filter, the products it lists)
FILTERS = [
    ("Books", {"books", "fiction", "novels"}),
    ("books", {"books", "fiction", "novels"}),
    ("  BOOKS>fiction ", {"fiction", "novels"}),
    ("Books > Fiction > Novels", {"novels"}),
    ("Book", set()),
    ("50%", set()),
]


@pytest.fixture
def secret_headers(settings: Settings) -> dict[str, str]:
    return {settings.client_secret_header: CLIENT_SECRET}


@pytest.fixture
def shop(client: TestClient, owner_headers: dict) -> dict[str, dict]:
    """A product in each of CATEGORIES, by name, made through the store API."""
    store = create_store(client, owner_headers)
    return {
        name: create_product(client, owner_headers, store["id"], product_id=name, category=category)
        for name, category in CATEGORIES.items()
    }


@pytest.mark.parametrize(("wanted", "listed"), FILTERS)
def test_the_store_apis_product_list(
    client: TestClient, owner_headers: dict, shop: dict, wanted: str, listed: set[str]
) -> None:
    response = client.get(PRODUCTS, params={"category": wanted}, headers=owner_headers)

    assert response.status_code == 200, response.text
    assert {product["product_id"] for product in response.json()} == listed


@pytest.mark.parametrize(("wanted", "listed"), FILTERS)
def test_the_ai_services_product_list(
    client: TestClient, secret_headers: dict, shop: dict, wanted: str, listed: set[str]
) -> None:
    response = client.get("/products", params={"category": wanted}, headers=secret_headers)

    assert response.status_code == 200, response.text
    assert {product["product_id"] for product in response.json()} == listed


@pytest.mark.parametrize(("wanted", "listed"), FILTERS)
def test_the_popular_products(
    client: TestClient, admin_headers: dict, shop: dict, wanted: str, listed: set[str]
) -> None:
    events = [{"user_id": "u1", "product_id": name, "event_type": "view"} for name in CATEGORIES]
    assert client.post("/api/v1/events", json=events, headers=admin_headers).status_code == 201

    response = client.get("/api/v1/popular", params={"category": wanted, "count": 50})

    assert response.status_code == 200, response.text
    assert {product["product_id"] for product in response.json()} == listed


def test_a_filter_naming_no_category_lists_every_product(client: TestClient, owner_headers: dict, shop: dict) -> None:
    response = client.get(PRODUCTS, params={"category": " > "}, headers=owner_headers)

    assert {product["product_id"] for product in response.json()} == set(CATEGORIES)


# Stored canonically, whichever way a category comes in


def stored_category(session: Session, external_id: str) -> str | None:
    session.expire_all()
    return session.scalar(select(Product.category).where(Product.external_id == external_id))


def test_the_store_api_stores_categories_canonically(client: TestClient, owner_headers: dict, session: Session) -> None:
    store = create_store(client, owner_headers)
    product = create_product(client, owner_headers, store["id"], product_id="p1", category="Books>Fiction")
    assert product["category"] == "Books > Fiction"

    response = client.patch(product_url(product["id"]), json={"category": "Home >Kitchen"}, headers=owner_headers)

    assert response.json()["category"] == "Home > Kitchen"
    assert stored_category(session, "p1") == "Home > Kitchen"


def test_the_ai_service_stores_categories_canonically(
    client: TestClient, secret_headers: dict, session: Session
) -> None:
    body = {"product_id": "p1", "product_name": "Phone", "category": "Electronics>Phones"}
    assert client.post("/products", json=body, headers=secret_headers).status_code == 201
    body = {"user_id": "u1", "product_id": "p2", "category": " Electronics >  Cables "}
    assert client.post("/interactions", json=body, headers=secret_headers).status_code == 201

    assert stored_category(session, "p1") == "Electronics > Phones"
    assert stored_category(session, "p2") == "Electronics > Cables"


def test_an_items_csv_stores_categories_canonically(
    client: TestClient, make_account: Callable[..., Account], auth: Callable, session: Session
) -> None:
    content = csv_bytes("product_id,name,category", "p1,Lamp,Home>Lighting", 'p2,Rug," > "')

    response = client.post("/api/v1/datasets", headers=auth(make_account(Role.admin)), **multipart(content, "items"))

    assert response.status_code == 201, response.text
    assert stored_category(session, "p1") == "Home > Lighting"
    assert stored_category(session, "p2") is None  # no category named
