"""A shop's own recommender, uploaded and served over HTTP: factors and an ONNX scorer answer
every recommendation route with filters, exclusions, a stranger's events and cold start; a
predictor is refused as a recommender."""

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from relevo.engine import uploaded_factors
from tests.errors import assert_error, assert_error_mentioning
from tests.recommend.shop import DemoShop, product_ids, purchases_of, recommend, top_category
from tests.registry import model_files
from tests.registry.recommender_files import NOT_IN_CATALOG, npz, onnx_scorer_files, shop_factors, upload


def expected(scores: np.ndarray, items: np.ndarray, keep: set[str], count: int) -> list[str]:
    """The `count` best of `items` by `scores`, among `keep`."""
    order = [str(items[index]) for index in np.argsort(-scores, kind="stable")]
    return [item for item in order if item in keep][:count]


def test_uploaded_factors_serve_a_known_user_with_filters_and_exclusions(
    client: TestClient, admin_headers: dict, shop: DemoShop
) -> None:
    layout = shop_factors(shop)
    products = {product.external_id: product for product in shop.products}
    user = next(str(user) for user in layout["user_ids"] if purchases_of(shop, str(user)))
    row, bought = layout["user_ids"].tolist().index(user), purchases_of(shop, user)
    # The user's first purchase, long before their latest events: their factor points at it.
    first = next(e.product_id for e in shop.events if e.user_id == user and e.event_type == "purchase")
    layout["user_factors"][row] = 3 * layout["item_factors"][layout["item_ids"].tolist().index(first)]
    uploaded = upload(client, admin_headers, "shop-factors", ("factors.npz", npz(layout)))
    assert uploaded["status"] == "deployed"
    scores = layout["item_factors"] @ layout["user_factors"][row]
    # Views since push the purchase out of the latest events a request reads: it is left out
    # all the same, as the version read what its users bought when it loaded.
    views = [{"user_id": user, "product_id": first, "event_type": "view"}] * 60
    assert client.post("/api/v1/events", json=views, headers=admin_headers).status_code < 300

    answer = recommend(client, user, model="shop-factors", count=8)
    assert answer["model"] == {"name": "shop-factors", "version": 1, "algorithm": "factors"}
    assert expected(scores, layout["item_ids"], set(products), 1) == [first]
    assert product_ids(answer) == expected(scores, layout["item_ids"], set(products) - bought, 8)
    assert all(item["reason"] for item in answer["items"])

    category = top_category(products[product_ids(answer)[0]].category)
    cheap = {"min_price": 5, "max_price": 60, "in_stock": True}
    for filters, keep in (
        ({"category": category}, {p for p, product in products.items() if top_category(product.category) == category}),
        (cheap, {p for p, product in products.items() if 5 <= product.price <= 60 and product.quantity > 0}),
    ):
        filtered = recommend(client, user, model="shop-factors", count=5, **filters)
        assert product_ids(filtered) == expected(scores, layout["item_ids"], keep - bought, 5), filters

    left_out = product_ids(answer)[:2]
    again = recommend(client, user, model="shop-factors", count=8, exclude=",".join(left_out))
    assert not set(left_out) & set(product_ids(again))
    with_bought = recommend(client, user, model="shop-factors", count=len(products), exclude_bought="false")
    assert bought <= set(product_ids(with_bought)) and NOT_IN_CATALOG not in product_ids(with_bought)


def test_a_stranger_with_events_gets_a_folded_in_answer_and_one_without_the_popular_items(
    client: TestClient, admin_headers: dict, shop: DemoShop
) -> None:
    layout = shop_factors(shop)
    upload(client, admin_headers, "shop-factors", ("factors.npz", npz(layout)))
    products = [product.external_id for product in shop.products]
    nobody = recommend(client, "nobody-yet", model="shop-factors", count=5)
    popular = expected(layout["item_popularity"], layout["item_ids"], set(products), 5)
    assert product_ids(nobody) == popular
    assert all(item["reason"].startswith("popular") for item in nobody["items"])

    events = [
        {"user_id": "newcomer", "product_id": products[10], "event_type": "view"},
        {"user_id": "newcomer", "product_id": products[11], "event_type": "add_to_cart"},
        {"user_id": "newcomer", "product_id": products[12], "event_type": "purchase"},
    ]
    assert client.post("/api/v1/events", json=events, headers=admin_headers).status_code < 300
    model = uploaded_factors.from_arrays(layout)
    # As the route weighs them: view 1, add to cart 4, purchase 8 (and the purchase left out).
    recent = {products[10]: 1.0, products[11]: 4.0, products[12]: 8.0}
    allowed = np.isin(model.items.ids, [p for p in products if p != products[12]])
    folded = model.recommend("newcomer", 5, recent=[recent], exclude_history=False, allowed=allowed)

    answer = recommend(client, "newcomer", model="shop-factors", count=5)
    assert product_ids(answer) == folded.for_user()[0] != popular
    assert any(item["reason"].startswith("like P") for item in answer["items"])


