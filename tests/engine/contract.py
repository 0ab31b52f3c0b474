"""The contract every recommender passes: one suite, reused by each algorithm's tests.

Subclass `RecommenderContract` and implement `make()` (a fresh, unfitted recommender).
"""

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from relevo.engine import artifacts
from relevo.engine.base import FitStopped, Recommender
from relevo.engine.data import TrainingData
from relevo.engine.events import PURCHASE_TYPES, EventWeights, indicator
from tests.engine.shop_data import small_shop


class RecommenderContract:
    k = 10

    def make(self) -> Recommender:
        raise NotImplementedError

    @pytest.fixture
    def data(self) -> TrainingData:
        return small_shop()

    @pytest.fixture
    def model(self, data: TrainingData) -> Recommender:
        return self.make().fit(data, seed=3, threads=1)

    def known_users(self, data: TrainingData, count: int = 5) -> list[str]:
        return data.users.ids[:count].tolist()

    def test_recommends_k_known_items_best_first(self, model: Recommender, data: TrainingData) -> None:
        result = model.recommend(self.known_users(data), self.k)
        assert result.ids.shape == result.scores.shape == (5, self.k)
        for row in range(5):
            ids, scores = result.for_user(row)
            assert ids, "a known user gets recommendations"
            assert all(item in data.items for item in ids)
            assert len(set(ids)) == len(ids)
            assert scores == sorted(scores, reverse=True)

    def test_an_unknown_user_gets_an_answer(self, model: Recommender) -> None:
        result = model.recommend("nobody-knows-me", self.k)
        assert result.ids.shape == (1, self.k)

    def test_an_empty_history_is_not_an_error(self, model: Recommender) -> None:
        result = model.recommend(["new-1", "new-2"], self.k, recent=[{}, {}])
        assert result.ids.shape == (2, self.k)

    def test_history_is_excluded(self, model: Recommender, data: TrainingData) -> None:
        users = self.known_users(data)
        result = model.recommend(users, self.k)
        for row, user in enumerate(users):
            seen = set(data.items.lookup(model.history[data.users.index(user)].indices).tolist())
            assert not seen & set(result.for_user(row)[0])

    def test_recent_items_are_excluded_too(self, model: Recommender, data: TrainingData) -> None:
        user = self.known_users(data, 1)[0]
        first = model.recommend(user, self.k).for_user()[0]
        recent = {first[0]: 8.0, first[1]: 1.0}
        again = model.recommend(user, self.k, recent=[recent]).for_user()[0]
        assert not set(recent) & set(again)

    def test_request_time_purchases_are_honoured(self, model: Recommender, data: TrainingData) -> None:
        """Purchases since training reach every model that learns from purchases (a co-purchase
        model, or a hybrid with one), in id and index space alike, and change nothing for the others."""
        bought = indicator(data.events, PURCHASE_TYPES)
        together = (bought.T @ bought).tocsr()
        together.setdiag(0)
        item = data.items.ids[int(np.argmax(np.asarray(together.sum(axis=1)).ravel()))]
        recent = [{item: EventWeights().of("purchase")}]
        plain = model.recommend(["stranger", "other"], self.k, recent=[*recent, {}])
        bought_now = model.recommend(["stranger", "other"], self.k, recent=[*recent, {}], purchases=[[item], []])
        users = model.users.indices(["stranger"])
        purchases = sp.csr_matrix(([1.0], ([0], [model.items.index(item)])), shape=(1, len(model.items)))
        indexed, scores = model.recommend_indices(
            users, self.k, histories=model.histories(users, recent), purchases=purchases.astype(np.float32)
        )
        np.testing.assert_array_equal(model.items.lookup(indexed[0][indexed[0] >= 0]), bought_now.for_user(0)[0])
        np.testing.assert_allclose(scores[0], bought_now.scores[0], rtol=1e-5)  # one user, or two
        np.testing.assert_array_equal(plain.ids[1], bought_now.ids[1])  # the other user bought nothing
        learns_purchases = model.algorithm == "cooccurrence" or "cooccurrence" in getattr(model, "components", {})
        changed = not np.array_equal(plain.scores[0], bought_now.scores[0], equal_nan=True)
        assert changed == learns_purchases

    def test_explicitly_excluded_items_are_left_out(self, model: Recommender, data: TrainingData) -> None:
        user = self.known_users(data, 1)[0]
        first = model.recommend(user, self.k).for_user()[0]
        # In any order, with an id the model never saw among them (ignored).
        again = model.recommend(user, self.k, exclude=[[first[2], "no-such-item", first[0], first[1]]]).for_user()[0]
        assert not set(first[:3]) & set(again)

    def test_only_allowed_items_are_recommended(self, model: Recommender, data: TrainingData) -> None:
        allowed = np.zeros(len(data.items), dtype=bool)
        allowed[::3] = True
        result = model.recommend(self.known_users(data), self.k, allowed=allowed)
        permitted = set(data.items.ids[allowed].tolist())
        for row in range(5):
            assert set(result.for_user(row)[0]) <= permitted

    def test_a_batch_answers_as_single_calls_do(self, model: Recommender, data: TrainingData) -> None:
        users = self.known_users(data, 3)
        batch = model.recommend(users, self.k)
        for row, user in enumerate(users):
            single = model.recommend(user, self.k)
            np.testing.assert_array_equal(batch.ids[row], single.ids[0])
            np.testing.assert_allclose(batch.scores[row], single.scores[0], rtol=1e-5, equal_nan=True)

    def test_save_and_load_give_identical_answers(self, model: Recommender, data: TrainingData, tmp_path: Path) -> None:
        artifacts.save(model, tmp_path)
        loaded, manifest = artifacts.load(tmp_path)
        assert manifest["algorithm"] == model.algorithm
        assert manifest["config"] == model.config_dict()
        users = [*self.known_users(data), "nobody-knows-me"]
        before, after = model.recommend(users, self.k), loaded.recommend(users, self.k)
        np.testing.assert_array_equal(before.ids, after.ids)
        np.testing.assert_array_equal(before.scores, after.scores)
        item = data.items.ids[0]
        np.testing.assert_array_equal(model.similar_items(item)[0], loaded.similar_items(item)[0])

    def test_the_same_seed_gives_the_same_model(self, data: TrainingData) -> None:
        users = self.known_users(data)
        first = self.make().fit(data, seed=11, threads=1).recommend(users, self.k)
        second = self.make().fit(data, seed=11, threads=1).recommend(users, self.k)
        np.testing.assert_array_equal(first.ids, second.ids)
        np.testing.assert_allclose(first.scores, second.scores, rtol=1e-5, equal_nan=True)

    def test_a_fit_stops_at_whichever_step_it_is_told_to(self, data: TrainingData) -> None:
        asked = 0

        def never() -> bool:
            nonlocal asked
            asked += 1
            return False

        self.make().fit(data, seed=1, threads=1, should_stop=never)
        assert asked >= 1
        for last in sorted({1, asked}):  # told at the first step, and at the last
            told = 0

            def at_last(last: int = last) -> bool:
                nonlocal told
                told += 1
                return told >= last

            with pytest.raises(FitStopped):
                self.make().fit(data, seed=1, threads=1, should_stop=at_last)
            assert told == last

    def test_similar_items_leave_out_the_item_itself(self, model: Recommender, data: TrainingData) -> None:
        item = data.items.ids[np.argmax(np.asarray(model.history.sum(axis=0)).ravel())]
        ids, scores = model.similar_items(item, self.k)
        assert item not in ids.tolist()
        assert len(ids) == len(scores) <= self.k
        assert scores.tolist() == sorted(scores.tolist(), reverse=True)

    def test_an_unknown_item_has_no_similar_items(self, model: Recommender) -> None:
        ids, scores = model.similar_items("not-in-the-catalog")
        assert len(ids) == len(scores) == 0
