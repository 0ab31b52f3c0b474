"""The estimate of a training's memory: what dominates each algorithm (EASE's items² dense
matrix, factors × (users + items), neighbours × items) and the data itself; a hybrid counts
the components it trains."""

import pytest

from relevo.engine.algorithms import recommender_class
from relevo.engine.memory import DataSize, training_bytes

GIB = 2**30
SHOP = DataSize(users=100_000, items=20_000, events=2_000_000)


def estimate(algorithm: str, size: DataSize = SHOP, **settings: object) -> int:
    return training_bytes(algorithm, recommender_class(algorithm).make_config(settings), size)


def test_ease_grows_with_the_square_of_the_catalog() -> None:
    assert 6 * GIB < estimate("ease") < 12 * GIB  # 20,000² floats: the Gram matrix, its inverse, the weights
    larger = DataSize(users=SHOP.users, items=40_000, events=SHOP.events)
    assert estimate("ease", larger, max_items=50_000) > 3.5 * estimate("ease")


def test_factor_models_grow_with_factors_times_users_and_items() -> None:
    small, large = estimate("als", embedding_dim=64), estimate("als", embedding_dim=1024)
    factors = 4 * (SHOP.users + SHOP.items)  # bytes per factor, for every user and item
    assert large - small == pytest.approx(6 * (1024 - 64) * factors, rel=0.01)  # two models kept, one being fitted
    assert estimate("bpr", embedding_dim=1024) == large


def test_item_knn_grows_with_its_neighbours() -> None:
    assert estimate("item_knn", neighbours=1000) - estimate("item_knn", neighbours=100) == pytest.approx(
        5 * 900 * 8 * SHOP.items, rel=0.01
    )


def test_the_data_counts_whatever_the_algorithm() -> None:
    more_events = DataSize(users=SHOP.users, items=SHOP.items, events=10 * SHOP.events)
    assert estimate("popular", more_events) > estimate("popular") + 9 * SHOP.events * 100


def test_a_hybrid_counts_the_components_it_trains() -> None:
    every = estimate("hybrid")
    assert every > estimate("ease") and every > estimate("als")
    without_ease = estimate("hybrid", weights={"ease": 0})
    assert every - without_ease > 6 * GIB
    # Over EASE's max_items the hybrid does without it, so does not count it.
    huge = DataSize(users=SHOP.users, items=200_000, events=SHOP.events)
    assert estimate("hybrid", huge) < 4 * GIB
