"""The store API's products: creating, listing, viewing (with its view count and a shopper's
event: test_product_views.py says whose), changing, deleting and the most popular products."""

from collections.abc import Callable
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.accounts.models import Account, Role
from relevo.catalog.models import Product
from relevo.core.config import Settings
from relevo.events.models import Event
from relevo.users.models import User
from tests.catalog.shop import (
    MOST_POPULAR,
    NO_PERMISSION,
    NO_STORE,
    ONLY_OWNERS_ADD,
    PRODUCTS,
    assert_error,
    assert_invalid_field,
    create_product,
    create_store,
    listed_ids,
    product_body,
    product_url,
    view,
)
from tests.conftest import CLIENT_SECRET


@pytest.fixture
def store(client: TestClient, owner_headers: dict) -> dict:
    return create_store(client, owner_headers, "Owner's store")


@pytest.fixture
def other_owner_headers(make_account: Callable[..., Account], auth: Callable) -> dict[str, str]:
    return auth(make_account(Role.owner))


@pytest.fixture
def other_store(client: TestClient, other_owner_headers: dict) -> dict:
    return create_store(client, other_owner_headers, "Someone else's store")


@pytest.fixture
def viewer_headers(make_account: Callable[..., Account], auth: Callable) -> dict[str, str]:
    return auth(make_account(Role.viewer))


# Creating


def test_create_answers_in_the_store_api_shape(client: TestClient, owner_headers: dict, store: dict) -> None:
    response = client.post(PRODUCTS, json=product_body(store["id"]), headers=owner_headers)

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "name": "New Product",
        "description": "Product Description",
        "price": "10.00",
        "quantity": 100,
        "category": "Category Name",
        "store": store["id"],
        "views_count": 0,
        "converted_price": "10.00",
        "converted_currency": "USD",
        "product_id": str(body["id"]),
        "currency": "USD",
        "attributes": {},
        "is_active": True,
    }
    assert isinstance(body["id"], int)


def test_created_product_reads_back_the_same(client: TestClient, owner_headers: dict, store: dict) -> None:
    created = create_product(client, owner_headers, store["id"])

    listed = client.get(PRODUCTS, headers=owner_headers).json()

    assert listed == [created]


def test_the_store_api_token_scheme_creates_a_product(
    client: TestClient, owner: Account, auth: Callable, store: dict
) -> None:
    response = client.post(PRODUCTS, json=product_body(store["id"]), headers=auth(owner, scheme="Token"))

    assert response.status_code == 201
    assert response.json()["store"] == store["id"]


@pytest.mark.parametrize("price", ["10", 10, 10.5, "7.1"])
def test_price_always_has_two_decimals(client: TestClient, owner_headers: dict, store: dict, price) -> None:
    body = create_product(client, owner_headers, store["id"], price=price)

    expected = f"{Decimal(str(price)):.2f}"
    assert body["price"] == expected
    assert body["converted_price"] == expected


def test_explicit_product_id_is_kept(client: TestClient, owner_headers: dict, store: dict) -> None:
    body = create_product(client, owner_headers, store["id"], product_id="SKU-42")

    assert body["product_id"] == "SKU-42"


def test_integer_product_id_is_kept_as_text(client: TestClient, owner_headers: dict, store: dict) -> None:
    body = create_product(client, owner_headers, store["id"], product_id=987)

    assert body["product_id"] == "987"


def test_duplicate_product_id_conflicts(client: TestClient, owner_headers: dict, store: dict) -> None:
    create_product(client, owner_headers, store["id"], product_id="SKU-42")

    response = client.post(PRODUCTS, json=product_body(store["id"], product_id="SKU-42"), headers=owner_headers)

    assert response.status_code == 409
    assert "product_id" in response.json()["details"]
    assert response.json()["detail"] == response.json()["details"]


