"""Approximate top k over item factors: close to exact, never returns what is left out, and
falls back to exact scoring where the graph cannot answer."""

from functools import cache

import numpy as np
import scipy.sparse as sp

from relevo.engine.algorithms.als import ALS, ALSConfig
from relevo.engine.ann import MAX_OVERFETCH, ItemIndex
from tests.engine.shop_data import larger_shop, small_shop

K = 20


@cache
def trained_als() -> ALS:
    return ALS(ALSConfig(embedding_dim=32, epochs=5)).fit(larger_shop(), seed=1)


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, exact, strict=True)]))


def test_the_graph_finds_nearly_the_exact_top_k_and_nothing_left_out() -> None:
    model = trained_als()
    users = np.arange(len(model.users), dtype=np.int32)
    histories = model.histories(users)
    allowed = np.random.default_rng(5).random(len(model.items)) > 0.2
    exact, _ = model.recommend_indices(users, K, histories=histories, allowed=allowed)

    best, scores, short = ItemIndex(model.item_factors).search(
        model.user_factors, K, depth=48, excluded=histories, allowed=allowed
    )

    assert not short.any() and (best >= 0).all()
    assert recall(best, exact) >= 0.95
    for row in range(len(users)):
        assert not set(best[row]) & set(histories[row].indices)
    assert allowed[best].all()
    dot = np.einsum("ij,ikj->ik", model.user_factors, model.item_factors[best])
    np.testing.assert_allclose(scores, dot, rtol=1e-4, atol=1e-4)
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first


def test_a_narrow_filter_is_left_to_exact_scoring() -> None:
    model = trained_als()
    allowed = np.zeros(len(model.items), dtype=bool)
    allowed[:100] = True  # a small part of the catalog
    best, _, short = ItemIndex(model.item_factors).search(model.user_factors, K, depth=48, allowed=allowed)
    assert short.all() and (best == -1).all()


def test_a_factor_model_answers_approximately_what_it_answers_exactly() -> None:
    data = small_shop()
    model = ALS(ALSConfig(embedding_dim=16, epochs=5)).fit(data, seed=1)
    users = np.arange(len(data.users), dtype=np.int32)
    histories = model.histories(users)
    allowed = np.ones(len(data.items), dtype=bool)
    allowed[::2] = False  # half the catalog: searched in the graph
    exact, exact_scores = model.recommend_indices(users, 10, histories=histories, allowed=allowed)

    found, scores = model.approximate_indices(
        users, 10, histories=histories, depth=len(data.items), excluded=histories, allowed=allowed
    )

    assert recall(found, exact) >= 0.99
    np.testing.assert_allclose(np.sort(scores, axis=1), np.sort(exact_scores, axis=1), rtol=1e-4, atol=1e-4)
    narrow = np.zeros(len(data.items), dtype=bool)
    narrow[:20] = True  # scored exactly: the same answer
    exact, _ = model.recommend_indices(users, 10, histories=histories, allowed=narrow)
    found, _ = model.approximate_indices(users, 10, histories=histories, depth=64, excluded=histories, allowed=narrow)
    np.testing.assert_array_equal(found, exact)


def test_rows_the_graph_cannot_fill_are_scored_exactly() -> None:
    model = trained_als()
    users = np.arange(30, dtype=np.int32)
    histories = model.histories(users)
    # User 0 leaves out their 600 best items, more than the search fetches beyond k: that row
    # comes back short from the graph and is scored exactly; the others are not.
    best_first = np.argsort(-(model.user_factors[0] @ model.item_factors.T))[:600]
    rows = np.zeros(len(best_first), dtype=np.int32)
    excluded = sp.csr_matrix((np.ones(600, np.float32), (rows, best_first)), shape=(30, len(model.items)))
    assert MAX_OVERFETCH < 600
    _, _, short = ItemIndex(model.item_factors).search(model.user_factors[:30], K, depth=48, excluded=excluded)
    assert short.tolist() == [True] + [False] * 29

    exact, _ = model.recommend_indices(users, K, histories=histories, exclude_history=False, excluded=excluded)
    found, _ = model.approximate_indices(users, K, histories=histories, depth=48, excluded=excluded)

    np.testing.assert_array_equal(found[0], exact[0])
    assert not set(found[0]) & set(best_first) and recall(found, exact) >= 0.95
