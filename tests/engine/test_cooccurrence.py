"""Frequently bought together: the contract, and the purchases API's rule on a shop small enough to
check by hand."""

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from relevo.engine import artifacts
from relevo.engine.algorithms.cooccurrence import Cooccurrence, CooccurrenceConfig
from relevo.engine.data import EventLog, ItemCatalog, TrainingData
from relevo.engine.events import EventWeights
from tests.engine.contract import RecommenderContract

NOW = 1_700_000_000


class TestCooccurrenceContract(RecommenderContract):
    def make(self) -> Cooccurrence:
        return Cooccurrence()


class TestCooccurrenceRankedByCopurchasesContract(RecommenderContract):
    def make(self) -> Cooccurrence:
        return Cooccurrence(CooccurrenceConfig(rank_by="cooccurrence"))


def training(events: list[tuple[str, str, str]]) -> TrainingData:
    users, items, kinds = zip(*events, strict=True)
    log = EventLog.from_columns(users, items, kinds, [NOW] * len(events))
    return TrainingData(log, ItemCatalog.empty(log.items), now=NOW)


def baskets(kind: str = "purchase", **bought: str) -> list[tuple[str, str, str]]:
    """{user: "xyz"}: each letter an item the user bought (or did `kind` to)."""
    return [(user, item, kind) for user, items in bought.items() for item in items]


# u bought x. y was bought with x twice, z once; z has more buyers (4) than y (2); w is the
# most popular (5 buyers) but never bought with x.
SHOP = baskets(u="x", a1="xy", a2="xy", b="xz", c="z", d="z", e="zv", f="w", g="w", h="w", i="w", j="w")


def test_candidates_are_bought_with_the_users_purchases_most_popular_first() -> None:
    model = Cooccurrence().fit(training(SHOP))
    ids, scores = model.recommend("u", 6).for_user()
    assert ids[:2] == ["z", "y"]  # z has more buyers, though y was bought with x more often
    assert min(scores[:2]) > 0.5 > max(scores[2:])  # every candidate above the popularity fill
    assert ids[2] == "w"  # then the rest, most popular first
    assert model.recommend("u", 1).for_user()[0] == ["z"]  # the purchases API's one product


def test_ranked_by_copurchases_the_most_often_bought_with_comes_first() -> None:
    model = Cooccurrence(CooccurrenceConfig(rank_by="cooccurrence")).fit(training(SHOP))
    ids, scores = model.recommend("u", 2).for_user()
    assert ids == ["y", "z"]
    assert scores[0] == pytest.approx(1.0)


def test_without_fill_only_candidates_come_back() -> None:
    model = Cooccurrence(CooccurrenceConfig(fill=False)).fit(training(SHOP))
    assert model.recommend("u", 5).for_user()[0] == ["z", "y"]
    assert model.recommend("f", 5).for_user()[0] == []  # nobody bought anything with w


def test_copurchases_break_ties_in_popularity() -> None:
    # p and q both have two buyers; p was bought with x by both of its buyers, q by one.
    data = training(baskets(u="x", a="xp", b="xpq", c="q"))
    assert Cooccurrence().fit(data).recommend("u", 2).for_user()[0] == ["p", "q"]


def test_items_the_user_bought_are_never_candidates() -> None:
    # u bought x and y; y was bought with x, but u has it already: only z is a candidate.
    data = training(baskets(u="xy", a="xy", b="xz", c="y", d="y", e="y"))
    ids, scores = Cooccurrence().fit(data).recommend("u", 4, exclude_history=False).for_user()
    assert ids[0] == "z"
    assert scores[0] > 0.5 > max(scores[1:])


def test_views_are_not_purchases() -> None:
    events = SHOP + baskets(kind="view", viewer="xy")
    ids, scores = Cooccurrence().fit(training(events)).recommend("viewer", 3).for_user()
    assert max(scores) < 0.5  # no purchases, no candidates: only the popularity fill
    assert ids[0] == "w"