def test_extra_fields_are_stored(client: TestClient, owner_headers: dict, store: dict) -> None:
    body = create_product(
        client, owner_headers, store["id"], currency="eur", attributes={"brand": "Acme"}, is_active=False
    )

    assert body["currency"] == "EUR"
    assert body["attributes"] == {"brand": "Acme"}
    assert body["is_active"] is False


def test_numeric_id_already_used_as_a_shop_id_does_not_block_creation(
    client: TestClient, owner_headers: dict, store: dict, settings: Settings
) -> None:
    first = create_product(client, owner_headers, store["id"])
    # The AI service (or events) names two products by shop ids, taking the next two numeric
    # ids; the product created after them gets a numeric id already used as a shop id.
    secret = {settings.client_secret_header: CLIENT_SECRET}
    for shop_id in (first["id"] + 2, first["id"] + 3):
        assert client.post("/products", json={"product_id": shop_id}, headers=secret).status_code == 201

    colliding = create_product(client, owner_headers, store["id"])
    following = create_product(client, owner_headers, store["id"])

    assert colliding["id"] == first["id"] + 3
    assert colliding["product_id"] == f"product:{colliding['id']}"
    assert following["product_id"] == str(following["id"])


def test_owner_without_store_id_adds_to_their_first_store(client: TestClient, owner_headers: dict, store: dict) -> None:
    create_store(client, owner_headers, "Second store")

    body = create_product(client, owner_headers)

    assert body["store"] == store["id"]


def test_owner_without_a_store_is_refused(client: TestClient, owner_headers: dict) -> None:
    response = client.post(PRODUCTS, json=product_body(), headers=owner_headers)

    assert_error(response, 400, NO_STORE)


def test_admin_must_name_a_store(client: TestClient, admin_headers: dict, store: dict) -> None:
    response = client.post(PRODUCTS, json=product_body(), headers=admin_headers)

    assert_error(response, 400, NO_STORE)


def test_admin_adds_to_any_store(client: TestClient, admin_headers: dict, store: dict) -> None:
    body = create_product(client, admin_headers, store["id"])

    assert body["store"] == store["id"]


def test_owner_cannot_add_to_another_owners_store(
    client: TestClient, owner_headers: dict, store: dict, other_store: dict
) -> None:
    response = client.post(PRODUCTS, json=product_body(other_store["id"]), headers=owner_headers)

    assert_error(response, 403, ONLY_OWNERS_ADD)


@pytest.mark.parametrize("role", [Role.viewer, Role.service])
def test_accounts_that_own_no_stores_cannot_add_products(
    client: TestClient, make_account: Callable[..., Account], auth: Callable, store: dict, role: Role
) -> None:
    response = client.post(PRODUCTS, json=product_body(store["id"]), headers=auth(make_account(role)))

    assert_error(response, 403, ONLY_OWNERS_ADD)


def test_missing_store_is_a_bad_request(client: TestClient, admin_headers: dict) -> None:
    response = client.post(PRODUCTS, json=product_body(999_999), headers=admin_headers)

    assert_invalid_field(response, "store_id")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price": "-1.00"}, "price"),
        ({"price": "10.001"}, "price"),
        ({"price": "ten"}, "price"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": "many"}, "quantity"),
        ({"name": ""}, "name"),
        ({"currency": "EURO"}, "currency"),
    ],
)
def test_create_refuses_bad_fields(
    client: TestClient, owner_headers: dict, store: dict, changes: dict, field: str
) -> None:
    response = client.post(PRODUCTS, json=product_body(store["id"], **changes), headers=owner_headers)

    assert_invalid_field(response, field)


@pytest.mark.parametrize("field", ["name", "price", "quantity"])
def test_create_requires_name_price_and_quantity(
    client: TestClient, owner_headers: dict, store: dict, field: str
) -> None:
    body = product_body(store["id"])
    del body[field]

    response = client.post(PRODUCTS, json=body, headers=owner_headers)

    assert_invalid_field(response, field)


def test_refused_create_stores_nothing(client: TestClient, owner_headers: dict, store: dict) -> None:
    client.post(PRODUCTS, json=product_body(store["id"], price="-1"), headers=owner_headers)

    assert listed_ids(client, owner_headers) == []


