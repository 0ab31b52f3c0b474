"""Exact top k with items taken longest first: the same answer as scoring every item, whatever
the exclusions, filters, signs and ties, and fewer items scored on factors shaped like a shop's."""

import numpy as np
import pytest
import scipy.sparse as sp

from relevo.engine import pruned
from relevo.engine.algorithms.als import ALS, ALSConfig
from relevo.engine.pruned import LengthOrderedItems
from relevo.engine.topk import top_k
from tests.engine.shop_data import larger_shop

K = 20


def skewed_factors(items: int, users: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Item vectors whose lengths spread as a shop's do (a few long, most short)."""
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((items, 16)).astype(np.float32)
    lengths = rng.lognormal(0.0, 1.0, items).astype(np.float32)
    item_vectors = directions / np.linalg.norm(directions, axis=1, keepdims=True) * lengths[:, np.newaxis]
    return rng.standard_normal((users, 16)).astype(np.float32), item_vectors


def exclusions(users: int, items: int, per_user: int, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(users), per_user)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, rng.integers(0, items, len(rows)))), (users, items))


def scored_whole(
    user_vectors: np.ndarray,
    item_vectors: np.ndarray,
    k: int,
    excluded: list[sp.csr_matrix],
    allowed: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    scores = user_vectors @ item_vectors.T
    for matrix in excluded:
        scores[matrix.nonzero()] = -np.inf
    if allowed is not None:
        scores[:, ~allowed] = -np.inf
    return top_k(scores, k)


def assert_same(found: tuple[np.ndarray, np.ndarray], expected: tuple[np.ndarray, np.ndarray]) -> None:
    assert np.array_equal(found[0], expected[0])
    assert np.allclose(found[1], expected[1], rtol=1e-6, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("filtered", [False, True])
def test_the_answer_is_that_of_scoring_every_item(filtered: bool) -> None:
    user_vectors, item_vectors = skewed_factors(items=12_000, users=300, seed=1)
    excluded = [exclusions(300, 12_000, 40, seed=2), exclusions(300, 12_000, 3, seed=3)]
    allowed = np.random.default_rng(4).random(12_000) > 0.3 if filtered else None

    found = LengthOrderedItems(item_vectors).top_k(user_vectors, K, excluded=excluded, allowed=allowed)

    assert_same(found, scored_whole(user_vectors, item_vectors, K, excluded, allowed))


def test_users_without_a_positive_bound_are_scored_against_every_item() -> None:
    user_vectors, item_vectors = skewed_factors(items=6_000, users=3, seed=5)
    item_vectors[:, 0] = np.abs(item_vectors[:, 0])
    user_vectors[0] = 0.0
    user_vectors[0, 0] = -1.0  # every score at most 0: the best are far down the length order
    user_vectors[1, 0] = -50.0  # the same, nearly
    zero = np.zeros((1, 16), dtype=np.float32)  # every score 0: any k items are the best
    allowed = np.zeros(6_000, dtype=bool)
    allowed[[5, 4_000, 5_999]] = True  # fewer allowed than k: padded

    index = LengthOrderedItems(item_vectors)

    assert_same(index.top_k(user_vectors, K), scored_whole(user_vectors, item_vectors, K, [], None))
    padded = index.top_k(user_vectors, K, allowed=allowed)
    assert_same(padded, scored_whole(user_vectors, item_vectors, K, [], allowed))
    assert (padded[0][:, 3:] == -1).all() and np.isnan(padded[1][:, 3:]).all()
    items, scores = index.top_k(zero, K)
    assert len(set(items[0].tolist())) == K and (items >= 0).all() and (scores == 0).all()


def test_equal_scores_come_in_index_order() -> None:
    user_vectors, item_vectors = skewed_factors(items=5_000, users=1, seed=6)
    user_vectors[0] = 0.0
    user_vectors[0, 0] = 1.0
    tied = np.random.default_rng(6).choice(5_000, 30, replace=False)
    item_vectors[tied, 0] = 100.0  # the best score for all 30, whatever their length
    item_vectors[tied, 1:] *= np.linspace(1.0, 200.0, 30)[:, np.newaxis]

    items, scores = LengthOrderedItems(item_vectors).top_k(user_vectors, 30)

    assert (scores == 100.0).all()
    assert items[0].tolist() == sorted(tied.tolist())


def test_items_past_the_first_scored_are_found_when_they_belong() -> None:
    """The first FIRST items (all long) put the user's 20th best at 5.0; shorter items further
    down the order score just above it, so they belong, and only a bound as tight as the truth
    keeps them."""
    first = pruned.FIRST
    along = np.concatenate([np.full(19, 8.0), np.full(first - 19, 5.0)]).astype(np.float32)
    long_items = np.zeros((first, 16), dtype=np.float32)
    long_items[:, 0], long_items[:, 1] = along, np.sqrt(20.0**2 - along**2)  # all of length 20
    pointing = np.zeros((4, 16), dtype=np.float32)
    pointing[:, 0] = np.linspace(5.0002, 5.0008, 4)  # length and score alike
    short = np.random.default_rng(10).standard_normal((4_000, 16)).astype(np.float32) * 0.1
    item_vectors = np.concatenate([short[:2_000], long_items, pointing, short[2_000:]])
    user_vectors = np.zeros((1, 16), dtype=np.float32)
    user_vectors[0, 0] = 1.0

    found = LengthOrderedItems(item_vectors).top_k(user_vectors, K)

    assert_same(found, scored_whole(user_vectors, item_vectors, K, [], None))
    assert found[0][0, -1] == 2_000 + first + 3  # the longest pointing item, 20th


def test_on_shop_like_factors_most_users_are_scored_against_a_small_part_of_the_catalog() -> None:
    user_vectors, item_vectors = skewed_factors(items=20_000, users=500, seed=7)
    index = LengthOrderedItems(item_vectors)
    _, scores = index.top_k(user_vectors, K)

    reach = index.reach(user_vectors, scores[:, -1])

    assert np.median(reach) < 0.25 * len(item_vectors)


def test_a_factor_model_on_a_large_catalog_recommends_as_exact_scoring_does(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ALS(ALSConfig(embedding_dim=32, epochs=5)).fit(larger_shop(), seed=1)
    users = np.arange(len(model.users), dtype=np.int32)
    histories = model.histories(users)
    extra = exclusions(len(users), len(model.items), 5, seed=8)
    allowed = np.random.default_rng(9).random(len(model.items)) > 0.2
    options = {"histories": histories, "excluded": extra, "allowed": allowed}
    monkeypatch.setattr(pruned, "MIN_ITEMS", 10**9)  # every item scored
    whole = model.recommend_indices(users, K, **options)

    monkeypatch.setattr(pruned, "MIN_ITEMS", 0)  # this catalog pruned, from the 64 longest up
    monkeypatch.setattr(pruned, "FIRST", 64)
    found = model.recommend_indices(users, K, **options, threads=2)

    assert_same(found, whole)
    for row in range(len(users)):
        assert not set(found[0][row]) & (set(histories[row].indices) | set(extra[row].indices))
