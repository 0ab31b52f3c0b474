"""EASE: the contract, the closed form's zero diagonal, the catalog size it refuses, and
pairs that count less the further apart a user touched them."""

import numpy as np
import pytest
import scipy.sparse as sp

from relevo.engine.algorithms.ease import EASE, EASEConfig, sequence_gram
from relevo.engine.data import EventLog, ItemCatalog, TrainingData
from tests.engine.contract import RecommenderContract
from tests.engine.shop_data import small_shop


class TestEASEContract(RecommenderContract):
    def make(self) -> EASE:
        return EASE()


class TestEDLAEContract(RecommenderContract):
    def make(self) -> EASE:
        return EASE(EASEConfig(dropout=0.25))


def test_an_item_never_predicts_itself() -> None:
    model = EASE(EASEConfig(l2=50.0)).fit(small_shop())
    assert np.all(np.diag(model.weights) == 0)
    assert np.abs(model.weights).sum() > 0


def test_a_catalog_over_max_items_is_refused() -> None:
    with pytest.raises(ValueError, match="max_items"):
        EASE(EASEConfig(max_items=10)).fit(small_shop())


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"dropout": 1.0}, "dropout"),
        ({"l2": 0}, "l2"),
        ({"pair_half_life": -1.0}, "pair_half_life"),
        ({"pair_half_life": float("inf")}, "pair_half_life"),
    ],
)
def test_settings_out_of_range_are_refused(values: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        EASE.make_config(values)


class TestSequenceEASEContract(RecommenderContract):
    def make(self) -> EASE:
        return EASE(EASEConfig(pair_half_life=5.0))


def _reference_gram(matrix: sp.csr_matrix, times: np.ndarray, half_life: float) -> np.ndarray:
    """sequence_gram's definition, pair by pair."""
    gram = np.zeros((matrix.shape[1],) * 2)
    for user in range(matrix.shape[0]):
        start, end = matrix.indptr[user], matrix.indptr[user + 1]
        places = [_place(time, times[start:end]) for time in times[start:end]]
        history = list(zip(places, matrix.indices[start:end], matrix.data[start:end], strict=True))
        for place_a, item_a, weight_a in history:
            for place_b, item_b, weight_b in history:
                gram[item_a, item_b] += 0.5 ** (abs(place_a - place_b) / half_life) * weight_a * weight_b
    return gram


def _place(time: int, times: np.ndarray) -> float:
    """A moment's place among `times`: the mean of the ranks of the entries touched then."""
    before, at = int((times < time).sum()), int((times == time).sum())
    return before + (at + 1) / 2


@pytest.mark.parametrize("moments", [1_000, 4])  # few moments: many items touched at once
def test_sequence_gram_weighs_each_pair_by_how_far_apart_the_user_touched_it(moments: int) -> None:
    generator = np.random.default_rng(3)
    matrix = sp.random(20, 30, density=0.4, format="csr", random_state=generator, dtype=np.float64)
    times = generator.integers(0, moments, size=matrix.nnz)
    assert np.allclose(sequence_gram(matrix, times, 2.0), _reference_gram(matrix, times, 2.0))


def test_items_touched_at_the_same_moment_count_fully_together_however_many() -> None:
    # 1,500 items at one moment, more than a block, then one more much later.
    matrix = sp.csr_matrix(np.ones((1, 1_501)))
    times = np.array([7] * 1_500 + [10**6])
    gram = sequence_gram(matrix, times, 1.0)
    assert np.all(gram[:1_500, :1_500] == 1.0)
    assert np.all(gram[:1_500, 1_500] == 0.0)  # 750.5 places away: beyond reach


def test_a_history_longer_than_a_block_is_summed_in_blocks_without_its_faint_pairs() -> None:
    # One user with 1,300 items: three blocks; pairs more than 14 places apart weigh under
    # 1e-4 at a half-life of 1 and are left out.
    items = 1_300
    matrix = sp.csr_matrix(np.ones((1, items)))
    times = np.random.default_rng(5).permutation(items)
    gram = sequence_gram(matrix, times, 1.0)
    assert np.allclose(gram, gram.T)
    assert np.allclose(gram, _reference_gram(matrix, times, 1.0), atol=1e-4)
    assert np.linalg.eigvalsh(gram).min() > -1e-6


def test_without_fading_the_sequence_gram_is_the_plain_one() -> None:
    matrix = sp.random(15, 25, density=0.5, format="csr", random_state=1, dtype=np.float64)
    times = np.arange(matrix.nnz)
    assert np.allclose(sequence_gram(matrix, times, 1e12), (matrix.T @ matrix).toarray())


def test_items_touched_side_by_side_predict_each_other_more_than_items_far_apart() -> None:
    # Every user touches a, b, then ten fillers, then c: a and c co-occur as often as a and b.
    users, items, times = [], [], []
    for user in range(40):
        sequence = ["a", "b", *[f"filler{(user + step) % 30}" for step in range(10)], "c"]
        users += [f"u{user}"] * len(sequence)
        items += sequence
        times += list(range(len(sequence)))
    events = EventLog.from_columns(users, items, ["view"] * len(items), times)
    data = TrainingData(events=events, catalog=ItemCatalog.empty(events.items))
    plain = EASE(EASEConfig(l2=10.0)).fit(data)
    ordered = EASE(EASEConfig(l2=10.0, pair_half_life=2.0)).fit(data)
    a, b, c = events.items.indices(["a", "b", "c"])
    assert plain.weights[a, b] == pytest.approx(plain.weights[a, c], rel=1e-3)
    assert ordered.weights[a, b] > 2 * ordered.weights[a, c]