# Listing


def test_admin_lists_every_product(
    client: TestClient,
    admin_headers: dict,
    owner_headers: dict,
    other_owner_headers: dict,
    store: dict,
    other_store: dict,
) -> None:
    mine = create_product(client, owner_headers, store["id"])
    theirs = create_product(client, other_owner_headers, other_store["id"])

    assert listed_ids(client, admin_headers) == [mine["id"], theirs["id"]]


def test_owner_lists_only_their_stores_products(
    client: TestClient, owner_headers: dict, other_owner_headers: dict, store: dict, other_store: dict
) -> None:
    second_store = create_store(client, owner_headers, "Second")
    first = create_product(client, owner_headers, store["id"])
    second = create_product(client, owner_headers, second_store["id"])
    create_product(client, other_owner_headers, other_store["id"])

    assert listed_ids(client, owner_headers) == [first["id"], second["id"]]


def test_viewer_lists_no_products(client: TestClient, owner_headers: dict, store: dict, viewer_headers: dict) -> None:
    create_product(client, owner_headers, store["id"])

    response = client.get(PRODUCTS, headers=viewer_headers)

    assert response.status_code == 200
    assert response.json() == []


def test_list_pages_with_limit_and_offset(client: TestClient, owner_headers: dict, store: dict) -> None:
    ids = [create_product(client, owner_headers, store["id"], name=f"P{n}")["id"] for n in range(5)]

    assert listed_ids(client, owner_headers, limit=2) == ids[:2]
    assert listed_ids(client, owner_headers, limit=2, offset=2) == ids[2:4]
    assert listed_ids(client, owner_headers, limit=2, offset=4) == ids[4:]
    assert listed_ids(client, owner_headers, offset=5) == []


@pytest.mark.parametrize(("params", "field"), [({"limit": 0}, "limit"), ({"offset": -1}, "offset")])
def test_list_refuses_bad_paging(client: TestClient, owner_headers: dict, params: dict, field: str) -> None:
    response = client.get(PRODUCTS, params=params, headers=owner_headers)

    assert_invalid_field(response, field)


def test_list_filters_by_category(client: TestClient, owner_headers: dict, store: dict) -> None:
    shoe = create_product(client, owner_headers, store["id"], category="Shoes")
    create_product(client, owner_headers, store["id"], category="Hats")

    assert listed_ids(client, owner_headers, category="Shoes") == [shoe["id"]]
    assert listed_ids(client, owner_headers, category="Gloves") == []


def test_list_needs_a_token(client: TestClient) -> None:
    assert client.get(PRODUCTS).status_code == 401


# Viewing


def test_each_view_counts_and_answers_the_new_count(client: TestClient, owner_headers: dict, store: dict) -> None:
    product = create_product(client, owner_headers, store["id"])

    counts = [view(client, owner_headers, product["id"])["views_count"] for _ in range(3)]

    assert counts == [1, 2, 3]
    assert client.get(PRODUCTS, headers=owner_headers).json()[0]["views_count"] == 3


def test_any_account_may_view_a_product(
    client: TestClient, owner_headers: dict, store: dict, viewer_headers: dict
) -> None:
    product = create_product(client, owner_headers, store["id"])

    body = view(client, viewer_headers, product["id"])

    assert body == {**product, "views_count": 1}


def test_a_view_is_recorded_as_an_event_of_the_callers_shopper(
    client: TestClient,
    owner_headers: dict,
    store: dict,
    make_account: Callable[..., Account],
    auth: Callable,
    admin_headers: dict,
) -> None:
    viewer = make_account(Role.viewer)
    product = create_product(client, owner_headers, store["id"], product_id="SKU-7")

    view(client, auth(viewer), product["id"])

    response = client.get("/api/v1/events", params={"event_type": "view"}, headers=admin_headers)
    assert response.status_code == 200
    events = response.json()["items"]
    assert [(event["user_id"], event["product_id"], event["event_type"]) for event in events] == [
        (f"account:{viewer.username}", "SKU-7", "view")
    ]


