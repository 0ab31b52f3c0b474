"""The canonical recommendation routes: a user's recommendations with business filters, cold
start, the session effect, similar and bought-together products, popular products."""

import math
import shutil
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.catalog.models import Store
from relevo.core.config import Settings
from relevo.recommend.answer import RecommendationList, Way
from tests.errors import assert_error, assert_error_mentioning
from tests.recommend.shop import DemoShop, most_active_user, product_ids, purchases_of, recommend, top_category, train


def by_id(shop: DemoShop) -> dict[str, Any]:
    return {product.external_id: product for product in shop.products}


def post_events(client: TestClient, headers: dict, user_id: str, product_ids: list[str], kind: str = "view") -> None:
    events = [{"user_id": user_id, "product_id": product, "event_type": kind} for product in product_ids]
    response = client.post("/api/v1/events", json=events, headers=headers)
    assert response.status_code in (200, 201, 202), response.text


def test_model_backed_routes_answer_503_until_a_model_is_trained(client: TestClient, shop: DemoShop) -> None:
    for url in (
        "/api/v1/recommendations/U000001",
        "/api/v1/products/P000001/similar",
        "/api/v1/products/P000001/bought-together",
        "/api/recommendations/1/",
        "/recommendations/U000001",
    ):
        assert "train a model first" in assert_error(client.get(url), 503), url


def test_popular_products_answer_without_a_model(client: TestClient, shop: DemoShop) -> None:
    response = client.get("/api/v1/popular", params={"count": 5})

    assert response.status_code == 200, response.text
    popular = response.json()
    assert len(popular) == 5
    users = [item["users"] for item in popular]
    assert users == sorted(users, reverse=True) and users[0] > 1
    products = by_id(shop)
    assert all(item["name"] == products[item["product_id"]].name for item in popular)
    department = top_category(popular[0]["category"])
    in_department = client.get("/api/v1/popular", params={"category": department}).json()
    assert in_department and all(top_category(item["category"]) == department for item in in_department)
    assert client.get("/api/v1/popular", params={"window": "1h"}).json() == []
    assert len(client.get("/api/v1/popular", params={"window": "30d"}).json()) == 10


def test_a_known_user_gets_ranked_products_not_bought_yet(client: TestClient, shop: DemoShop, trained: dict) -> None:
    user = most_active_user(shop)
    answer = recommend(client, user, count=8)

    assert answer["user_id"] == user
    assert answer["model"] == {"name": "default", "version": 1, "algorithm": trained["algorithm"]}
    assert len(answer["recommendation_id"]) == 32
    items = answer["items"]
    assert len(items) == 8 and len(set(product_ids(answer))) == 8
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= item["confidence"] <= 1.0 for item in items) and items[0]["confidence"] == 1.0
    assert not set(product_ids(answer)) & purchases_of(shop, user)
    products = by_id(shop)
    for item in items:
        product = products[item["product_id"]]
        shown = (item["name"], item["category"], Decimal(item["price"]))
        assert shown == (product.name, product.category, product.price)


def test_each_answer_has_its_own_recommendation_id(client: TestClient, trained: dict) -> None:
    assert recommend(client, "U000002")["recommendation_id"] != recommend(client, "U000002")["recommendation_id"]


