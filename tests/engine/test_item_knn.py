"""Item-based kNN: the contract, and that neighbours come from shared users, shrinkage
distrusts thin evidence, and a session in progress changes the answer."""

import numpy as np

from relevo.engine.algorithms.item_knn import ItemKNN, ItemKNNConfig
from relevo.engine.data import EventLog, ItemCatalog, TrainingData
from tests.engine.contract import RecommenderContract

NOW = 1_700_000_000


class TestItemKNNContract(RecommenderContract):
    def make(self) -> ItemKNN:
        return ItemKNN()


class TestItemKNNBM25Contract(RecommenderContract):
    def make(self) -> ItemKNN:
        return ItemKNN(ItemKNNConfig(similarity="bm25"))


def training(touched: dict[str, str]) -> TrainingData:
    """{user: "abc"}: each letter an item the user viewed."""
    pairs = [(user, item) for user, items in touched.items() for item in items]
    users, items = zip(*pairs, strict=True)
    log = EventLog.from_columns(users, items, ["view"] * len(pairs), [NOW] * len(pairs))
    return TrainingData(log, ItemCatalog.empty(log.items), now=NOW)


# Two tastes: a goes with b, c with d; e is touched by everyone, so it goes with nothing much.
TWO_TASTES = {
    "u1": "abe",
    "u2": "abe",
    "u3": "ab",
    "u4": "cde",
    "u5": "cde",
    "u6": "cd",
    "fan-of-a": "a",
    "fan-of-c": "c",
}


def test_items_shared_by_the_same_users_are_neighbours() -> None:
    for similarity in ("cosine", "bm25"):
        model = ItemKNN(ItemKNNConfig(similarity=similarity, shrink=0.0)).fit(training(TWO_TASTES))
        assert model.recommend("fan-of-a", 1).for_user()[0] == ["b"], similarity
        assert model.recommend("fan-of-c", 1).for_user()[0] == ["d"], similarity
        ids, scores = model.similar_items("a")
        assert ids[0] == "b" and "d" not in ids.tolist()
        assert scores.tolist() == sorted(scores.tolist(), reverse=True)


def test_a_session_in_progress_changes_the_answer() -> None:
    model = ItemKNN().fit(training(TWO_TASTES))
    assert model.recommend("fan-of-a", 1, recent=[{"c": 4.0}]).for_user()[0] == ["d"]
    assert model.recommend("stranger", 1, recent=[{"a": 1.0}]).for_user()[0] == ["b"]
    ids, scores = model.recommend("stranger", 3).for_user()
    assert scores == [0.0] * len(ids)  # no history, nothing to go on


def test_shrinkage_prefers_evidence_from_many_users() -> None:
    # a and c share one user (cosine 0.45); a and b share four (cosine 0.40).
    touched = {"u0": "ac", **{f"u{n}": "ab" for n in range(1, 5)}, **{f"v{n}": "b" for n in range(16)}}
    data = training(touched)
    assert ItemKNN(ItemKNNConfig(shrink=0.0)).fit(data).similar_items("a", 1)[0].tolist() == ["c"]
    assert ItemKNN(ItemKNNConfig(shrink=10.0)).fit(data).similar_items("a", 1)[0].tolist() == ["b"]


def test_each_item_keeps_at_most_its_neighbours() -> None:
    model = ItemKNN(ItemKNNConfig(neighbours=1)).fit(training(TWO_TASTES))
    assert np.diff(model.similarity.indptr).max() == 1
    assert model.similarity.diagonal().sum() == 0  # never its own neighbour
