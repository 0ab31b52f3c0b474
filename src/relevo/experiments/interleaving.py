"""Team-draft interleaving of two rankers' lists, and the crediting of a shopper's clicks to them.

Radlinski, Kurup and Joachims, "How Does Clickthrough Data Reflect Retrieval Quality?" (CIKM
2008): the two rankers are captains picking players. In each round a coin says which picks
first; each takes its best item not yet picked. A click counts for the ranker that contributed
the clicked item, and the ranker with more clicks wins the shopper's vote; a tie is no vote.

The coin comes from a seed so that the same interleaving can be rebuilt later (serving seeds
it with the recommendation's id) or from a numpy Generator (simulations).
"""

import hashlib
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Team = Literal["a", "b"]
Seed = int | str | np.random.Generator

# Prefixed to the seed before hashing, so that coins drawn from an id never follow any other
# hash of the same id (an A/B assignment hashed from the same recommendation or user id).
_COIN_DOMAIN = b"relevo.team-draft\x00"


@dataclass(frozen=True)
class Interleaved:
    """The list shown, best first, and for each of its items the ranker that contributed it."""

    items: tuple[str, ...]
    teams: tuple[Team, ...]

    def __len__(self) -> int:
        return len(self.items)


def team_draft(a: Sequence[str], b: Sequence[str], k: int, rng_or_seed: Seed) -> Interleaved:
    """The team-draft interleaving of ranking `a` and ranking `b` (best first), `k` items long
    (or shorter when the two lists hold fewer distinct items). The coins come from
    `rng_or_seed`: an int or a str (hashed with SHAKE-256, so the same seed gives the same coins
    in every process and on every machine; 5 and "5" are the same seed) or a numpy Generator."""
    return team_draft_from_coins(a, b, k, coin_flips(rng_or_seed, rounds(k)))


def team_draft_from_coins(a: Sequence[str], b: Sequence[str], k: int, a_first: Sequence[bool]) -> Interleaved:
    """team_draft with the coins given: a_first[r] says whether ranker a picks first in the
    r-th round whose teams are level (one coin per round; `rounds(k)` of them are enough).

    As in the paper, the team with fewer items picks next, and only on a tie is a coin used;
    an item both lists hold belongs to the team that picked it first, and the other team's
    next pick is the best of its items not yet shown. Where the paper stops once either list
    has nothing left to pick, here the other list goes on filling the k places alone, its
    items credited to it: a ranker that offers fewer items loses places, as it would in serving.
    """
    if k < 0:
        raise ValueError(f"k must be at least 0, not {k}")
    lists: dict[Team, Sequence[str]] = {"a": a, "b": b}
    position: dict[Team, int] = {"a": 0, "b": 0}
    size: dict[Team, int] = {"a": 0, "b": 0}
    shown: set[str] = set()
    items: list[str] = []
    teams: list[Team] = []
    coin = 0

    def next_item(team: Team) -> str | None:
        ranking = lists[team]
        while position[team] < len(ranking) and ranking[position[team]] in shown:
            position[team] += 1
        return ranking[position[team]] if position[team] < len(ranking) else None

    while len(items) < k:
        candidates = {team: next_item(team) for team in ("a", "b")}
        if candidates["a"] is None and candidates["b"] is None:
            break
        if candidates["b"] is None:
            team: Team = "a"
        elif candidates["a"] is None:
            team = "b"
        elif size["a"] != size["b"]:
            team = "a" if size["a"] < size["b"] else "b"
        else:
            if coin >= len(a_first):
                raise ValueError(f"{len(a_first)} coins are too few for {k} items; {rounds(k)} are enough")
            team = "a" if a_first[coin] else "b"
            coin += 1
        item = candidates[team]
        assert item is not None  # the team chosen above always has an item left
        shown.add(item)
        items.append(item)
        teams.append(team)
        size[team] += 1
    return Interleaved(items=tuple(items), teams=tuple(teams))


def rounds(k: int) -> int:
    """How many coins an interleaving of k items may need: one for each pair of places."""
    return math.ceil(max(k, 0) / 2)


def coin_flips(rng_or_seed: Seed, count: int) -> list[bool]:
    """`count` fair coins (True: ranker a picks first), from a Generator or a seed."""
    if isinstance(rng_or_seed, np.random.Generator):
        return (rng_or_seed.integers(0, 2, size=count) == 1).tolist()
    if isinstance(rng_or_seed, bool) or not isinstance(rng_or_seed, int | np.integer | str):
        raise TypeError(f"the seed must be an int, a str or a numpy Generator, not {type(rng_or_seed).__name__}")
    # Python's hash() of a str changes from process to process; SHAKE-256 is the same everywhere.
    digest = hashlib.shake_256(_COIN_DOMAIN + str(rng_or_seed).encode("utf-8")).digest((count + 7) // 8)
    return [bool(digest[index // 8] >> (index % 8) & 1) for index in range(count)]


def credit(interleaved: Interleaved, clicked_items: Collection[str]) -> tuple[int, int]:
    """(clicks for a, clicks for b): each clicked item of the list counts once, for the ranker
    that contributed it; clicks on items the list did not show count for neither."""
    team_of = dict(zip(interleaved.items, interleaved.teams, strict=True))
    clicked = [team_of[item] for item in set(clicked_items) if item in team_of]
    return clicked.count("a"), clicked.count("b")


def winner(clicks_a: int, clicks_b: int) -> Team | None:
    """The ranker the shopper preferred: the one credited with more clicks; a tie (no clicks
    included) decides nothing."""
    if clicks_a == clicks_b:
        return None
    return "a" if clicks_a > clicks_b else "b"
