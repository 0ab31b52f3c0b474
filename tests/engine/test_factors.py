"""Uploaded factors: the contract (on factors an ALS model learned, uploaded as a shop would),
known users scored by their own factor, a stranger's factor folded in as ALS folds one in, and
the layout's checks naming the array and the problem."""

import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from relevo.engine import uploaded_factors
from relevo.engine.algorithms import ALGORITHMS, recommender_class, saved_class
from relevo.engine.algorithms.als import ALS, ALSConfig
from relevo.engine.algorithms.factors import ExternalFactors, NotTrainable
from relevo.engine.base import Recommender
from relevo.engine.data import TrainingData
from relevo.engine.explain import recommend_explained
from relevo.engine.uploaded_factors import LayoutError
from tests.engine.contract import RecommenderContract
from tests.engine.shop_data import small_shop


def als_layout(data: TrainingData, **extra: np.ndarray) -> dict[str, np.ndarray]:
    """What a shop that trained ALS itself would upload."""
    als = ALS(ALSConfig(embedding_dim=16, epochs=5)).fit(data, seed=3)
    return {
        "user_ids": data.users.ids,
        "item_ids": data.items.ids,
        "user_factors": als.user_factors,
        "item_factors": als.item_factors,
        **extra,
    }


class TestExternalFactorsContract(RecommenderContract):
    """What applies of the contract: a model of uploaded factors is never fitted here."""

    @pytest.fixture
    def model(self, data: TrainingData) -> Recommender:
        return uploaded_factors.from_arrays(als_layout(data))

    def test_the_same_seed_gives_the_same_model(self, data: TrainingData) -> None:
        first, second = (uploaded_factors.from_arrays(als_layout(data)) for _ in range(2))
        users = self.known_users(data)
        np.testing.assert_array_equal(first.recommend(users, self.k).ids, second.recommend(users, self.k).ids)

    def test_a_fit_stops_at_whichever_step_it_is_told_to(self, data: TrainingData) -> None:
        with pytest.raises(NotTrainable, match="uploaded"):
            ExternalFactors().fit(data)


def test_known_users_score_with_their_uploaded_factor_whatever_they_did_since() -> None:
    data = small_shop()
    layout = als_layout(data)
    model = uploaded_factors.from_arrays(layout)
    user = str(data.users.ids[4])
    recent = {str(item): 8.0 for item in data.items.ids[:20]}
    scores = model.recommend(user, len(data.items), recent=[recent], exclude_history=False).scores
    expected = np.sort(layout["item_factors"] @ layout["user_factors"][4])[::-1]
    np.testing.assert_allclose(scores[0], expected, rtol=1e-5)


def test_a_stranger_with_events_gets_the_factor_implicit_would_fold_in() -> None:
    data = small_shop()
    als = ALS(ALSConfig(embedding_dim=16, epochs=5, alpha=1.0, regularization=0.1)).fit(data, seed=3)
    layout = als_layout(data)
    layout["item_factors"] = als.item_factors
    model = uploaded_factors.from_arrays({**layout, "regularization": np.float64(0.1)})
    history = sp.csr_matrix(np.where(np.arange(len(data.items)) % 37 == 0, 3.0, 0.0).astype(np.float32))
    ours = model.user_vectors(np.array([-1]), history)
    # implicit takes the confidence itself (alpha × weight): 1 + weight, as the paper has it.
    confidence = history.copy()
    confidence.data += 1.0
    theirs = als.model.recalculate_user(np.arange(1), confidence)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-3, atol=1e-4)


def test_a_stranger_without_events_gets_the_average_user() -> None:
    data = small_shop()
    layout = als_layout(data)
    model = uploaded_factors.from_arrays(layout)
    empty = sp.csr_matrix((1, len(data.items)), dtype=np.float32)
    np.testing.assert_allclose(model.user_vectors(np.array([-1]), empty)[0], layout["user_factors"].mean(axis=0))
    with_events = model.recommend("stranger", 10, recent=[{str(data.items.ids[0]): 8.0}]).for_user()[0]
    assert with_events != model.recommend("stranger", 10).for_user()[0]


def test_an_upload_explains_itself_by_the_users_own_items() -> None:
    data = small_shop()
    model = uploaded_factors.from_arrays(als_layout(data))
    recent = {str(item): 4.0 for item in data.items.ids[:5]}
    reasons = recommend_explained(model, "stranger", 5, recent=[recent]).for_user()
    assert reasons and {reason.component for reason in reasons} == {"factors"}
    assert all(reason.source in recent for reason in reasons if reason.source is not None)
    assert any(reason.source is not None for reason in reasons)


def test_the_popularity_and_ridge_uploaded_are_kept_through_saving(tmp_path: Path) -> None:
    data = small_shop()
    popularity = np.arange(len(data.items), dtype=np.float64)
    path = tmp_path / "factors.npz"
    np.savez(path, **als_layout(data, item_popularity=popularity, regularization=np.array(2.5)))
    model = uploaded_factors.read_layout(path)
    assert model.config.regularization == 2.5
    np.testing.assert_array_equal(model.item_popularity, popularity.astype(np.float32))
    assert len(model.history.indices) == 0 and model.history.shape == (len(data.users), len(data.items))