def test_view_adopts_a_shopper_already_named_after_the_account(
    client: TestClient,
    owner_headers: dict,
    store: dict,
    make_account: Callable[..., Account],
    auth: Callable,
    session: Session,
) -> None:
    viewer = make_account(Role.viewer)
    # As events imported from another Relevo instance would have left it.
    shopper = User(external_id=f"account:{viewer.username}", attributes={})
    session.add(shopper)
    session.commit()
    product = create_product(client, owner_headers, store["id"])

    assert view(client, auth(viewer), product["id"])["views_count"] == 1

    session.refresh(shopper)
    assert shopper.account_id == viewer.id
    assert session.scalars(select(Event.user_id).where(Event.product_id == product["id"])).all() == [shopper.id]


def test_repeat_views_reuse_one_shopper(
    client: TestClient,
    owner_headers: dict,
    store: dict,
    make_account: Callable[..., Account],
    auth: Callable,
    session: Session,
) -> None:
    viewer = make_account(Role.viewer)
    product = create_product(client, owner_headers, store["id"])

    view(client, auth(viewer), product["id"])
    view(client, auth(viewer), product["id"])

    shopper = session.scalar(select(User).where(User.account_id == viewer.id))
    assert shopper.external_id == f"account:{viewer.username}"
    events = session.scalars(select(Event).where(Event.product_id == product["id"])).all()
    assert [(event.user_id, event.event_type) for event in events] == [(shopper.id, "view"), (shopper.id, "view")]


def test_viewing_a_missing_product_is_not_found(client: TestClient, owner_headers: dict) -> None:
    response = client.get(product_url(999_999), headers=owner_headers)

    assert_error(response, 404, "product 999999 does not exist")


def test_viewing_needs_a_token(client: TestClient, owner_headers: dict, store: dict) -> None:
    product = create_product(client, owner_headers, store["id"])

    assert client.get(product_url(product["id"])).status_code == 401
    assert view(client, owner_headers, product["id"])["views_count"] == 1


# Updating


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_update_as_in_the_store_api(client: TestClient, owner_headers: dict, store: dict, method: str) -> None:
    product = create_product(client, owner_headers, store["id"])
    view(client, owner_headers, product["id"])
    changes = {
        "name": "Updated Product",
        "description": "Updated Description",
        "price": "12.00",
        "quantity": 150,
        "category": "Updated Category",
    }

    response = client.request(method, product_url(product["id"]), json=changes, headers=owner_headers)

    assert response.status_code == 200
    assert response.json() == {**product, **changes, "views_count": 1, "converted_price": "12.00"}


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_partial_update_keeps_the_other_fields(
    client: TestClient, owner_headers: dict, store: dict, method: str
) -> None:
    product = create_product(client, owner_headers, store["id"])

    response = client.request(method, product_url(product["id"]), json={"quantity": 3}, headers=owner_headers)

    assert response.status_code == 200
    assert response.json() == {**product, "quantity": 3}
    assert view(client, owner_headers, product["id"]) == {**product, "quantity": 3, "views_count": 1}


def test_update_price_without_cents_comes_back_with_two_decimals(
    client: TestClient, owner_headers: dict, store: dict
) -> None:
    product = create_product(client, owner_headers, store["id"])

    response = client.patch(product_url(product["id"]), json={"price": 12}, headers=owner_headers)

    assert response.json()["price"] == "12.00"
    assert response.json()["converted_price"] == "12.00"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_owner_cannot_change_another_owners_product(
    client: TestClient, owner_headers: dict, other_owner_headers: dict, other_store: dict, method: str
) -> None:
    product = create_product(client, other_owner_headers, other_store["id"])

    response = client.request(method, product_url(product["id"]), json={"name": "Mine now"}, headers=owner_headers)

    assert_error(response, 403, NO_PERMISSION)
    assert view(client, other_owner_headers, product["id"])["name"] == "New Product"


