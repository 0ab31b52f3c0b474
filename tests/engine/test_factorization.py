"""ALS and BPR: the contract, and that a session in progress moves a user's factors."""

import pytest

from relevo.engine.algorithms.als import ALS, ALSConfig
from relevo.engine.algorithms.bpr import BPR, BPRConfig
from relevo.engine.data import TrainingData
from tests.engine.contract import RecommenderContract
from tests.engine.shop_data import small_shop


class TestALSContract(RecommenderContract):
    def make(self) -> ALS:
        return ALS(ALSConfig(embedding_dim=16, epochs=5))


class TestALSWithBM25Contract(RecommenderContract):
    def make(self) -> ALS:
        return ALS(ALSConfig(embedding_dim=16, epochs=5, bm25=True))


class TestBPRContract(RecommenderContract):
    def make(self) -> BPR:
        return BPR(BPRConfig(embedding_dim=16, epochs=20))


@pytest.mark.parametrize("model", [ALS(ALSConfig(embedding_dim=16, epochs=5)), BPR(BPRConfig(embedding_dim=16))])
def test_recent_events_change_the_answer_without_retraining(model: ALS | BPR) -> None:
    data: TrainingData = small_shop()
    model.fit(data, seed=1)
    user = data.users.ids[0]
    before = model.recommend(user, 10).for_user()[0]
    # Heavy interest in the items of another user's history pulls towards that user's taste.
    other = model.history[len(data.users) - 1]
    recent = dict.fromkeys(data.items.lookup(other.indices).tolist(), 8.0)
    after = model.recommend(user, 10, recent=[recent]).for_user()[0]
    assert after != before


def test_a_stranger_with_a_session_gets_a_factor_of_their_own() -> None:
    data = small_shop()
    model = ALS(ALSConfig(embedding_dim=16, epochs=5)).fit(data, seed=1)
    nobody = model.recommend("stranger", 10).for_user()[0]
    first, second = (data.items.lookup(model.history[row].indices).tolist() for row in (0, 1))
    with_first = model.recommend("stranger", 10, recent=[dict.fromkeys(first, 4.0)]).for_user()[0]
    with_second = model.recommend("stranger", 10, recent=[dict.fromkeys(second, 4.0)]).for_user()[0]
    assert with_first != nobody and with_first != with_second


@pytest.mark.parametrize(
    ("cls", "values", "problem"),
    [
        (ALS, {"embedding_dim": 0}, "embedding_dim"),
        (ALS, {"alpha": 0}, "alpha"),
        (BPR, {"learning_rate": 0}, "learning_rate"),
        (BPR, {"epochs": 0}, "epochs"),
    ],
)
def test_settings_out_of_range_are_refused(cls: type, values: dict, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        cls.make_config(values)


@pytest.mark.parametrize("cls", [ALS, BPR])
def test_a_factor_model_is_asked_whether_to_stop_after_every_iteration(cls: type[ALS] | type[BPR]) -> None:
    asked = 0

    def never() -> bool:
        nonlocal asked
        asked += 1
        return False

    cls(cls.Config(embedding_dim=8, epochs=7)).fit(small_shop(), should_stop=never)
    assert asked == 1 + 7  # before it begins, then after each of its epochs