def test_factors_are_never_trained() -> None:
    assert "factors" not in ALGORITHMS
    with pytest.raises(ValueError, match="uploaded to the registry"):
        recommender_class("factors")
    assert saved_class("factors") is ExternalFactors


def small_layout() -> dict[str, np.ndarray]:
    return {
        "user_ids": np.array(["u1", "u2"]),
        "item_ids": np.array(["a", "b", "c"]),
        "user_factors": np.ones((2, 4), dtype=np.float32),
        "item_factors": np.ones((3, 4), dtype=np.float64),
    }


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"user_factors": None}, "user_factors: missing"),
        ({"item_factor": np.ones((3, 4))}, "item_factor: not an array of the layout"),
        ({"item_ids": np.array(["a", "b", "c"], dtype=object)}, "item_ids: an array of Python objects"),
        ({"item_ids": np.array([1, 2, 3])}, "item_ids: must be strings"),
        ({"item_ids": np.array(["a", "b", "a"])}, r"item_ids: 1 id\(s\) appear more than once, e.g. 'a'"),
        ({"user_ids": np.array(["u1", ""])}, "user_ids: an empty id at position 1"),
        ({"item_ids": np.array([], dtype=str), "item_factors": np.ones((0, 4))}, "item_ids: empty"),
        ({"user_factors": np.ones((3, 4))}, r"user_factors: shape \(3, 4\); must be \(2, d\)"),
        ({"user_factors": np.ones(2)}, r"user_factors: shape \(2,\)"),
        ({"item_factors": np.ones((3, 5))}, "item_factors: 5 columns, but user_factors has 4"),
        ({"item_factors": np.ones((3, 4), dtype=np.int64)}, "item_factors: must be floats"),
        ({"user_factors": np.ones((2, 0)), "item_factors": np.ones((3, 0))}, "user_factors: 0 factors"),
        ({"user_factors": np.ones((2, 2000)), "item_factors": np.ones((3, 2000))}, "between 1 and 1024"),
        ({"item_factors": np.array([[1, 2, 3, np.nan]] * 3)}, r"item_factors: 3 value\(s\) NaN or infinite"),
        ({"user_factors": np.full((2, 4), 1e300)}, "user_factors: 8 value"),
        ({"item_popularity": np.ones(2)}, r"item_popularity: shape \(2,\); must be \(3,\)"),
        ({"item_popularity": np.array([1.0, -1.0, 0.0])}, "item_popularity: must not be negative"),
        ({"item_popularity": np.array(["1", "2", "3"])}, "item_popularity: must be numbers"),
        ({"regularization": np.array([0.1, 0.2])}, "regularization: shape"),
        ({"regularization": np.array(-1.0)}, "regularization: must not be negative"),
        ({"user_ids": np.array(["u" * 300, "u2"])}, "user_ids: ids of up to 300 characters"),
    ],
)
def test_a_layout_that_is_wrong_is_refused_naming_the_array(change: dict, problem: str, tmp_path: Path) -> None:
    layout = {**small_layout(), **change}
    layout = {name: value for name, value in layout.items() if value is not None}
    path = tmp_path / "factors.npz"
    np.savez(path, **layout)
    with pytest.raises(LayoutError, match=problem):
        uploaded_factors.read_layout(path)


def write_declared(path: Path, declared: dict[str, tuple[str, tuple[int, ...]]]) -> None:
    """An .npz whose arrays are headers alone (dtype, shape), as a crafted upload may declare."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, (dtype, shape) in declared.items():
            with archive.open(f"{name}.npy", "w") as stream:
                np.lib.format.write_array_header_2_0(stream, {"descr": dtype, "fortran_order": False, "shape": shape})


@pytest.mark.parametrize(
    ("users", "items", "factors", "problem"),
    [
        (30_000_000, 10, 8, "user_ids: 30,000,000 ids; at most 20,000,000"),
        (10, 6_000_000, 8, "item_ids: 6,000,000 ids; at most 5,000,000"),
        (4_000_000, 1_000_000, 64, "user_factors: with item_factors, 320,000,000 values; at most 268,435,456"),
    ],
)
def test_huge_arrays_are_refused_from_their_headers_before_they_are_read(
    users: int, items: int, factors: int, problem: str, tmp_path: Path
) -> None:
    path = tmp_path / "huge.npz"
    declared = {
        "user_ids": ("<U8", (users,)),
        "item_ids": ("<U8", (items,)),
        "user_factors": ("<f4", (users, factors)),
        "item_factors": ("<f4", (items, factors)),
    }
    write_declared(path, declared)
    with pytest.raises(LayoutError, match=problem):
        uploaded_factors.read_layout(path)


def test_a_file_that_is_not_an_npz_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "factors.npz"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(LayoutError, match=r"not a readable \.npz"):
        uploaded_factors.read_layout(path)