@pytest.mark.parametrize("role", [Role.viewer, Role.service])
def test_accounts_without_stores_cannot_change_products(
    client: TestClient,
    owner_headers: dict,
    store: dict,
    make_account: Callable[..., Account],
    auth: Callable,
    role: Role,
) -> None:
    product = create_product(client, owner_headers, store["id"])

    response = client.put(product_url(product["id"]), json={"name": "x"}, headers=auth(make_account(role)))

    assert_error(response, 403, NO_PERMISSION)


def test_admin_changes_any_product(client: TestClient, owner_headers: dict, store: dict, admin_headers: dict) -> None:
    product = create_product(client, owner_headers, store["id"])

    response = client.put(product_url(product["id"]), json={"name": "Admin's choice"}, headers=admin_headers)

    assert response.status_code == 200
    assert response.json()["name"] == "Admin's choice"


def test_owner_moves_a_product_between_their_stores(client: TestClient, owner_headers: dict, store: dict) -> None:
    second = create_store(client, owner_headers, "Second")
    product = create_product(client, owner_headers, store["id"])

    response = client.patch(product_url(product["id"]), json={"store_id": second["id"]}, headers=owner_headers)

    assert response.status_code == 200
    assert response.json()["store"] == second["id"]


def test_moving_a_product_to_a_store_the_caller_does_not_own_is_forbidden(
    client: TestClient, owner_headers: dict, store: dict, other_store: dict
) -> None:
    product = create_product(client, owner_headers, store["id"])

    response = client.patch(product_url(product["id"]), json={"store_id": other_store["id"]}, headers=owner_headers)

    assert_error(response, 403, ONLY_OWNERS_ADD)
    assert view(client, owner_headers, product["id"])["store"] == store["id"]


def test_moving_a_product_to_a_missing_store_is_a_bad_request(
    client: TestClient, admin_headers: dict, owner_headers: dict, store: dict
) -> None:
    product = create_product(client, owner_headers, store["id"])

    response = client.patch(product_url(product["id"]), json={"store_id": 999_999}, headers=admin_headers)

    assert_invalid_field(response, "store_id")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"price": "-5"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"quantity": -1}, "quantity"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"store_id": None}, "store_id"),
    ],
)
def test_update_refuses_bad_fields(
    client: TestClient, owner_headers: dict, store: dict, changes: dict, field: str
) -> None:
    product = create_product(client, owner_headers, store["id"])

    response = client.patch(product_url(product["id"]), json=changes, headers=owner_headers)

    assert_invalid_field(response, field)


def test_updating_a_missing_product_is_not_found(client: TestClient, admin_headers: dict) -> None:
    response = client.put(product_url(999_999), json={"name": "Ghost"}, headers=admin_headers)

    assert_error(response, 404, "product 999999 does not exist")


# Deleting


def test_owner_deletes_a_product(client: TestClient, owner_headers: dict, store: dict, admin_headers: dict) -> None:
    product = create_product(client, owner_headers, store["id"])
    kept = create_product(client, owner_headers, store["id"], name="Kept")
    view(client, owner_headers, product["id"])

    response = client.delete(product_url(product["id"]), headers=owner_headers)

    assert response.status_code == 200
    assert response.json() == {"detail": "Product deleted successfully."}
    assert_error(
        client.get(product_url(product["id"]), headers=owner_headers), 404, f"product {product['id']} does not exist"
    )
    assert listed_ids(client, owner_headers) == [kept["id"]]
    assert listed_ids(client, admin_headers) == [kept["id"]]
    assert listed_ids(client, admin_headers, MOST_POPULAR) == [kept["id"]]


def test_deleted_product_keeps_its_row_and_events(
    client: TestClient, owner_headers: dict, store: dict, viewer_headers: dict, session: Session
) -> None:
    product = create_product(client, owner_headers, store["id"])
    view(client, viewer_headers, product["id"])

    client.delete(product_url(product["id"]), headers=owner_headers)

    row = session.get(Product, product["id"])
    assert row.deleted_at is not None
    assert session.scalars(select(Event.event_type).where(Event.product_id == product["id"])).all() == ["view"]


