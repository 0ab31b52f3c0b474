"""Answers ranked at training time: a known user without new events gets, filtered, the list
ranked then, which is what ranking anew gives; anything the list cannot answer is ranked anew."""

import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient

from relevo.core.config import Settings
from relevo.recommend.catalog_view import Filters
from relevo.recommend.ranking import ranked_ahead
from tests.recommend.shop import DemoShop, most_active_user, product_ids, recommend, train


def test_training_ranks_every_known_user_ahead(client: TestClient, app: FastAPI, trained: dict) -> None:
    served = app.state.serving.versions.get("default")
    items, scores = served.ranked_ahead.items, served.ranked_ahead.scores

    assert items.shape == (len(served.recommender.users), 100)
    assert (items[:, 0] >= 0).all()
    finite = np.where(np.isfinite(scores), scores, -np.inf)
    assert (np.diff(finite, axis=1) <= 1e-6).all()  # best first


def test_lists_ranked_ahead_leave_out_what_each_user_bought(
    client: TestClient, app: FastAPI, shop: DemoShop, trained: dict
) -> None:
    served = app.state.serving.versions.get("default")
    items, bought = served.ranked_ahead.items, served.left_out
    buyers = np.flatnonzero(np.diff(bought.indptr))

    assert len(buyers) > 0
    for row in buyers:
        assert not np.isin(items[row], bought.indices[bought.indptr[row] : bought.indptr[row + 1]]).any()
    allowed = np.ones(len(served.recommender.items), dtype=bool)
    user = served.recommender.users.ids[buyers[0]]
    assert ranked_ahead(served, user, 10, allowed, exclude_bought=False) is None  # ranked anew, bought items in


def test_a_known_users_answer_is_the_list_ranked_ahead_and_what_ranking_anew_gives(
    client: TestClient, app: FastAPI, shop: DemoShop, trained: dict
) -> None:
    user = most_active_user(shop)
    served = app.state.serving.versions.get("default")
    snapshot = app.state.serving.catalog.snapshot()
    allowed = app.state.serving.catalog.model_mask(snapshot, served.recommender.items.ids, Filters())
    excluded = served.left_out_of(user)

    ahead = ranked_ahead(served, user, 10, allowed).ids
    anew, _ = served.recommender.recommend(
        user, 10, recent=[{}], exclude_history=False, exclude=[excluded], allowed=allowed
    ).for_user()

    assert ahead == anew
    assert product_ids(recommend(client, user, count=10)) == ahead


def test_a_list_too_short_for_the_filters_is_ranked_anew(app: FastAPI, shop: DemoShop, trained: dict) -> None:
    user = most_active_user(shop)
    served = app.state.serving.versions.get("default")
    nothing_allowed_but_one = np.zeros(len(served.recommender.items), dtype=bool)
    nothing_allowed_but_one[served.ranked_ahead.items[served.recommender.users.index(user), -1]] = True

    assert ranked_ahead(served, user, 5, nothing_allowed_but_one) is None
    assert ranked_ahead(served, "never-seen", 5, np.ones_like(nothing_allowed_but_one)) is None


def test_without_ranking_ahead_no_list_is_stored(
    client: TestClient, admin_headers: dict, settings: Settings, shop: DemoShop
) -> None:
    settings.precompute_count = 0
    version = train(client, admin_headers)

    stored = client.get(f"/api/v1/registry/models/default/versions/{version['version']}", headers=admin_headers)
    assert "ranked_ahead.npz" not in {file["name"] for file in stored.json()["files"]}
    assert recommend(client, most_active_user(shop))["items"]