def test_uploaded_factors_as_the_serving_model_answer_every_route(
    client: TestClient, admin_headers: dict, shop: DemoShop
) -> None:
    layout = shop_factors(shop, popularity=False)
    upload(client, admin_headers, "default", ("factors.npz", npz(layout)))
    user = str(layout["user_ids"][0])
    product = str(layout["item_ids"][0])

    assert len(recommend(client, user)["items"]) == 10
    assert len(recommend(client, "stranger")["items"]) == 10  # the average uploaded user's answer
    smartcommerce = client.get(f"/api/recommendations/{user}/", params={"count": 4}).json()
    assert smartcommerce["count"] == 4 and {item["algorithm"] for item in smartcommerce["recommendations"]} == {
        "factors"
    }
    assert client.get("/recommendations", params={"user_id": user}).json()["product"] is not None
    assert len(client.get(f"/recommendations/{user}", params={"count": 3}).json()) == 3
    similar = client.get(f"/api/v1/products/{product}/similar", params={"count": 4})
    assert similar.status_code == 200 and len(similar.json()) == 4
    factors = layout["item_factors"]
    cosines = factors @ factors[0] / np.linalg.norm(factors, axis=1) / np.linalg.norm(factors[0])
    assert similar.json()[0]["product_id"] == str(layout["item_ids"][np.argsort(-cosines)[1]])
    assert client.get(f"/api/v1/products/{product}/bought-together").json() == []

    for who in (user, "stranger"):
        explained = client.get(f"/api/v1/recommendations/{who}/explain", headers=admin_headers)
        assert explained.status_code == 200, explained.text
        body = explained.json()
        assert body["model"]["algorithm"] == "factors"
        assert all(set(item["parts"]) <= {"factors", "popular"} for item in body["items"])


def test_an_uploaded_onnx_scorer_serves_with_filters_and_a_strangers_events(
    client: TestClient, admin_headers: dict, shop: DemoShop
) -> None:
    model, artifacts = onnx_scorer_files(shop)
    uploaded = upload(client, admin_headers, "shop-scorer", model, artifacts)
    assert uploaded["status"] == "deployed"
    products = shop.products
    in_stock = [product.external_id for product in products if product.quantity > 0]

    # No events: the model's answer for an empty row (its base order), within the filters.
    assert product_ids(recommend(client, "new", model="shop-scorer", count=3, in_stock="true")) == in_stock[:3]
    viewed = products[20].external_id
    events = [{"user_id": "browser", "product_id": viewed, "event_type": "view"}]
    assert client.post("/api/v1/events", json=events, headers=admin_headers).status_code < 300
    answer = recommend(client, "browser", model="shop-scorer", count=4)
    assert answer["model"]["algorithm"] == "onnx"
    assert product_ids(answer)[:2] == [products[21].external_id, products[22].external_id]
    category = top_category(products[21].category)
    filtered = recommend(client, "browser", model="shop-scorer", count=4, category=category)
    assert filtered["items"] and all(top_category(item["category"]) == category for item in filtered["items"])
    excluded = recommend(client, "browser", model="shop-scorer", count=4, exclude=products[21].external_id)
    assert products[21].external_id not in product_ids(excluded)
    assert product_ids(excluded)[0] == products[22].external_id
    explained = client.get(
        "/api/v1/recommendations/browser/explain", params={"model": "shop-scorer"}, headers=admin_headers
    )
    assert explained.status_code == 200, explained.text
    assert explained.json()["items"][0]["parts"] == {"onnx": pytest.approx(answer["items"][0]["score"], rel=1e-5)}


def test_an_upload_off_the_layout_is_refused_naming_the_file_and_the_problem(
    client: TestClient, admin_headers: dict, shop: DemoShop
) -> None:
    layout = shop_factors(shop)
    layout["user_ids"] = layout["user_ids"].astype(object)
    sent = [("model_file", ("factors.npz", npz(layout), "application/octet-stream"))]
    response = client.post("/upload_model", params={"model_name": "broken"}, files=sent, headers=admin_headers)
    assert_error_mentioning(response, 400, "factors.npz", "user_ids", "Python objects")

    model, _ = onnx_scorer_files(shop)
    config = json.dumps({"kind": "recommender", "item_ids": ["P1", "P2"]}).encode()
    sent = [
        ("model_file", (model[0], model[1], "application/octet-stream")),
        ("artifact_files", ("config.json", config, "application/json")),
    ]
    response = client.post("/upload_model", params={"model_name": "broken"}, files=sent, headers=admin_headers)
    assert_error_mentioning(response, 400, "scorer.onnx", "columns, but there are 2 item ids")


def test_a_predictor_is_refused_as_a_recommender(client: TestClient, admin_headers: dict, shop: DemoShop) -> None:
    config = model_files.config(features=["frequency", "recency_days"])
    upload(
        client, admin_headers, "spend", ("model.onnx", model_files.onnx_linear([1.0, 2.0])), [("config.json", config)]
    )
    for url in ("/api/v1/recommendations/U000001", "/api/v1/recommendations/U000001/explain"):
        details = assert_error(client.get(url, params={"model": "spend"}, headers=admin_headers), 409)
        assert "version 1 of 'spend' is a predictor" in details and "cannot serve recommendations" in details


def test_factors_are_uploaded_never_trained(client: TestClient, admin_headers: dict, shop: DemoShop) -> None:
    response = client.post("/api/v1/models/mine/train", json={"algorithm": "factors"}, headers=admin_headers)
    assert_error_mentioning(response, 400, "algorithm", "'factors' models are learned elsewhere and uploaded")
