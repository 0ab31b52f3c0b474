"""Offline evaluation: metrics against hand-worked examples, the splits' shapes, and
evaluating and comparing models through their public interface, against plain reference sums."""

import math

import numpy as np
import pytest

from relevo.engine.algorithms.item_knn import ItemKNN
from relevo.engine.algorithms.popular import Popular
from relevo.engine.base import Recommender
from relevo.engine.data import EventLog, ItemCatalog, TrainingData
from relevo.engine.evaluation.evaluate import compare, evaluate, per_user
from relevo.engine.evaluation.metrics import ranking_metrics, standard_error, user_metrics
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


def split_shop(seed: int = 0) -> tuple[TrainingData, EventLog]:
    data = small_shop()
    held = random_holdout(data.events, 0.2, seed=seed)
    return TrainingData(events=data.events.subset(~held), catalog=data.catalog), data.events.subset(held)


def reference_ndcg(model: Recommender, test: EventLog, k: int) -> dict[str, float]:
    """Each test user's NDCG@k, worked out the plain way: by ids, through `recommend`."""
    wanted: dict[str, set[str]] = {}
    for user, item in zip(test.users.lookup(test.user), test.items.lookup(test.item), strict=True):
        wanted.setdefault(str(user), set()).add(str(item))
    figures = {}
    for user, items in wanted.items():
        shown, _ = model.recommend(user, k).for_user()
        dcg = sum(1 / math.log2(rank + 2) for rank, item in enumerate(shown) if item in items)
        figures[user] = dcg / sum(1 / math.log2(rank + 2) for rank in range(min(k, len(items))))
    return figures


def test_per_user_gives_each_users_figure_and_evaluate_their_mean() -> None:
    training, test = split_shop()
    model = ItemKNN().fit(training)

    figures = per_user(model, test, 10)

    reference = reference_ndcg(model, test, 10)
    assert sorted(figures.users.tolist()) == sorted(reference)
    assert figures.values["ndcg"] == pytest.approx([reference[user] for user in figures.users.tolist()])
    assert evaluate(model, test, 10)["ndcg"] == pytest.approx(np.mean(list(reference.values())))
    sample = per_user(model, test, 10, max_users=25, seed=4)
    assert len(sample.users) == 25
    assert evaluate(model, test, 10, max_users=25, seed=4)["ndcg"] == pytest.approx(sample.values["ndcg"].mean())


def test_compare_pairs_two_models_user_by_user_with_the_standard_error_of_the_difference() -> None:
    training, test = split_shop()
    challenger, champion = Popular().fit(training), ItemKNN().fit(training)

    comparison = compare(challenger, champion, test, 10, "ndcg")

    ours, theirs = reference_ndcg(challenger, test, 10), reference_ndcg(champion, test, 10)
    differences = [ours[user] - theirs[user] for user in ours]
    mean = sum(differences) / len(differences)
    spread = math.sqrt(sum((difference - mean) ** 2 for difference in differences) / (len(differences) - 1))
    assert comparison.users == len(ours) == len(theirs)
    assert comparison.challenger == pytest.approx(sum(ours.values()) / len(ours))
    assert comparison.champion == pytest.approx(sum(theirs.values()) / len(theirs))
    assert comparison.difference == pytest.approx(mean)
    assert comparison.standard_error == pytest.approx(spread / math.sqrt(len(differences)))
    assert comparison.difference < -2 * comparison.standard_error  # popularity is clearly the weaker here
    again = compare(champion, champion, test, 10, "ndcg")
    assert (again.difference, again.standard_error) == (0.0, 0.0)


def test_compare_judges_both_models_on_the_users_and_items_both_know() -> None:
    training, test = split_shop()
    events = training.events
    users, items = events.users.lookup(events.user), events.items.lookup(events.item)
    fewer = (users != events.users.ids[0]) & (items != events.items.ids[0])
    narrower = EventLog.from_columns(
        users[fewer].tolist(),
        items[fewer].tolist(),
        events.types.lookup(events.event_type[fewer]).tolist(),
        events.timestamp[fewer].tolist(),
    )
    partial = Popular().fit(TrainingData(events=narrower, catalog=ItemCatalog.empty(narrower.items)))
    full = Popular().fit(training)

    comparison = compare(partial, full, test, 10, "recall")

    pairs = zip(test.users.lookup(test.user).tolist(), test.items.lookup(test.item).tolist(), strict=True)
    both_know = {user for user, item in pairs if user in partial.users and item in partial.items}
    assert comparison.users == len(both_know) < evaluate(full, test, 10)["users"]
    shared = per_user(full, test, 10, known_to=[partial])
    assert set(shared.users.tolist()) == both_know
    assert comparison.champion == pytest.approx(shared.values["recall"].mean())


def test_compare_takes_coverage_as_one_figure_without_a_standard_error() -> None:
    training, test = split_shop()
    comparison = compare(Popular().fit(training), ItemKNN().fit(training), test, 10, "coverage")
    assert comparison.challenger < comparison.champion
    assert comparison.standard_error == 0.0
    with pytest.raises(ValueError, match="unknown metric"):
        compare(Popular().fit(training), Popular().fit(training), test, 10, "accuracy")


def test_standard_error_is_the_sample_spread_over_the_square_root_of_the_count() -> None:
    values = np.array([0.0, 1.0, 0.5, 0.25])
    mean = values.sum() / 4
    spread = math.sqrt(sum((value - mean) ** 2 for value in values) / 3)
    assert standard_error(values) == pytest.approx(spread / 2)
    assert math.isnan(standard_error(np.array([0.3])))
