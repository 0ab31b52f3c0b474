"""Popularity: the contract, and that it really ranks by popularity."""

import numpy as np

from relevo.engine.algorithms.popular import Popular, PopularConfig
from relevo.engine.data import EventLog, ItemCatalog, TrainingData
from tests.engine.contract import RecommenderContract

DAY = 86_400


class TestPopularContract(RecommenderContract):
    def make(self) -> Popular:
        return Popular()


class TestTrendingContract(RecommenderContract):
    def make(self) -> Popular:
        return Popular(PopularConfig(kind="trending"))


def training(users: list[str], items: list[str], days_ago: list[int]) -> TrainingData:
    now = 100 * DAY
    events = EventLog.from_columns(users, items, ["view"] * len(users), [now - d * DAY for d in days_ago])
    return TrainingData(events, ItemCatalog.empty(events.items), now=now)


def test_the_item_most_users_touched_comes_first() -> None:
    data = training(["a", "b", "c", "a", "a", "a"], ["x", "x", "x", "y", "y", "y"], [0] * 6)
    ids, _ = Popular().fit(data).recommend("new user", 2).for_user()
    assert ids == ["x", "y"]  # three users beat one user three times


def test_trending_prefers_what_is_popular_now() -> None:
    data = training(["a", "b", "c", "d", "e"], ["old", "old", "old", "new", "new"], [60, 60, 60, 0, 1])
    assert Popular().fit(data).recommend("u", 2).for_user()[0] == ["old", "new"]
    trending = Popular(PopularConfig(kind="trending")).fit(data)
    assert trending.recommend("u", 2).for_user()[0] == ["new", "old"]


def test_every_user_gets_the_same_ranking() -> None:
    data = training(["a", "b", "c"], ["x", "y", "y"], [0, 0, 0])
    model = Popular().fit(data)
    result = model.recommend(["stranger", "another"], 2, exclude_history=False)
    np.testing.assert_array_equal(result.ids[0], result.ids[1])