def test_deleting_twice_is_not_found(client: TestClient, owner_headers: dict, store: dict) -> None:
    product = create_product(client, owner_headers, store["id"])
    client.delete(product_url(product["id"]), headers=owner_headers)

    response = client.delete(product_url(product["id"]), headers=owner_headers)

    assert_error(response, 404, f"product {product['id']} does not exist")


def test_deleted_product_cannot_be_updated(client: TestClient, owner_headers: dict, store: dict) -> None:
    product = create_product(client, owner_headers, store["id"])
    client.delete(product_url(product["id"]), headers=owner_headers)

    response = client.patch(product_url(product["id"]), json={"name": "Back"}, headers=owner_headers)

    assert_error(response, 404, f"product {product['id']} does not exist")


def test_owner_cannot_delete_another_owners_product(
    client: TestClient, owner_headers: dict, other_owner_headers: dict, other_store: dict
) -> None:
    product = create_product(client, other_owner_headers, other_store["id"])

    response = client.delete(product_url(product["id"]), headers=owner_headers)

    assert_error(response, 403, NO_PERMISSION)
    assert view(client, other_owner_headers, product["id"])["id"] == product["id"]


def test_admin_deletes_any_product(client: TestClient, owner_headers: dict, store: dict, admin_headers: dict) -> None:
    product = create_product(client, owner_headers, store["id"])

    response = client.delete(product_url(product["id"]), headers=admin_headers)

    assert response.json() == {"detail": "Product deleted successfully."}


# Most popular


def test_most_popular_orders_by_view_count(
    client: TestClient, owner_headers: dict, store: dict, viewer_headers: dict
) -> None:
    quiet, busy, middling = (create_product(client, owner_headers, store["id"], name=name) for name in "ABC")
    for product, views in ((quiet, 1), (busy, 3), (middling, 2)):
        for _ in range(views):
            view(client, owner_headers, product["id"])

    response = client.get(MOST_POPULAR, headers=viewer_headers)

    assert response.status_code == 200
    assert [(item["id"], item["views_count"]) for item in response.json()] == [
        (busy["id"], 3),
        (middling["id"], 2),
        (quiet["id"], 1),
    ]
    assert response.json()[0] == {**busy, "views_count": 3}


def test_most_popular_honours_limit(client: TestClient, owner_headers: dict, store: dict) -> None:
    products = [create_product(client, owner_headers, store["id"], name=f"P{n}") for n in range(3)]
    view(client, owner_headers, products[2]["id"])

    assert listed_ids(client, owner_headers, MOST_POPULAR, limit=1) == [products[2]["id"]]
    assert listed_ids(client, owner_headers, MOST_POPULAR, limit=2) == [products[2]["id"], products[0]["id"]]


def test_most_popular_leaves_out_inactive_products(client: TestClient, owner_headers: dict, store: dict) -> None:
    hidden = create_product(client, owner_headers, store["id"], is_active=False)
    shown = create_product(client, owner_headers, store["id"])
    view(client, owner_headers, hidden["id"])

    assert listed_ids(client, owner_headers, MOST_POPULAR) == [shown["id"]]


def test_most_popular_refuses_a_bad_limit(client: TestClient, owner_headers: dict) -> None:
    assert_invalid_field(client.get(MOST_POPULAR, params={"limit": 0}, headers=owner_headers), "limit")


def test_most_popular_needs_a_token(client: TestClient) -> None:
    assert client.get(MOST_POPULAR).status_code == 401


def test_views_persist_in_the_table(client: TestClient, owner_headers: dict, store: dict, session: Session) -> None:
    product = create_product(client, owner_headers, store["id"])
    view(client, owner_headers, product["id"])
    view(client, owner_headers, product["id"])

    assert session.scalar(select(Product.views_count).where(Product.id == product["id"])) == 2
