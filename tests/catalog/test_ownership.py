"""One ownership rule for every way into the catalog: the store API, the AI service's upserts
and items CSVs (both upload routes). An owner writes only their own stores' products; rows of
a CSV they may not write are refused by line and the rest kept."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from relevo.accounts.models import Account, Role
from relevo.catalog.ownership import CatalogAccess, NoStoreToWrite, NotYourProduct
from tests.catalog.shop import PRODUCTS, create_product, create_store, product_url, view
from tests.conftest import CLIENT_SECRET
from tests.datasets.csv_files import csv_bytes, multipart

UPLOAD_ROUTES = ["/api/v1/datasets", "/api/upload-dataset/"]


def upload_items(client: TestClient, headers: dict[str, str], route: str, *lines: str) -> dict:
    response = client.post(route, headers=headers, **multipart(csv_bytes(*lines), "items"))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def owners(client: TestClient, make_account: Callable[..., Account], auth: Callable) -> dict:
    """Two owners, "mine" and "theirs", each with a store and a product in it."""
    mine, theirs = auth(make_account(Role.owner)), auth(make_account(Role.owner))
    my_store, their_store = create_store(client, mine, "Mine"), create_store(client, theirs, "Theirs")
    my_product = create_product(client, mine, my_store["id"], product_id="MINE-1", name="Mine", price="5.00")
    their_product = create_product(client, theirs, their_store["id"], product_id="THEIRS-1", name="Theirs")
    return {
        "mine": mine,
        "theirs": theirs,
        "my_store": my_store["id"],
        "their_store": their_store["id"],
        "my_product": my_product,
        "their_product": their_product,
    }


@pytest.mark.parametrize("route", UPLOAD_ROUTES)
def test_an_items_csv_writes_only_the_callers_stores_and_reports_the_rest_by_line(
    client: TestClient, owners: dict, admin_headers: dict, route: str
) -> None:
    report = upload_items(
        client,
        owners["mine"],
        route,
        "product_id,name,price,quantity,store_id",
        "MINE-1,Mine renamed,6.00,3,",  # line 2: my product, kept in my store
        "THEIRS-1,Hijacked,0.01,0,",  # line 3: renames, re-prices and empties theirs: refused
        f"NEW-1,Sneaked in,1.00,1,{owners['their_store']}",  # line 4: a new product in their store: refused
        f"MINE-1,Mine again,7.00,4,{owners['their_store']}",  # line 5: moving mine into theirs: refused
        "NEW-2,Brand new,2.00,2,",  # line 6: a new product: goes to my store
    )

    assert (report["rows_imported"], report["rows_rejected"]) == (1, 4)
    reasons = {rejection["line"]: rejection["reason"] for rejection in report["rejected_lines"]}
    assert sorted(reasons) == [2, 3, 4, 5]  # MINE-1's earlier row goes with its refused last row
    assert reasons[3].startswith("product_id: THEIRS-1 is in store") and "not yours" in reasons[3]
    assert reasons[4] == f"store_id: store {owners['their_store']} is not yours"
    their = view(client, owners["theirs"], owners["their_product"]["id"])
    assert (their["name"], their["price"], their["quantity"]) == ("Theirs", "10.00", 100)
    listed = {product["product_id"]: product for product in client.get(PRODUCTS, headers=owners["theirs"]).json()}
    assert set(listed) == {"THEIRS-1"}
    mine = {product["product_id"]: product for product in client.get(PRODUCTS, headers=owners["mine"]).json()}
    assert mine["NEW-2"]["store"] == owners["my_store"]
    assert mine["MINE-1"]["name"] == "Mine"  # its rows were refused with line 5


def test_an_admins_items_csv_writes_any_store(client: TestClient, owners: dict, admin_headers: dict) -> None:
    report = upload_items(
        client,
        admin_headers,
        "/api/v1/datasets",
        "product_id,name,store_id",
        f"THEIRS-1,Renamed by an admin,{owners['my_store']}",
    )

    assert (report["rows_imported"], report["rows_rejected"]) == (1, 0)
    moved = view(client, admin_headers, owners["their_product"]["id"])
    assert (moved["name"], moved["store"]) == ("Renamed by an admin", owners["my_store"])


def test_a_product_known_only_from_events_is_taken_into_the_writers_store(
    client: TestClient, owners: dict, admin_headers: dict
) -> None:
    event = {"user_id": "u1", "product_id": "SEEN-1", "event_type": "view"}
    assert client.post("/api/v1/events", json=event, headers=owners["mine"]).status_code == 201

    report = upload_items(client, owners["mine"], "/api/v1/datasets", "product_id,name", "SEEN-1,Now described")

    assert report["rows_rejected"] == 0
    [seen] = [
        product for product in client.get(PRODUCTS, headers=owners["mine"]).json() if product["product_id"] == "SEEN-1"
    ]
    assert (seen["name"], seen["store"]) == ("Now described", owners["my_store"])
    theirs = upload_items(client, owners["theirs"], "/api/v1/datasets", "product_id,name", "SEEN-1,Mine now")
    assert theirs["rows_rejected"] == 1


def test_an_owner_without_a_store_has_every_row_refused_saying_why(
    client: TestClient, make_account: Callable[..., Account], auth: Callable
) -> None:
    report = upload_items(client, auth(make_account(Role.owner)), "/api/v1/datasets", "product_id,name", "P1,Lamp")

    assert report["rows_rejected"] == 1
    assert report["rejected_lines"] == [{"line": 2, "reason": "store_id: you own no store; create one first"}]


@pytest.mark.parametrize("route", ["/products", "/ai/products"])
def test_the_ai_service_upsert_follows_the_same_rule(client: TestClient, owners: dict, route: str) -> None:
    body = {"product_id": "THEIRS-1", "product_name": "Hijacked", "category": "Nothing"}

    refused = client.post(route, json=body, headers=owners["mine"])
    mine = client.post(route, json={**body, "product_id": "MINE-1", "product_name": "Mine too"}, headers=owners["mine"])

    assert refused.status_code == 403
    assert mine.status_code == 201
    assert view(client, owners["theirs"], owners["their_product"]["id"])["name"] == "Theirs"
    assert view(client, owners["mine"], owners["my_product"]["id"])["name"] == "Mine too"


def test_the_shared_secret_writes_every_store(client: TestClient, owners: dict) -> None:
    body = {"product_id": "THEIRS-1", "product_name": "From the shop's own system"}

    response = client.post("/products", json=body, headers={"CLIENT-HEADER-SECRET": CLIENT_SECRET})

    assert response.status_code == 201
    assert view(client, owners["theirs"], owners["their_product"]["id"])["name"] == "From the shop's own system"


def test_the_store_api_lets_an_owner_take_in_a_product_known_only_from_events(
    client: TestClient, owners: dict, admin_headers: dict
) -> None:
    event = {"user_id": "u1", "product_id": "SEEN-2", "event_type": "view"}
    client.post("/api/v1/events", json=event, headers=admin_headers)
    [seen] = [p for p in client.get(PRODUCTS, headers=admin_headers).json() if p["product_id"] == "SEEN-2"]

    response = client.patch(product_url(seen["id"]), json={"name": "Described"}, headers=owners["mine"])

    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["store"]) == ("Described", owners["my_store"])
    refused = client.patch(product_url(seen["id"]), json={"name": "Mine"}, headers=owners["theirs"])
    assert refused.status_code == 403


def test_categories_sent_with_interactions_fill_only_products_in_no_store(
    client: TestClient, owners: dict, make_account: Callable[..., Account], auth: Callable
) -> None:
    upload_items(client, owners["theirs"], "/api/v1/datasets", "product_id,name", "THEIRS-2,No category yet")
    service = auth(make_account(Role.service))
    for product_id in ("THEIRS-2", "LOOSE-1"):
        body = {"user_id": "u1", "product_id": product_id, "category": "Set by events"}
        assert client.post("/interactions", json=body, headers=service).status_code == 201

    categories = {p["product_id"]: p["category"] for p in client.get("/products", headers=owners["mine"]).json()}
    assert categories["THEIRS-2"] is None
    assert categories["LOOSE-1"] == "Set by events"


class TestTheRule:
    """CatalogAccess.store_for: the rule itself, without a database."""

    owner = CatalogAccess(every_store=False, own=(3, 5))
    admin = CatalogAccess(every_store=True)

    def test_an_owner_keeps_their_product_where_it_is_or_moves_it_among_their_stores(self) -> None:
        assert self.owner.store_for(exists=True, current=5, requested=None, product="p") == 5
        assert self.owner.store_for(exists=True, current=5, requested=3, product="p") == 3

    def test_an_owner_may_not_touch_anothers_product_nor_write_into_anothers_store(self) -> None:
        with pytest.raises(NotYourProduct, match="permission"):
            self.owner.store_for(exists=True, current=9, requested=None, product="p")
        with pytest.raises(NotYourProduct, match="Only store owners"):
            self.owner.store_for(exists=False, current=None, requested=9, product="p")
        with pytest.raises(NotYourProduct):
            self.owner.check_change(store_id=None, product="p")

    def test_new_and_storeless_products_go_to_the_owners_first_store(self) -> None:
        assert self.owner.store_for(exists=False, current=None, requested=None, product="p") == 3
        assert self.owner.store_for(exists=True, current=None, requested=None, product="p") == 3
        with pytest.raises(NoStoreToWrite):
            CatalogAccess(every_store=False).store_for(exists=False, current=None, requested=None, product="p")

    def test_admins_write_anywhere_and_leave_storeless_products_so(self) -> None:
        assert self.admin.store_for(exists=True, current=9, requested=None, product="p") == 9
        assert self.admin.store_for(exists=True, current=9, requested=4, product="p") == 4
        assert self.admin.store_for(exists=False, current=None, requested=None, product="p") is None
