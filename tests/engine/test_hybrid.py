"""The hybrid ensemble: the contract (scoring every item, and scoring candidates only), its
configuration, and its fallbacks."""

import numpy as np
import pytest
import scipy.sparse as sp

from relevo.engine.algorithms.hybrid import DEFAULT_WEIGHTS, Hybrid, HybridConfig, _best_entries, _scaled
from tests.engine.contract import RecommenderContract
from tests.engine.shop_data import small_shop

SMALL = {"als": {"embedding_dim": 16, "epochs": 5}, "content": {"clusters": 5}}


class TestHybridContract(RecommenderContract):
    def make(self) -> Hybrid:
        return Hybrid(HybridConfig(components=SMALL))


class TestHybridOnCandidatesContract(RecommenderContract):
    """As on a catalog too large to score whole."""

    def make(self) -> Hybrid:
        return Hybrid(HybridConfig(components=SMALL, exhaustive_items=0, candidates=20))


def test_the_config_is_stored_complete_and_overrides_defaults() -> None:
    config = Hybrid.make_config({"components": {"als": {"embedding_dim": 8}}, "weights": {"bpr": 0.5}})
    assert config.components["als"]["embedding_dim"] == 8
    assert config.components["als"]["epochs"] == 15  # the default, written out
    assert set(config.components) == set(DEFAULT_WEIGHTS)
    assert config.weights == {**DEFAULT_WEIGHTS, "bpr": 0.5}
    assert Hybrid.make_config({"components": config.components, "weights": config.weights}) == config


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"components": {"svd": {}}}, "no component svd"),
        ({"components": {"als": {"factors": 3}}}, "als has no setting factors"),
        ({"components": {"als": {"embedding_dim": 0}}}, "embedding_dim"),
        ({"weights": {"als": -1}}, "not negative"),
        ({"weights": dict.fromkeys(DEFAULT_WEIGHTS, 0)}, "at least one"),
    ],
)
def test_bad_settings_are_refused(values: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Hybrid.make_config(values)


def test_components_weighted_zero_are_not_trained_and_ease_steps_aside_on_a_big_catalog() -> None:
    data = small_shop()
    components = {**SMALL, "ease": {"max_items": 10}}
    model = Hybrid(HybridConfig(components=components, weights={"content": 0})).fit(data)
    assert "content" not in model.components and "bpr" not in model.components
    assert "ease" not in model.components  # 300 items, over its max_items of 10
    assert {"als", "item_knn", "cooccurrence", "popular"} <= set(model.components)


def test_a_single_component_ranks_as_that_component_does() -> None:
    data = small_shop()
    weights = {**dict.fromkeys(DEFAULT_WEIGHTS, 0.0), "item_knn": 1.0}
    hybrid = Hybrid(HybridConfig(weights=weights)).fit(data)
    users = data.users.ids[:5].tolist()
    alone = hybrid.components["item_knn"].recommend(users, 10)
    np.testing.assert_array_equal(hybrid.recommend(users, 10).ids, alone.ids)


def test_a_stranger_gets_popular_items() -> None:
    data = small_shop()
    model = Hybrid(HybridConfig(components=SMALL)).fit(data)
    users_per_item = np.diff(model.history.tocsc().indptr)
    most_popular = set(data.items.lookup(np.argsort(-users_per_item)[:30]).tolist())
    ids, _ = model.recommend("stranger", 10).for_user()
    assert len(ids) == 10 and len(set(ids) & most_popular) >= 7


def test_candidates_find_what_scoring_every_item_finds() -> None:
    data = small_shop()
    whole = Hybrid(HybridConfig(components=SMALL)).fit(data, seed=2)
    narrowed = Hybrid(HybridConfig(components=SMALL, exhaustive_items=0, candidates=50)).fit(data, seed=2)
    users = data.users.ids[:40].tolist()
    a, b = whole.recommend(users, 10).ids, narrowed.recommend(users, 10).ids
    overlap = np.mean([len(set(a[row]) & set(b[row])) / 10 for row in range(len(users))])
    assert overlap >= 0.8


def test_candidates_respect_a_narrow_filter() -> None:
    data = small_shop()
    model = Hybrid(HybridConfig(components=SMALL, exhaustive_items=0, candidates=5)).fit(data)
    allowed = np.zeros(len(data.items), dtype=bool)
    allowed[-40:] = True  # items the candidates would not reach unfiltered
    ids, _ = model.recommend(data.users.ids[0], 10, allowed=allowed).for_user()
    assert len(ids) == 10 and set(ids) <= set(data.items.ids[allowed].tolist())


def test_a_filter_leaves_items_out_before_the_best_neighbours_are_taken() -> None:
    # Row 0's best entries are items 0 and 1; with those filtered out, its best are 3 and 4.
    found = sp.csr_matrix(np.array([[9.0, 8.0, 1.0, 5.0, 4.0], [0.0, 0.0, 2.0, 0.0, 3.0]], dtype=np.float32))
    allowed = np.array([False, False, True, True, True])
    rows, columns = _best_entries(found, 2, allowed)
    assert sorted(zip(rows.tolist(), columns.tolist(), strict=True)) == [(0, 3), (0, 4), (1, 2), (1, 4)]
    rows, columns = _best_entries(found, 2, None)
    assert sorted(zip(rows.tolist(), columns.tolist(), strict=True)) == [(0, 0), (0, 1), (1, 2), (1, 4)]


def test_scores_are_scaled_by_the_largest_finite_score_of_the_users_own_candidates() -> None:
    scores = np.array([[2.0, -4.0, 1.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    kept = scores.copy()
    assert _scaled(scores, None).tolist() == [[0.5, -1.0, 0.25], [0.0, 0.0, 0.0]]
    assert np.array_equal(scores, kept)  # the component's scores are left as they were
    # Scores that are not finite count as 0, one user alone (no `own`) as in a batch.
    alone = np.array([[-np.inf, 2.0, np.nan, 1.0]], dtype=np.float32)
    assert _scaled(alone, None).tolist() == [[0.0, 1.0, 0.0, 0.5]]
    # In a batch, only each user's own candidates count.
    own = np.array([[True, False, True], [True, True, True]])
    assert _scaled(np.array([[2.0, 8.0, 1.0], [1.0, 4.0, 2.0]], dtype=np.float32), own).tolist() == [
        [1.0, 0.0, 0.5],
        [0.25, 1.0, 0.5],
    ]


def test_reweighting_a_fitted_hybrid_matches_fitting_with_those_weights() -> None:
    data = small_shop()
    fitted = Hybrid(HybridConfig(components=SMALL)).fit(data, seed=4)
    weights = {"als": 1.0, "item_knn": 0.25}
    users = data.users.ids[:10].tolist()

    again = Hybrid(HybridConfig(components=SMALL, weights={**dict.fromkeys(DEFAULT_WEIGHTS, 0.0), **weights}))
    expected = again.fit(data, seed=4).recommend(users, 10)
    reweighted = fitted.reweighted(weights)
    assert set(reweighted.components) == set(weights)
    np.testing.assert_array_equal(reweighted.recommend(users, 10).ids, expected.ids)
    with pytest.raises(ValueError, match="bpr"):
        fitted.reweighted({"bpr": 1.0})


@pytest.mark.parametrize("exhaustive_items", [20_000, 0])
def test_request_time_purchases_reach_the_co_purchase_part_and_its_candidates(exhaustive_items: int) -> None:
    """Scoring every item and scoring candidates (co-purchases among them) alike: a purchase
    since training counts as the co-purchase model counts it, two adds to cart do not."""
    data = small_shop()
    weights = {**dict.fromkeys(DEFAULT_WEIGHTS, 0.0), "cooccurrence": 1.0}
    hybrid = Hybrid(HybridConfig(weights=weights, exhaustive_items=exhaustive_items)).fit(data)
    alone = hybrid.components["cooccurrence"]
    item = data.items.ids[int(np.argmax(np.diff(alone.together.indptr)))]  # bought with the most items
    for purchases in ([[item]], None):
        asked = {"recent": [{item: 8.0}], "purchases": purchases}
        expected = alone.recommend("stranger", 10, **asked)
        np.testing.assert_array_equal(hybrid.recommend("stranger", 10, **asked).ids, expected.ids)
        assert (expected.scores.max() > 0.5) == (purchases is not None)  # co-purchases, or the fill only
