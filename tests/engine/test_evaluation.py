"""Offline evaluation: metrics against hand-worked examples, the splits' shapes, and
evaluating a model through its public interface."""

import math

import numpy as np
import pytest

from relevo.engine.algorithms.popular import Popular
from relevo.engine.data import EventLog
from relevo.engine.evaluation.evaluate import evaluate
from relevo.engine.evaluation.metrics import ranking_metrics, user_metrics
from relevo.engine.evaluation.split import leave_last_n, random_holdout, ratio_split, ratio_split_in_order
from tests.engine.shop_data import small_shop


def test_metrics_match_a_hand_worked_example() -> None:
    # User 0: hits at ranks 1 and 3 of 3 relevant items; user 1: no hit; k = 3.
    recommended = np.array([[5, 7, 9], [1, 2, -1]])
    metrics = ranking_metrics(recommended, [{5, 9, 11}, {8}], k=3, catalog_size=10)
    dcg = 1 + 1 / math.log2(4)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert metrics["precision"] == pytest.approx((2 / 3 + 0) / 2)
    assert metrics["recall"] == pytest.approx((2 / 3 + 0) / 2)
    assert metrics["ndcg"] == pytest.approx(dcg / ideal / 2)
    assert metrics["map"] == pytest.approx((1 + 2 / 3) / 3 / 2)
    assert metrics["mrr"] == pytest.approx(0.5)
    assert metrics["hit_rate"] == pytest.approx(0.5)
    assert metrics["coverage"] == pytest.approx(5 / 10)


def test_user_metrics_are_each_users_share_of_the_means() -> None:
    recommended = np.array([[5, 7, 9], [1, 2, -1]])
    relevant = [{5, 9, 11}, {8}]
    per_user = user_metrics(recommended, relevant, k=3)
    dcg = 1 + 1 / math.log2(4)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert per_user["ndcg"] == pytest.approx([dcg / ideal, 0.0])
    assert per_user["precision"] == pytest.approx([2 / 3, 0.0])
    assert per_user["map"] == pytest.approx([(1 + 2 / 3) / 3, 0.0])
    assert per_user["mrr"] == pytest.approx([1.0, 0.0])
    assert per_user["hit_rate"] == pytest.approx([1.0, 0.0])
    means = ranking_metrics(recommended, relevant, k=3, catalog_size=10)
    assert all(means[name] == pytest.approx(values.mean()) for name, values in per_user.items())


def test_a_perfect_ranking_scores_one() -> None:
    metrics = ranking_metrics(np.array([[3, 4]]), [{3, 4}], k=2, catalog_size=4)
    assert all(metrics[name] == pytest.approx(1.0) for name in ("precision", "recall", "ndcg", "map", "mrr"))


def log(users: list[str], times: list[int]) -> EventLog:
    items = [f"i{n}" for n in range(len(users))]
    return EventLog.from_columns(users, items, ["view"] * len(users), times)


def test_random_holdout_takes_a_share_of_each_users_events() -> None:
    events = log(["a"] * 10 + ["b"] * 4 + ["c"], list(range(15)))
    held = random_holdout(events, 0.25, seed=1)
    per_user = np.bincount(events.user[held], minlength=3)
    assert per_user[events.users.index("a")] == 2  # 2.5 rounds to even
    assert per_user[events.users.index("b")] == 1
    assert per_user[events.users.index("c")] == 0  # one event stays in training


def test_leave_last_n_holds_out_the_latest_events() -> None:
    events = log(["a", "a", "a", "b"], [30, 10, 20, 5])
    held = leave_last_n(events, 1)
    assert held.tolist() == [True, False, False, False]  # a's latest; b has only one event


def test_ratio_split_counts_parts_as_recbole_does() -> None:
    events = log(["a"] * 10 + ["b"] * 3, list(range(13)))
    parts = ratio_split(events, [0.8, 0.1, 0.1], seed=2020)
    a, b = events.user == events.users.index("a"), events.user == events.users.index("b")
    assert np.bincount(parts[a], minlength=3).tolist() == [8, 1, 1]
    assert np.bincount(parts[b], minlength=3).tolist() == [1, 1, 1]  # shares under one event still get one


def test_ratio_split_in_order_takes_each_users_events_in_the_order_given() -> None:
    events = log(["a"] * 10 + ["b"] * 3, list(range(13)))
    shuffled = np.arange(13)[::-1]  # every user's events latest first
    parts = ratio_split_in_order(events, [0.8, 0.1, 0.1], shuffled)
    assert parts.tolist() == [2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0]  # a: 8 / 1 / 1; b: 1 / 1 / 1


def test_evaluate_uses_the_public_interface_and_can_sample_users() -> None:
    data = small_shop()
    held = random_holdout(data.events, 0.2, seed=0)
    model = Popular().fit(data.__class__(events=data.events.subset(~held), catalog=data.catalog))
    test = data.events.subset(held)
    everyone = evaluate(model, test, 10)
    sample = evaluate(model, test, 10, max_users=20, seed=1)
    assert everyone["users"] > 20 and sample["users"] == 20
    assert 0 < everyone["ndcg"] <= 1 and 0 < everyone["coverage"] <= 1
