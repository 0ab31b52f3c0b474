"""Every answer explains itself: the explain route shows what the recommendation route serves,
which way it was found (a kept answer, a list ranked ahead, a ranking anew, a cold start) and
why, the history, what each filter removed and each item's parts; each item's `reason` is
drawn from the part that produced it and the shopper's own product behind it."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from relevo.accounts.models import Account, Role
from relevo.recommend.answer import Recommendation, Way
from relevo.recommend.catalog_view import ProductView
from relevo.recommend.reasons import reason
from tests.errors import assert_error
from tests.recommend.shop import DemoShop, most_active_user, product_ids, recommend, train


def explain(client: TestClient, headers: dict, user_id: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/v1/recommendations/{user_id}/explain", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def served_items(answer: dict) -> list[tuple[str, float, str]]:
    return [(item["product_id"], item["score"], item["reason"]) for item in answer["items"]]


def assert_parts_add_up(explained: dict) -> None:
    for item in explained["items"]:
        assert item["parts"] is not None, item
        assert sum(item["parts"].values()) == pytest.approx(item["score"], rel=1e-4, abs=1e-5)
        assert item["component"] == max(item["parts"], key=item["parts"].get)


def post_event(client: TestClient, headers: dict, user_id: str, product_id: str, kind: str) -> None:
    event = {"user_id": user_id, "product_id": product_id, "event_type": kind}
    assert client.post("/api/v1/events", json=event, headers=headers).status_code < 300


def test_a_known_users_list_ranked_ahead_is_explained_and_then_kept(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    explained = explain(client, admin_headers, user)

    assert explained["answered_by"]["way"] == "ranked_ahead"
    assert explained["answered_by"]["kept_answer"] is False
    assert explained["model"] == {"name": "default", "version": 1, "algorithm": "hybrid"}
    history = explained["history"]
    assert history["events_in_training"] == sum(1 for event in shop.events if event.user_id == user)
    assert history["products_in_training"] > 0 and history["events_since_training"] == []
    assert_parts_add_up(explained)
    # What the route serves, and the same answer, kept, the second time.
    assert served_items(recommend(client, user)) == served_items(explained)
    again = explain(client, admin_headers, user)
    assert again["answered_by"] == {**explained["answered_by"], "kept_answer": True}
    assert served_items(again) == served_items(explained)


def test_an_event_since_training_makes_the_model_rank_anew_from_it(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    viewed = product_ids(recommend(client, user))[-1]
    post_event(client, admin_headers, user, viewed, "view")

    explained = explain(client, admin_headers, user, count=8)

    assert explained["answered_by"]["way"] == "ranked_anew"
    assert "events since training" in explained["answered_by"]["why"]
    [event] = explained["history"]["events_since_training"]
    assert (event["product_id"], event["event_type"]) == (viewed, "view")
    assert explained["history"]["newest"] == event
    assert event["event_id"] > explained["watermark"]
    assert_parts_add_up(explained)
    assert served_items(recommend(client, user, count=8)) == served_items(explained)
    # Every source is the shopper's own product, before training or since.
    own = {e.product_id for e in shop.events if e.user_id == user} | {viewed}
    assert all(item["source"] in own for item in explained["items"] if item["source"] is not None)


def test_a_stranger_gets_the_cold_start_answer_and_says_what_is_popular(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    explained = explain(client, admin_headers, "never-seen-anywhere")

    assert explained["answered_by"]["way"] == "cold_start"
    assert explained["history"] == {
        "events_in_training": 0,
        "products_in_training": 0,
        "events_since_training": [],
        "newest": None,
    }
    assert_parts_add_up(explained)
    assert all(item["reason"].startswith("popular") for item in explained["items"])


def test_a_model_of_one_part_explains_its_cold_start_as_popularity(
    client: TestClient, admin_headers: dict, shop: DemoShop
) -> None:
    train(client, admin_headers, algorithm="als")

    explained = explain(client, admin_headers, "never-seen-anywhere", count=3)

    assert explained["answered_by"]["way"] == "cold_start"
    assert [list(item["parts"]) for item in explained["items"]] == [["popular"]] * 3
    known = explain(client, admin_headers, most_active_user(shop), count=3)
    assert [list(item["parts"]) for item in known["items"]] == [["als"]] * 3


def test_each_filter_says_how_many_products_it_removed(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    category = shop.products[0].category.split(" > ")[0]

    explained = explain(client, admin_headers, user, category=category, in_stock=True, exclude_viewed=True)

    removed = {effect["filter"]: effect["removed"] for effect in explained["filters"]}
    in_category = sum(1 for product in shop.products if product.category.startswith(category))
    assert removed["category"] == len(shop.products) - in_category
    assert {"not on sale (deleted, inactive or unknown)", "in_stock", "exclude_bought", "exclude_viewed"} <= set(
        removed
    )
    assert removed["exclude_viewed"] > 0
    assert explained["answered_by"]["way"] == "ranked_anew"
    assert "everything the user interacted with" in explained["answered_by"]["why"]


def test_only_those_who_manage_models_may_ask_why(client: TestClient, make_account, auth, trained: dict) -> None:
    url = "/api/v1/recommendations/U000001/explain"
    assert_error(client.get(url), 401)
    viewer: Account = make_account(Role.viewer)
    assert_error(client.get(url, headers=auth(viewer)), 403)


def test_reasons_say_what_produced_the_item() -> None:
    product = ProductView("P2", "Kettle", "Home > Kitchen", None, None)

    def item(component: str | None, source: str | None) -> Recommendation:
        return Recommendation(product, 1.0, 1.0, component, source)

    assert reason(item("cooccurrence", "P1"), Way.ranked_anew, set()) == "bought together with P1"
    assert reason(item("item_knn", "P1"), Way.ranked_ahead, set()) == "like P1 you viewed"
    assert reason(item("als", "P1"), Way.ranked_ahead, {"P1"}) == "like P1 you bought"
    assert reason(item("popular", None), Way.ranked_ahead, set()) == "popular in Home"
    assert reason(item("als", None), Way.cold_start, set()) == "popular in Home"
    assert reason(item("als", None), Way.ranked_anew, set()) == "picked for your taste"
