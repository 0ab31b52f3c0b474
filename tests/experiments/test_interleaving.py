"""Team-draft interleaving (relevo.experiments.interleaving): the draft, its coins, the crediting of clicks."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

from relevo.experiments.interleaving import (
    Interleaved,
    coin_flips,
    credit,
    rounds,
    team_draft,
    team_draft_from_coins,
    winner,
)

A = ["1", "2", "3", "4"]
B = ["2", "5", "1", "6"]


def every_coin_sequence(k: int, distinct: int = 6) -> list[tuple[bool, ...]]:
    """Every sequence of the coins a draft of k items may use, when the lists hold `distinct`
    items between them (the coins past those are never read, so they are left heads)."""
    used = rounds(min(k, distinct))
    return [coins + (True,) * (rounds(k) - used) for coins in itertools.product([True, False], repeat=used)]


def assert_valid_draft(a: list[str], b: list[str], k: int, drafted: Interleaved) -> None:
    """What every team draft must be: k items (or every distinct item, if fewer), no item
    twice, each item in its contributor's list, each team's items in its ranker's order and
    each the best of that ranker's items not shown before it, and teams level within one
    while both rankers have items left."""
    distinct = len(set(a) | set(b))
    assert len(drafted.items) == len(drafted.teams) == min(k, distinct)
    assert len(set(drafted.items)) == len(drafted.items)
    lists = {"a": a, "b": b}
    for place, (item, team) in enumerate(zip(drafted.items, drafted.teams, strict=True)):
        earlier = set(drafted.items[:place])
        left = [candidate for candidate in lists[team] if candidate not in earlier]
        assert left[0] == item  # the team's best item not yet shown
        level_so_far = [drafted.teams[:place].count("a"), drafted.teams[:place].count("b")]
        other = "b" if team == "a" else "a"
        if any(candidate not in earlier for candidate in lists[other]):
            assert abs(level_so_far[0] - level_so_far[1]) <= 1
            # the team behind always picks; only a level draft leaves it to the coin
            if level_so_far[0] != level_so_far[1]:
                assert level_so_far[0 if team == "a" else 1] < level_so_far[1 if team == "a" else 0]
    for team, ranking in lists.items():
        own = [item for item, by in zip(drafted.items, drafted.teams, strict=True) if by == team]
        assert own == sorted(own, key=ranking.index)


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4, 5, 6, 8])
def test_every_coin_sequence_gives_a_valid_team_draft(k: int) -> None:
    for coins in every_coin_sequence(k):
        assert_valid_draft(A, B, k, team_draft_from_coins(A, B, k, coins))


def test_the_paper_example_drafts() -> None:
    # a picks first in both rounds: a takes 1, b its best not shown (2), a then 3 (2 is gone), b 5
    drafted = team_draft_from_coins(A, B, 4, [True, True])
    assert drafted == Interleaved(items=("1", "2", "3", "5"), teams=("a", "b", "a", "b"))
    # b first, then a first: b takes 2, a 1, a 3, b 5 (b's 1 is already shown)
    drafted = team_draft_from_coins(A, B, 4, [False, True])
    assert drafted == Interleaved(items=("2", "1", "3", "5"), teams=("b", "a", "a", "b"))


def test_an_item_in_both_lists_belongs_to_the_team_that_picked_it_first() -> None:
    same = ["x", "y", "z"]
    drafted = team_draft_from_coins(same, same, 3, [False, True])
    assert drafted.items == ("x", "y", "z")
    assert drafted.teams == ("b", "a", "a")
    # identical lists give the same list whatever the coins; only the credit moves
    for coins in every_coin_sequence(3, distinct=3):
        assert team_draft_from_coins(same, same, 3, coins).items == ("x", "y", "z")
    # a click on a shared item counts once, for its team only
    assert credit(drafted, ["x"]) == (0, 1)
    assert credit(drafted, ["y", "z"]) == (2, 0)


def test_duplicates_within_one_list_are_shown_once() -> None:
    drafted = team_draft_from_coins(["p", "p", "q"], ["r"], 5, [True, True, True])
    assert drafted.items == ("p", "r", "q")
    assert drafted.teams == ("a", "b", "a")


@pytest.mark.parametrize("k", [3, 5, 9, 20])
def test_when_one_list_runs_out_the_other_fills_the_places(k: int) -> None:
    short, long = ["s1"], ["l1", "l2", "l3", "l4", "l5", "l6"]
    for coins in every_coin_sequence(k, distinct=7):
        drafted = team_draft_from_coins(short, long, k, coins)
        assert drafted.teams.count("a") == 1
        assert [item for item in drafted.items if item != "s1"] == long[: len(drafted) - 1]
        assert_valid_draft(short, long, k, drafted)


def test_k_larger_than_both_lists_shows_every_distinct_item() -> None:
    for coins in every_coin_sequence(50):
        drafted = team_draft_from_coins(A, B, 50, coins)
        assert sorted(drafted.items) == ["1", "2", "3", "4", "5", "6"]
        assert_valid_draft(A, B, 50, drafted)


def test_empty_lists() -> None:
    assert team_draft(A, [], 3, 7) == Interleaved(items=("1", "2", "3"), teams=("a", "a", "a"))
    assert team_draft([], B, 2, 7) == Interleaved(items=("2", "5"), teams=("b", "b"))
    assert team_draft([], [], 10, 7) == Interleaved(items=(), teams=())
    assert team_draft(A, B, 0, 7) == Interleaved(items=(), teams=())


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="k must be at least 0"):
        team_draft(A, B, -1, 0)
    with pytest.raises(ValueError, match="too few"):
        team_draft_from_coins(A, B, 4, [True])
    for seed in (1.5, None, True, b"bytes"):
        with pytest.raises(TypeError, match="int, a str or a numpy Generator"):
            team_draft(A, B, 4, seed)


def test_the_same_seed_gives_the_same_interleaving() -> None:
    for seed in (0, 12345, "rec-8f14e45f", np.int64(77)):
        first = team_draft(A, B, 4, seed)
        assert all(team_draft(A, B, 4, seed) == first for _ in range(5))
        assert_valid_draft(A, B, 4, first)
    assert team_draft(A, B, 4, 5) == team_draft(A, B, 4, "5")
    generated = [team_draft(A, B, 4, np.random.default_rng(3)) for _ in range(3)]
    assert generated[0] == generated[1] == generated[2]


def test_seeds_flip_fair_coins() -> None:
    # 4,000 seeds' first coin: heads 2,000 ± 4 standard deviations (32)
    heads = sum(coin_flips(f"recommendation-{number}", 1)[0] for number in range(4000))
    assert 1870 < heads < 2130
    # and the rounds of one seed are independent of one another
    flips = coin_flips("one long id", 4000)
    assert 1870 < sum(flips) < 2130
    assert 1870 < sum(first == second for first, second in itertools.pairwise(flips)) < 2130


def test_every_coin_sequence_occurs_from_seeds() -> None:
    seen = {team_draft(A, B, 4, seed) for seed in range(200)}
    assert seen == {team_draft_from_coins(A, B, 4, coins) for coins in every_coin_sequence(4)}


def test_a_string_seed_gives_the_same_coins_in_every_process() -> None:
    # Pinned: serving rebuilds an interleaving from its recommendation's id, perhaps in another
    # process, another release or on another machine. Python's hash() of a str would differ
    # between the processes below, which are started with different hash seeds.
    expected = [False, False, False, True, False, True, True, True, False, False]
    assert coin_flips("rec-8f14e45f", 10) == expected
    program = (
        "from relevo.experiments.interleaving import coin_flips, team_draft;"
        "print(coin_flips('rec-8f14e45f', 10), team_draft(['1','2','3','4'], ['2','5','1','6'], 4, 'rec-8f14e45f'))"
    )
    outputs = set()
    for hash_seed in ("0", "1", "random"):
        environment = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run([sys.executable, "-c", program], env=environment, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout.strip())
    assert outputs == {f"{expected} {team_draft(A, B, 4, 'rec-8f14e45f')}"}


def test_credit_counts_each_clicked_item_once_for_its_team() -> None:
    drafted = team_draft_from_coins(A, B, 4, [True, True])  # 1 a, 2 b, 3 a, 5 b
    assert credit(drafted, []) == (0, 0)
    assert credit(drafted, ["1"]) == (1, 0)
    assert credit(drafted, ["1", "3", "5"]) == (2, 1)
    assert credit(drafted, ["2", "2", "5"]) == (0, 2)
    assert credit(drafted, ["4", "6", "unknown"]) == (0, 0)  # not shown: no one's click
    assert credit(drafted, {"1", "2"}) == (1, 1)


def test_winner() -> None:
    assert winner(2, 1) == "a"
    assert winner(0, 3) == "b"
    assert winner(1, 1) is None
    assert winner(0, 0) is None
