"""The sensitivity benchmark's simulation (benchmarks/experiments_sensitivity.py): its search, its tests' errors."""

import numpy as np
import pytest
from benchmarks.experiments_sensitivity import POWER, Clicks, K, Ranked, Simulation, prepare, users_needed


def test_users_needed_finds_where_the_power_reaches_80_percent() -> None:
    asked = []

    def power_at(users: int) -> float:
        asked.append(users)
        return 0.9 if users >= 1000 else 0.5

    users, power = users_needed(power_at, 4)
    assert 1000 <= users <= 1020
    assert power >= POWER
    assert asked[:9] == [4, 8, 16, 32, 64, 128, 256, 512, 1024]
    assert users_needed(lambda users: 0.95, 4) == (4, 0.95)
    assert users_needed(lambda users: 0.1, 4)[0] is None


def simulation(a_lists: list[list[str]], b_lists: list[list[str]], wanted: list[set[str]]) -> Simulation:
    no_ndcg = np.zeros(len(wanted))
    pair = prepare(Ranked("a", a_lists, no_ndcg), Ranked("b", b_lists, no_ndcg), wanted)
    return Simulation(pair, number=0, clicks=Clicks(), repetitions=400, seed=3)


def shop(users: int) -> tuple[list[list[str]], list[list[str]], list[set[str]]]:
    """Two rankers' lists of 10 items per user, no item in both, and each user's wanted items:
    at a random half of the places, the items of both lists, so the two are exactly as good."""
    rng = np.random.default_rng(0)
    a_lists, b_lists, wanted = [], [], []
    for user in range(users):
        items = [f"{user}-{item}" for item in range(2 * K)]
        a_lists.append(items[:K])
        b_lists.append(items[K:])
        wanted.append({item for place in range(K) if rng.random() < 0.5 for item in items[place::K]})
    return a_lists, b_lists, wanted


def test_with_two_rankers_alike_both_tests_are_wrong_about_one_time_in_twenty() -> None:
    a_lists, b_lists, wanted = shop(200)
    alike = simulation(a_lists, b_lists, wanted)
    for p_values in (alike.ab_test(400), alike.interleaving(400)):
        assert 0.02 <= float((p_values < 0.05).mean()) <= 0.09


def test_a_ranker_that_finds_more_wins_both_tests() -> None:
    a_lists, b_lists, wanted = shop(200)
    better = [set(wanted_items) | set(b_list) for wanted_items, b_list in zip(wanted, b_lists, strict=True)]
    apart = simulation(a_lists, b_lists, better)
    assert float((apart.ab_test(400) < 0.05).mean()) > 0.9
    assert float((apart.interleaving(400) < 0.05).mean()) > 0.9


def test_users_unlike_in_eagerness_click_as_often_on_average_but_spread_more() -> None:
    relevant = np.zeros((40_000, K), dtype=bool)
    relevant[:, 1::2] = True  # every other place holds a wanted item: 1.4 clicks per user expected
    alike, unlike = Clicks(), Clicks(activity=0.5)

    clicks_alike = alike.clicked(relevant, np.random.default_rng(1)).sum(axis=1)
    clicks_unlike = unlike.clicked(relevant, np.random.default_rng(1)).sum(axis=1)
    first = unlike.clicked(relevant[:100], np.random.default_rng(1)).sum(axis=1)

    expected = unlike.expected(relevant[:1])[0]
    assert clicks_alike.mean() == pytest.approx(expected, rel=0.03)
    # Gamma of shape 0.5: the chances above 1 that the cap cuts cost a few per cent of the clicks.
    assert 0.85 * expected < clicks_unlike.mean() < expected
    assert clicks_unlike.var() > 2 * clicks_alike.var()
    assert (first == clicks_unlike[:100]).all()  # more users leave the first ones' clicks as they were
