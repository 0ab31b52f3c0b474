"""The compatible APIs' recommendation and training routes, each in its API's exact shape: the
SmartCommerce API's personalised list, training and model metrics; the background-jobs API's
list per user; the purchases API's single product; the AI service's interaction and category
recommendations."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from relevo.catalog.models import Product
from relevo.compat.smartcommerce import SmartCommerceRecommendations
from relevo.core.config import Settings
from tests.conftest import CLIENT_SECRET
from tests.errors import assert_error, assert_error_mentioning
from tests.recommend.shop import DemoShop, most_active_user, purchases_of, recommend, top_category

SMARTCOMMERCE_ITEM = {"product_id", "product_name", "category", "price", "confidence_score", "algorithm"}


def get(client: TestClient, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_smartcommerce_recommendations_have_the_documented_shape(
    client: TestClient, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    answer = get(client, f"/api/recommendations/{user}/", count=7)

    assert set(answer) == {"user_id", "recommendations", "count"}
    SmartCommerceRecommendations.model_validate(answer, strict=True)  # the documented response model
    assert answer["user_id"] == user and answer["count"] == 7 == len(answer["recommendations"])
    for item in answer["recommendations"]:
        assert set(item) == SMARTCOMMERCE_ITEM
        assert item["algorithm"] == "hybrid_ensemble"
        assert 0.0 <= item["confidence_score"] <= 1.0
        assert isinstance(item["price"], float)
    canonical = recommend(client, user, count=7)["items"]
    assert [item["product_id"] for item in answer["recommendations"]] == [item["product_id"] for item in canonical]


def test_smartcommerce_numeric_ids_come_back_as_numbers(client: TestClient, admin_headers: dict, trained: dict) -> None:
    events = [{"user_id": "12345", "product_id": "777", "event_type": "view"}]
    assert client.post("/api/v1/events", json=events, headers=admin_headers).status_code < 300

    answer = get(client, "/api/recommendations/12345/", count=3)

    assert answer["user_id"] == 12345
    assert answer["count"] == 3


def test_smartcommerce_ids_too_long_for_a_number_come_back_as_text(client: TestClient, trained: dict) -> None:
    digits = "9" * 40  # no 64-bit integer holds it: a string id, as anything not a plain integer

    answer = get(client, f"/api/recommendations/{digits}/", count=3)

    assert answer["user_id"] == digits
    assert answer["count"] == 3


def test_smartcommerce_training_starts_a_job_and_model_metrics_describe_the_result(
    client: TestClient, admin_headers: dict, shop: DemoShop
) -> None:
    body = {"dataset_ids": [], "config": {"embedding_dim": 16, "learning_rate": 0.05, "epochs": 5}}
    response = client.post("/api/enhanced-train/", json=body, headers=admin_headers)

    assert response.status_code == 202, response.text
    started = response.json()
    assert {"job_id", "status"} <= set(started)
    job = get_with(client, admin_headers, f"/job-status/{started['job_id']}")
    assert job["status"] == "completed", job
    metrics = get_with(client, admin_headers, "/api/model-metrics/")
    assert metrics["algorithm"] == "hybrid" and metrics["status"] == "deployed"
    assert metrics["metrics"]["ndcg"] > 0 and metrics["training"]["events"] > 0
    for component in ("als", "bpr"):
        assert metrics["config"]["components"][component]["embedding_dim"] == 16
    assert metrics["config"]["components"]["bpr"]["learning_rate"] == 0.05
    assert metrics["config"]["weights"]["bpr"] > 0  # the learning rate is used: the BPR part is trained


def test_smartcommerce_training_refuses_bad_settings_naming_them(client: TestClient, admin_headers: dict) -> None:
    response = client.post("/api/enhanced-train/", json={"config": {"epochs": 0}}, headers=admin_headers)
    assert_error_mentioning(response, 422, "epochs")
    assert_error(client.get("/api/model-metrics/", headers=admin_headers), 404)


def get_with(client: TestClient, headers: dict, url: str) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_background_jobs_api_recommendations_are_a_ranked_list(
    client: TestClient, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    listed = get(client, f"/recommendations/{user}")

    assert isinstance(listed, list) and len(listed) == 20
    assert [item["rank"] for item in listed] == list(range(1, 21))
    assert not {item["product_id"] for item in listed} & purchases_of(shop, user)


def test_purchases_api_recommends_one_product_bought_with_the_users_purchases(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    answer = get(client, "/recommendations", user_id=user)

    assert set(answer) == {"user_id", "product"}
    assert answer["user_id"] == user
    assert answer["product"] and answer["product"] not in purchases_of(shop, user)

    most_popular = get(client, "/api/v1/popular", count=1)[0]["product_id"]
    assert get(client, "/recommendations", user_id="bought-nothing") == {
        "user_id": "bought-nothing",
        "product": most_popular,
    }


def test_purchases_api_never_recommends_a_product_taken_off_sale(
    client: TestClient, session: Session, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    first = get(client, "/recommendations", user_id=user)["product"]
    session.execute(update(Product).where(Product.external_id == first).values(is_active=False))
    session.flush()

    second = get(client, "/recommendations", user_id=user)["product"]
    assert second and second != first


def test_purchases_api_answers_with_the_most_popular_product_before_any_training(
    client: TestClient, shop: DemoShop
) -> None:
    most_popular = get(client, "/api/v1/popular", count=1)[0]["product_id"]
    assert get(client, "/recommendations", user_id="someone") == {"user_id": "someone", "product": most_popular}
    assert_error_mentioning(client.get("/recommendations"), 422, "user_id")


def test_ai_service_interaction_recommendations_are_neighbours_in_the_category(
    client: TestClient, shop: DemoShop, trained: dict
) -> None:
    product = shop.products[0]
    neighbours = get(client, "/interaction-recommendations", product_id=product.external_id)
    assert neighbours and all(isinstance(item, str) for item in neighbours)
    assert product.external_id not in neighbours

    categories = {p.external_id: p.category for p in shop.products}
    leaf = product.category
    in_leaf = get(client, "/interaction-recommendations", product_id=product.external_id, category=leaf)
    assert all(categories[item] == leaf for item in in_leaf)


def test_ai_service_category_recommendations_come_from_the_categorys_cluster(
    client: TestClient, shop: DemoShop, trained: dict
) -> None:
    category = shop.products[0].category
    listed = get(client, "/category-recommendations", category=category)

    assert listed and all(isinstance(item, str) for item in listed)
    categories = {p.external_id: p.category for p in shop.products}
    assert sum(top_category(categories[item]) == top_category(category) for item in listed) >= len(listed) // 2


def test_ai_service_routes_answer_popular_products_before_any_training(
    client: TestClient, shop: DemoShop, settings: Settings
) -> None:
    category = top_category(shop.products[0].category)
    listed = get(client, "/category-recommendations", category=category)
    popular = [item["product_id"] for item in get(client, "/api/v1/popular", category=category)]
    assert listed == popular
    assert get(client, "/interaction-recommendations", product_id="x", category=category) == popular
    headers = {settings.client_secret_header: CLIENT_SECRET}
    assert client.get("/category-recommendations", params={"category": category}, headers=headers).status_code == 200