def test_ratings_only_data_counts_every_event_as_buying() -> None:
    model = Cooccurrence().fit(training([(u, i, "rating") for u, i, _ in SHOP]))
    assert model.recommend("u", 2).for_user()[0] == ["z", "y"]


def test_a_purchase_made_after_training_counts_at_once() -> None:
    model = Cooccurrence().fit(training(SHOP))
    weight = EventWeights().of("purchase")
    bought = model.recommend("new", 2, recent=[{"x": weight}], purchases=[{"x"}]).for_user()
    assert bought[0] == ["z", "y"] and min(bought[1]) > 0.5
    viewed = model.recommend("new", 2, recent=[{"x": 1.0}]).for_user()
    assert max(viewed[1]) < 0.5  # a view is not a purchase


def test_two_adds_to_cart_are_not_a_purchase() -> None:
    """Two adds to cart weigh what one purchase weighs (4 + 4 = 8): when request-time purchases
    were told from the summed weight, they counted as one."""
    model = Cooccurrence().fit(training(SHOP))
    carted = model.recommend("new", 2, recent=[{"x": 2 * EventWeights().of("add_to_cart")}]).for_user()
    assert max(carted[1]) < 0.5  # no purchase, no candidates: only the popularity fill
    assert model.recommend("new", 2, recent=[{"x": 8.0}], purchases=[{"x"}]).for_user()[0] == ["z", "y"]


def test_request_time_purchases_in_index_space_and_in_a_batch() -> None:
    model = Cooccurrence().fit(training(SHOP))
    users = model.users.indices(["new", "u", "f"])
    histories = model.histories(users, [{"x": 8.0}, {}, {"y": 4.0}])
    purchases = sp.csr_matrix(([1.0], ([0], [model.items.index("x")])), shape=(3, len(model.items)), dtype=np.float32)
    items, _ = model.recommend_indices(users, 2, histories=histories, purchases=purchases)
    assert model.items.lookup(items[0]).tolist() == ["z", "y"]
    assert model.items.lookup(items[1]).tolist() == ["z", "y"]  # u bought x at training
    alone = model.recommend("f", 2, recent=[{"y": 4.0}]).for_user()[0]
    assert model.items.lookup(items[2]).tolist() == alone  # an add to cart is no purchase


def test_ratings_only_data_counts_every_request_time_event_as_buying() -> None:
    model = Cooccurrence().fit(training([(u, i, "rating") for u, i, _ in SHOP]))
    assert model.every_event_buys
    assert model.recommend("new", 2, recent=[{"x": 3.0}]).for_user()[0] == ["z", "y"]


def test_a_model_saved_when_purchases_were_told_by_weight_still_loads(tmp_path: Path) -> None:
    """Its arrays hold `purchase_weight` and no `every_event_buys`: a weight of 0 meant that
    every event counts as buying (a ratings-only dataset)."""
    for events, every in ((SHOP, False), ([(u, i, "rating") for u, i, _ in SHOP], True)):
        fitted = Cooccurrence().fit(training(events))
        arrays = fitted.to_arrays()
        del arrays["state.every_event_buys"]
        arrays["state.purchase_weight"] = np.asarray(0.0 if every else 8.0, dtype=np.float32)
        artifacts.save(fitted, tmp_path)
        np.savez(tmp_path / artifacts.ARRAYS, **arrays)
        loaded, _ = artifacts.load(tmp_path)
        assert loaded.every_event_buys is every
        for recent, purchases in (([{"x": 8.0}], [{"x"}]), ([{"x": 8.0}], None)):
            expected = fitted.recommend("new", 3, recent=recent, purchases=purchases)
            again = loaded.recommend("new", 3, recent=recent, purchases=purchases)
            np.testing.assert_array_equal(again.ids, expected.ids)


def test_bought_together_lists_the_items_most_often_bought_with_it() -> None:
    model = Cooccurrence().fit(training(SHOP))
    ids, scores = model.similar_items("x", 5)
    assert ids.tolist() == ["y", "z"]
    np.testing.assert_allclose(scores, [1.0, 0.5])
    assert model.similar_items("w")[0].tolist() == []
