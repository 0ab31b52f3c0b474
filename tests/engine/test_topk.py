"""Top k: the narrowed path for wide rows gives what a full sort gives, and batches scored on
several threads give what one thread gives."""

import numpy as np
import pytest

from relevo.engine.algorithms.als import ALS, ALSConfig
from relevo.engine.algorithms.factorization import stale_users
from relevo.engine.topk import top_k
from tests.engine.shop_data import small_shop


def reference(scores: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """Each row's k best (index, score) by a full sort: score down, then index up."""
    rows = []
    for row in scores:
        order = sorted((index for index in range(len(row)) if np.isfinite(row[index])), key=lambda i: (-row[i], i))
        rows.append([(index, float(row[index])) for index in order[:k]])
    return rows


def as_pairs(indices: np.ndarray, values: np.ndarray) -> list[list[tuple[int, float]]]:
    return [
        [(int(i), float(v)) for i, v in zip(ri, rv, strict=True) if i >= 0]
        for ri, rv in zip(indices, values, strict=True)
    ]


@pytest.mark.parametrize(("columns", "k"), [(50_003, 20), (20_000, 100), (4_000, 10), (300, 10), (30, 50)])
def test_top_k_matches_a_full_sort(columns: int, k: int) -> None:
    rng = np.random.default_rng(columns)
    scores = rng.standard_normal((6, columns)).astype(np.float32)
    scores[0, rng.choice(columns, columns // 2, replace=False)] = -np.inf  # half filtered out
    scores[1, [columns - 1, columns // 2, 3]] = 9.0  # equal scores within the k best: index order
    indices, values = top_k(scores, k)
    assert indices.shape == (6, min(k, columns))
    assert as_pairs(indices, values) == reference(scores, k)


def test_rows_with_fewer_finite_scores_are_padded() -> None:
    scores = np.full((2, 40_000), -np.inf, dtype=np.float32)
    scores[0, [7, 39_999, 123]] = [1.0, 3.0, 2.0]
    indices, values = top_k(scores, 10)
    assert indices[0, :4].tolist() == [39_999, 123, 7, -1]
    assert (indices[1] == -1).all() and np.isnan(values[1]).all()


def test_threads_score_batches_as_one_thread_does() -> None:
    data = small_shop()
    model = ALS(ALSConfig(embedding_dim=8, epochs=3)).fit(data, seed=2)
    model._batch_users = lambda: 16  # many small batches, so the threads share them
    users = np.arange(len(data.users), dtype=np.int32)
    histories = model.histories(users)
    alone = model.recommend_indices(users, 10, histories=histories)
    shared = model.recommend_indices(users, 10, histories=histories, threads=2)
    assert np.array_equal(alone[0], shared[0]) and np.allclose(alone[1], shared[1], equal_nan=True)


def test_stale_users_are_those_unknown_or_with_new_events() -> None:
    data = small_shop()
    model = ALS(ALSConfig(embedding_dim=8, epochs=3)).fit(data, seed=2)
    users = np.array([0, 1, -1, 2], dtype=np.int32)
    assert stale_users(users, model.histories(users), model.history).tolist() == [False, False, True, False]
    item = data.items.ids[0]
    recent = [{}, {item: 5.0}, {}, {}]
    assert stale_users(users, model.histories(users, recent), model.history).tolist() == [False, True, True, False]