def test_bought_items_come_back_only_when_asked_and_viewed_ones_can_be_left_out(
    client: TestClient, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    bought = purchases_of(shop, user)
    everything = recommend(client, user, count=len(shop.products), exclude_bought="false")
    assert bought <= set(product_ids(everything))

    seen = {event.product_id for event in shop.events if event.user_id == user}
    unseen = recommend(client, user, count=len(shop.products), exclude_viewed="true")
    assert not set(product_ids(unseen)) & seen
    assert product_ids(unseen)


def test_an_exclude_list_leaves_those_products_out(client: TestClient, trained: dict) -> None:
    first = product_ids(recommend(client, "U000003", count=5))
    again = product_ids(recommend(client, "U000003", count=5, exclude=",".join(first[:2])))

    assert not set(first[:2]) & set(again)
    assert again[:3] == first[2:]


def test_business_filters_hold_for_every_item(
    client: TestClient, shop: DemoShop, trained: dict, session: Session
) -> None:
    products = by_id(shop)
    department = top_category(shop.products[0].category)
    in_department = recommend(client, "U000004", count=20, category=department)["items"]
    assert in_department and all(top_category(item["category"]) == department for item in in_department)

    store = session.scalars(select(Store).order_by(Store.id)).first()
    from_store = recommend(client, "U000004", count=20, store_id=store.id)["items"]
    assert from_store and all(products[item["product_id"]].store == 0 for item in from_store)

    priced = recommend(client, "U000004", count=20, min_price=20, max_price=200)["items"]
    assert priced and all(20 <= Decimal(item["price"]) <= 200 for item in priced)

    stocked = recommend(client, "U000004", count=len(shop.products), in_stock="true")["items"]
    assert stocked and all(products[item["product_id"]].quantity > 0 for item in stocked)
    assert any(product.quantity == 0 for product in shop.products)

    assert recommend(client, "U000004", category="No Such Department")["items"] == []


def test_a_new_user_gets_popular_products_in_context(client: TestClient, shop: DemoShop, trained: dict) -> None:
    answer = recommend(client, "never-seen-before", count=5)

    assert len(answer["items"]) == 5
    department = top_category(shop.products[0].category)
    in_department = recommend(client, "never-seen-before", count=5, category=department)["items"]
    assert in_department and all(top_category(item["category"]) == department for item in in_department)


def test_events_since_training_change_the_next_answer(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    """A visitor the model never saw views a few products of one department: the very next
    answer leans to that department, without retraining."""
    before = recommend(client, "visitor-1", count=10)
    department = top_category(shop.products[0].category)
    browsed = [product.external_id for product in shop.products if top_category(product.category) == department][:3]

    post_events(client, admin_headers, "visitor-1", browsed)
    after = recommend(client, "visitor-1", count=10)

    assert product_ids(after) != product_ids(before)
    leaning = [item for item in after["items"] if top_category(item["category"]) == department]
    assert len(leaning) >= 6, after["items"]

    post_events(client, admin_headers, "visitor-1", browsed[:1], kind="purchase")
    assert browsed[0] not in product_ids(recommend(client, "visitor-1", count=len(shop.products)))


def test_similar_products_exclude_the_product_itself(client: TestClient, shop: DemoShop, trained: dict) -> None:
    product = shop.products[0].external_id
    response = client.get(f"/api/v1/products/{product}/similar", params={"count": 5})

    assert response.status_code == 200, response.text
    similar = product_ids(response.json())
    assert len(similar) == 5 and product not in similar
    department = top_category(shop.products[0].category)
    in_department = client.get(f"/api/v1/products/{product}/similar", params={"category": department}).json()
    assert all(top_category(item["category"]) == department for item in in_department)


def test_a_product_added_after_training_gets_content_neighbours(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    model = shop.products[5]
    body = {"product_id": "brand-new", "product_name": model.name, "category": model.category}
    saved = client.post("/products", json=body, headers=admin_headers)
    assert saved.status_code in (200, 201), saved.text

    similar = client.get("/api/v1/products/brand-new/similar", params={"count": 5}).json()

    assert similar and "brand-new" not in product_ids(similar)
    assert all(top_category(item["category"]) == top_category(model.category) for item in similar)


def test_bought_together_lists_complements(client: TestClient, shop: DemoShop, trained: dict) -> None:
    purchases = [event for event in shop.events if event.event_type == "purchase"]
    product = max({e.product_id for e in purchases}, key=lambda p: sum(e.product_id == p for e in purchases))

    together = client.get(f"/api/v1/products/{product}/bought-together", params={"count": 5})

    assert together.status_code == 200, together.text
    items = product_ids(together.json())
    assert items and product not in items
    index = {p.external_id: number for number, p in enumerate(shop.products)}
    complements = {shop.products[other].external_id for other in shop.complements[index[product]]}
    assert set(items) & complements
    assert client.get("/api/v1/products/nothing/bought-together").json() == []


def test_another_model_serves_when_named(client: TestClient, admin_headers: dict, trained: dict) -> None:
    train(client, admin_headers, name="experiment", algorithm="popular")

    assert recommend(client, "U000001", model="experiment")["model"]["name"] == "experiment"
    # A model nobody deployed is the caller's mistake, not a server that is not ready yet.
    unknown = client.get("/api/v1/recommendations/U1", params={"model": "x"})
    message = assert_error(unknown, 404, "No model")
    assert "no model named 'x' is deployed; deployed models: default, experiment" in message
    refused = client.get("/api/v1/recommendations/U1", params={"model": "no/such name"})
    assert_error_mentioning(refused, 422, "model")


def test_names_of_models_nobody_deployed_are_not_kept(client: TestClient, app: FastAPI, trained: dict) -> None:
    recommend(client, "U000001")
    kept = len(app.state.serving.versions)

    for number in range(200):
        assert client.get("/api/v1/recommendations/U1", params={"model": f"nobody-{number}"}).status_code == 404

    assert len(app.state.serving.versions) == kept == 1


def test_one_part_of_the_hybrid_serves_when_asked(client: TestClient, shop: DemoShop, trained: dict) -> None:
    user = most_active_user(shop)
    answer = recommend(client, user, algorithm="item_knn")

    assert answer["model"]["algorithm"] == "item_knn" and answer["items"]
    unknown = client.get(f"/api/v1/recommendations/{user}", params={"algorithm": "svd"})
    assert_error_mentioning(unknown, 400, "algorithm", "svd")


def test_a_deployed_version_whose_files_are_gone_answers_503_saying_so(
    client: TestClient, trained: dict, settings: Settings
) -> None:
    shutil.rmtree(settings.resolved_artifacts_dir)

    details = assert_error(client.get("/api/v1/recommendations/U000001"), 503)
    assert "cannot be read" in details and "RELEVO_ARTIFACTS_DIR" in details


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": 201}, "count"),
        ({"min_price": -1}, "min_price"),
        ({"store_id": "first"}, "store_id"),
        ({"in_stock": "perhaps"}, "in_stock"),
    ],
)
def test_bad_parameters_name_the_field(client: TestClient, trained: dict, params: dict, field: str) -> None:
    assert_error_mentioning(client.get("/api/v1/recommendations/U000001", params=params), 422, field)


def test_a_bad_popularity_window_names_the_field(client: TestClient) -> None:
    assert_error_mentioning(client.get("/api/v1/popular", params={"window": "forever"}), 422, "window")


def test_a_repeated_question_gets_the_same_items_under_a_new_recommendation_id(
    client: TestClient, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    first, again = recommend(client, user), recommend(client, user)

    assert product_ids(first) == product_ids(again)
    assert first["recommendation_id"] != again["recommendation_id"]


def test_a_list_makes_its_recommendation_id_once() -> None:
    answer = RecommendationList(
        user_id="u1", version=None, algorithm="popular", items=[], way=Way.cold_start, why="", kept=False
    )

    assert len(answer.recommendation_id) == 32 and answer.recommendation_id == answer.recommendation_id


def test_strangers_without_events_share_one_answer_and_one_with_events_gets_their_own(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    first, second = recommend(client, "stranger-1"), recommend(client, "stranger-2")
    assert product_ids(first) == product_ids(second) and first["user_id"] == "stranger-1"

    post_events(client, admin_headers, "stranger-2", [shop.products[-1].external_id] * 3, kind="add_to_cart")
    assert product_ids(recommend(client, "stranger-2")) != product_ids(first)


def test_a_huge_rating_since_training_weighs_as_training_weighs_it(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    # One rule for what an event weighs (engine/events.py): a rating counts at most 10, at
    # training and at request time alike, so one mistyped value cannot swamp an answer.
    user = most_active_user(shop)
    rated = product_ids(recommend(client, user, count=3))[-1]
    rating = {"user_id": user, "product_id": rated, "event_type": "rating", "value": 1e30}
    assert client.post("/api/v1/events", json=rating, headers=admin_headers).status_code < 300
    capped = {"user_id": "twin", "product_id": rated, "event_type": "rating", "value": 10}
    assert client.post("/api/v1/events", json=capped, headers=admin_headers).status_code < 300

    answer = recommend(client, user, count=10, exclude_bought=False)
    assert all(math.isfinite(item["score"]) for item in answer["items"])
    # A stranger who rated the product 1e30 gets the answer of one who rated it 10.
    huge = {"user_id": "stranger-huge", "product_id": rated, "event_type": "rating", "value": 1e30}
    assert client.post("/api/v1/events", json=huge, headers=admin_headers).status_code < 300
    assert recommend(client, "stranger-huge")["items"] == recommend(client, "twin")["items"]


def test_popular_lists_kept_are_bounded_whatever_categories_are_asked_for(client: TestClient, app: FastAPI) -> None:
    for number in range(300):
        assert client.get("/api/v1/popular", params={"category": f"made up {number}"}).status_code == 200

    assert len(app.state.serving.popular) == 256
