"""How many shoppers an A/B test and a team-draft interleaving test need to tell two rankers
apart, simulated on MovieLens-100K. It prints figures; it asserts nothing.

Each user's ratings are split at random, 20% held out (seeded). Two pairs of Relevo's rankers,
fit on the rest, are compared: `popular` against `hybrid` (far apart offline) and `als` against
`ease` (close). Simulated users click only their held-out items, each with a probability that
falls with its place in the list of 10 they are shown: 0.9 / (1 + place), place 0 at the top
(a position-based click model: a user looks at the top item 9 times in 10 and at the tenth
once in 11, and clicks what was looked at if it is one of the user's films). It is the simplest
model in which the place matters, which interleaving's shuffling of places must survive, and a
user may click several items, so both tests count clicks. Under it a list's expected clicks are
a discounted gain, like the offline NDCG@10, with a steeper discount. A cascade model (stop at
the first click) would give each user one click at most, leaving the A/B test a proportion and
the interleaving test a race to the first hit. `--looking` lets only a share of the users look
at the list at all (the others click nothing), `--noise` lets users click items not held out,
`--activity` makes users unlike one another in eagerness (real shoppers are: a few click a lot,
most little), a gamma-distributed factor of mean 1 on all of a user's chances. That spread is
what an A/B test's variance carries and an interleaving test's within-user vote does not.

- A/B test: the users are split in two halves, one per ranker; each user's outcome is the
  number of clicks; two-sided z-test of the difference of the means (unequal variances).
- Interleaving: every user is shown the team-draft interleaving of the two rankers' lists
  (relevo.experiments.interleaving, a fresh coin per user); each user with more clicks on one
  ranker's items votes for it; the two-sided sign test over the users who voted
  (scipy.stats.binomtest).

For each test and pair: the fewest users with which p < 0.05 in at least 80% of repeated
simulated experiments, users drawn with replacement from MovieLens's 943 (each keeping its
own held-out items). Found by doubling, then bisection; each repetition has random streams
of its own, so an experiment with more users extends the one with fewer (the power curve
that the search walks is then nearly monotone).

Usage: python -m benchmarks.experiments_sensitivity [--repetitions 200] [--seed 0] [--looking 1] [--noise 0]
       [--activity 0]
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np
from scipy import stats

from benchmarks import movielens
from benchmarks.common import describe_machine
from benchmarks.protocols import Data
from relevo.engine.algorithms import recommender_class
from relevo.engine.base import Recommender
from relevo.engine.evaluation.metrics import standard_error, user_metrics
from relevo.engine.evaluation.split import random_holdout
from relevo.experiments.interleaving import rounds, team_draft_from_coins

K = 10
HELD_OUT = 0.2
SPLIT_SEED = 0
ALPHA = 0.05
POWER = 0.8
MAX_USERS = 1 << 22  # the search gives up above this many users
EXAMINED = 0.9 / (1.0 + np.arange(K))  # the chance that a user looks at each place
# The settings Protocol B of the accuracy benchmark chose for ALS and EASE (here every rating is
# one interaction); the hybrid blends them with its other components at its default weights.
ALS_SETTINGS = {"embedding_dim": 16, "regularization": 2.0, "alpha": 1.0, "epochs": 30}
EASE_SETTINGS = {"l2": 300.0}
RANKERS: dict[str, dict[str, Any]] = {
    "popular": {},
    "hybrid": {"components": {"als": ALS_SETTINGS, "ease": EASE_SETTINGS}},
    "als": ALS_SETTINGS,
    "ease": EASE_SETTINGS,
}
PAIRS = (("popular", "hybrid"), ("als", "ease"))


@dataclass(frozen=True)
class Ranked:
    """One ranker's top 10 for every user (item ids) and each user's NDCG@10 on held-out items."""

    name: str
    lists: list[list[str]]
    ndcg: np.ndarray


@dataclass(frozen=True)
class Pair:
    """What the simulations of two rankers need, per user (rows: MovieLens users): whether each
    place of each ranker's list holds a held-out item, and the same for every interleaving of
    the two lists (one per coin sequence: 2 ** rounds(K) of them) with which ranker gave each
    place's item."""

    a: Ranked
    b: Ranked
    relevant_a: np.ndarray  # users × K, bool
    relevant_b: np.ndarray  # users × K, bool
    interleaved_relevant: np.ndarray  # users × coin sequences × K, bool
    interleaved_from_a: np.ndarray  # users × coin sequences × K, bool


def fit_rankers(data: Data, held_out: np.ndarray) -> dict[str, Ranked]:
    events = data.events
    users = np.arange(len(events.users), dtype=np.int32)
    relevant = held_out_items(data, held_out)
    ranked = {}
    for name, settings in RANKERS.items():
        started = time.perf_counter()
        model = build(name, settings).fit(data.training(~held_out, ratings="count"), seed=SPLIT_SEED, threads=1)
        top, _ = model.recommend_indices(users, K, histories=model.histories(users))
        ndcg = user_metrics(top, relevant, K)["ndcg"]
        lists = [[item for item in row if item] for row in model.item_ids(top).tolist()]
        ranked[name] = Ranked(name, lists, ndcg)
        print(f"  {name:8} fit and ranked in {time.perf_counter() - started:4.1f} s", flush=True)
    return ranked


def build(name: str, settings: dict[str, Any]) -> Recommender:
    cls = recommender_class(name)
    return cls(cls.make_config(settings))


def held_out_items(data: Data, held_out: np.ndarray) -> list[set[int]]:
    events = data.events
    relevant: list[set[int]] = [set() for _ in range(len(events.users))]
    for user, item in zip(events.user[held_out].tolist(), events.item[held_out].tolist(), strict=True):
        relevant[user].add(item)
    return relevant


def prepare(a: Ranked, b: Ranked, wanted: list[set[str]]) -> Pair:
    """Every user's lists and interleavings, drafted once: a simulated user then only draws
    which coin sequence it got."""
    coin_rounds = rounds(K)
    sequences = [[bool(number >> bit & 1) for bit in range(coin_rounds)] for number in range(1 << coin_rounds)]
    shape = (len(wanted), len(sequences), K)
    interleaved_relevant, interleaved_from_a = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    for user, films in enumerate(wanted):
        for number, coins in enumerate(sequences):
            drafted = team_draft_from_coins(a.lists[user], b.lists[user], K, coins)
            places = len(drafted)
            interleaved_relevant[user, number, :places] = [item in films for item in drafted.items]
            interleaved_from_a[user, number, :places] = [team == "a" for team in drafted.teams]
    return Pair(
        a=a,
        b=b,
        relevant_a=places_relevant(a.lists, wanted),
        relevant_b=places_relevant(b.lists, wanted),
        interleaved_relevant=interleaved_relevant,
        interleaved_from_a=interleaved_from_a,
    )


def places_relevant(lists: list[list[str]], wanted: list[set[str]]) -> np.ndarray:
    relevant = np.zeros((len(lists), K), dtype=bool)
    for user, (ranking, films) in enumerate(zip(lists, wanted, strict=True)):
        relevant[user, : len(ranking)] = [item in films for item in ranking]
    return relevant


# Simulating


@dataclass(frozen=True)
class Clicks:
    """The click model: a user looks at the list at all with chance `looking`; one who does
    looks at each place with EXAMINED's chance and clicks a held-out item looked at (any other
    item looked at with chance `noise`). With `activity` (a gamma shape), users are not alike:
    each has an eagerness drawn from a gamma distribution of mean 1 (coefficient of variation
    1 / sqrt(activity)) that multiplies all its chances (capped at 1)."""

    looking: float = 1.0
    noise: float = 0.0
    activity: float = 0.0  # 0: every user alike

    def lookers(self, population: int, users: int, draw: np.random.Generator, look: np.random.Generator) -> np.ndarray:
        """`users` users drawn with replacement (rows of the population), those who look at
        the list: the others click nothing, whatever they are shown."""
        drawn = draw.integers(0, population, users)
        return drawn if self.looking >= 1 else drawn[look.random(users) < self.looking]

    def clicked(self, relevant: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Which places each looking user clicks, from whether each place holds a held-out item.
        Eagerness comes from a stream of its own, seeded from `rng`'s first draw, so that more
        users leave the first ones' clicks as they were."""
        chance = EXAMINED * np.where(relevant, 1.0, self.noise)
        if not self.activity:
            return rng.random(relevant.shape) < chance
        eager = np.random.default_rng(rng.integers(1 << 62))
        eagerness = eager.standard_gamma(self.activity, len(relevant)) / self.activity
        return rng.random(relevant.shape) < np.minimum(1.0, eagerness[:, None] * chance)

    def expected(self, relevant: np.ndarray) -> np.ndarray:
        """Each user's expected clicks on lists with these held-out places (before the cap)."""
        return self.looking * (EXAMINED * np.where(relevant, 1.0, self.noise)).sum(axis=1)


@dataclass(frozen=True)
class Simulation:
    """Repeated simulated experiments on one pair. Each repetition has random streams of its
    own, one per kind of draw, so that drawing more users leaves the first ones (and their
    clicks) as they were."""

    pair: Pair
    number: int  # the pair's place in PAIRS, part of its streams' seed
    clicks: Clicks
    repetitions: int
    seed: int

    def streams(self, test: int, repetition: int, count: int) -> list[np.random.Generator]:
        return [np.random.default_rng([self.seed, self.number, test, repetition, kind]) for kind in range(count)]

    def ab_test(self, users: int) -> np.ndarray:
        """Each repetition's p-value of an A/B test with `users` users, half on each ranker:
        the z-test of the difference of mean clicks per user (unequal variances)."""
        population = len(self.pair.relevant_a)
        p_values = np.ones(self.repetitions)
        halves = {"a": users // 2, "b": users - users // 2}
        if min(halves.values()) < 2:  # no variance to test with
            return p_values
        for repetition in range(self.repetitions):
            streams = iter(self.streams(0, repetition, 6))
            arms = {}
            for arm, relevant in (("a", self.pair.relevant_a), ("b", self.pair.relevant_b)):
                looking = self.clicks.lookers(population, halves[arm], next(streams), next(streams))
                outcome = np.zeros(halves[arm])  # those who do not look click nothing
                outcome[: len(looking)] = self.clicks.clicked(relevant[looking], next(streams)).sum(axis=1)
                arms[arm] = outcome
            spread = np.sqrt(sum(outcome.var(ddof=1) / len(outcome) for outcome in arms.values()))
            if spread > 0:
                p_values[repetition] = 2 * stats.norm.sf(abs(arms["a"].mean() - arms["b"].mean()) / spread)
        return p_values

    def interleaving(self, users: int) -> np.ndarray:
        """Each repetition's p-value of an interleaving test with `users` users: the sign test
        over those who vote."""
        population, sequences = self.pair.interleaved_relevant.shape[:2]
        p_values = np.ones(self.repetitions)
        for repetition in range(self.repetitions):
            draw, look, coin, click = self.streams(1, repetition, 4)
            looking = self.clicks.lookers(population, users, draw, look)
            wins_a, wins_b = self.votes(looking, coin.integers(0, sequences, len(looking)), click)
            if wins_a + wins_b:
                p_values[repetition] = stats.binomtest(wins_b, wins_a + wins_b, 0.5).pvalue
        return p_values

    def votes(self, users: np.ndarray, sequences: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
        """How many of these users, each shown the interleaving of its coin sequence, vote for
        a and how many for b."""
        clicked = self.clicks.clicked(self.pair.interleaved_relevant[users, sequences], rng)
        from_a = self.pair.interleaved_from_a[users, sequences]
        for_a, for_b = (clicked & from_a).sum(axis=1), (clicked & ~from_a).sum(axis=1)
        return int((for_a > for_b).sum()), int((for_b > for_a).sum())

    def users_needed(self, test: str) -> "Finding":
        started = time.perf_counter()
        p_values, smallest = (self.ab_test, 8) if test == "A/B" else (self.interleaving, 4)
        users, power = users_needed(lambda users: float((p_values(users) < ALPHA).mean()), smallest)
        return Finding(users, power, time.perf_counter() - started)


@dataclass(frozen=True)
class Finding:
    users: int | None  # None: more than MAX_USERS
    power: float
    seconds: float


def users_needed(power_at: Callable[[int], float], smallest: int) -> tuple[int | None, float]:
    """The fewest users whose power reaches POWER (and that power): doubling from `smallest`
    until it does, then bisection down to 2% of the figure. Never fewer than `smallest`; None
    beyond MAX_USERS."""
    low, high = smallest - 1, smallest
    power = power_at(high)
    while power < POWER:
        low, high = high, high * 2
        if high > MAX_USERS:
            return None, power
        power = power_at(high)
    while high - low > max(1, high // 50):
        middle = (low + high) // 2
        middle_power = power_at(middle)
        if middle_power >= POWER:
            high, power = middle, middle_power
        else:
            low = middle
    return high, power


# Reporting


def describe(simulation: Simulation) -> list[str]:
    """The pair's offline gap and what the click model makes of it: expected clicks per user
    on each list, and how interleaving's votes fall (from 200,000 simulated users)."""
    pair, clicks = simulation.pair, simulation.clicks
    a, b = pair.a, pair.b
    gap = b.ndcg - a.ndcg
    expected_a, expected_b = clicks.expected(pair.relevant_a), clicks.expected(pair.relevant_b)
    rng = np.random.default_rng([simulation.seed, simulation.number, 2])
    population, sequences = pair.interleaved_relevant.shape[:2]
    looking = clicks.lookers(population, 200_000, rng, rng)
    wins_a, wins_b = simulation.votes(looking, rng.integers(0, sequences, len(looking)), rng)
    return [
        f"{a.name} against {b.name}: NDCG@10 {a.ndcg.mean():.4f} ± {standard_error(a.ndcg):.4f} and "
        f"{b.ndcg.mean():.4f} ± {standard_error(b.ndcg):.4f}; {b.name} ahead by {gap.mean():+.4f} ± "
        f"{standard_error(gap):.4f}, paired",
        f"  expected clicks per user: {expected_a.mean():.3f} on {a.name}'s list, {expected_b.mean():.3f} on "
        f"{b.name}'s ({expected_b.mean() / expected_a.mean() - 1:+.1%}); their standard deviation over the "
        f"users {expected_a.std():.3f} and {expected_b.std():.3f}",
        f"  interleaved: {(wins_a + wins_b) / 200_000:.1%} of users vote; of the votes, "
        f"{wins_b / max(wins_a + wins_b, 1):.1%} for {b.name}",
    ]


def describe_libraries() -> str:
    names = ("numpy", "scipy", "implicit")
    return "libraries: " + ", ".join(f"{name} {metadata.version(name)}" for name in names)


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=200, help="simulated experiments per number of users")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulations (the split's is fixed)")
    parser.add_argument("--looking", type=float, default=1.0, help="share of users who look at the list at all")
    parser.add_argument("--noise", type=float, default=0.0, help="chance of clicking an item looked at, not held out")
    parser.add_argument(
        "--activity", type=float, default=0.0, help="users' eagerness varies: its gamma shape (0: all alike)"
    )
    args = parser.parse_args(arguments)
    if not 0 < args.looking <= 1 or not 0 <= args.noise <= 1 or args.repetitions < 1 or args.activity < 0:
        parser.error("--looking must be in (0, 1], --noise in [0, 1], --activity >= 0 and --repetitions at least 1")
    clicks = Clicks(looking=args.looking, noise=args.noise, activity=args.activity)

    started = time.perf_counter()
    print(describe_machine(None))
    print(describe_libraries())
    data = Data.load()
    held_out = random_holdout(data.events, HELD_OUT, seed=SPLIT_SEED)
    print(
        f"data: MovieLens-100K from {movielens.RECBOLE}: {len(data.events):,} ratings, {len(data.events.users)} "
        f"users; {int(held_out.sum()):,} held out ({HELD_OUT:.0%} of each user's, seed {SPLIT_SEED})"
    )
    print(
        f"clicks: {clicks.looking:.0%} of users look at the list; one who does looks at place r (0 at the top) "
        f"with chance 0.9 / (1 + r) and clicks a held-out item looked at (any other with chance {clicks.noise:g}); "
        + (
            f"users' eagerness, multiplying those chances, is gamma-distributed with mean 1 and shape "
            f"{clicks.activity:g} (coefficient of variation {clicks.activity**-0.5:.2f})"
            if clicks.activity
            else "all users alike"
        )
    )
    print("rankers (fit on the rest, one thread):", flush=True)
    ranked = fit_rankers(data, held_out)
    items = data.events.items.ids
    wanted = [{items[item] for item in films} for films in held_out_items(data, held_out)]

    rows = []
    for number, (name_a, name_b) in enumerate(PAIRS):
        pair = prepare(ranked[name_a], ranked[name_b], wanted)
        simulation = Simulation(pair, number, clicks, args.repetitions, args.seed)
        for line in describe(simulation):
            print(line, flush=True)
        findings = {}
        for test in ("A/B", "interleaving"):
            findings[test] = found = simulation.users_needed(test)
            print(f"  {test}: {users_cell(found)} users (power {found.power:.0%}; {found.seconds:.0f} s)", flush=True)
        rows.append((pair, findings))

    print(f"\nusers needed for p < {ALPHA} in {POWER:.0%} of {args.repetitions} simulated experiments")
    print("| pair | NDCG@10 | A/B users | interleaving users | ratio |")
    print("|---|---|---:|---:|---:|")
    for pair, findings in rows:
        ab, interleaved = findings["A/B"], findings["interleaving"]
        ratio = f"{ab.users / interleaved.users:.1f}" if ab.users and interleaved.users else "-"
        print(
            f"| {pair.a.name} vs {pair.b.name} | {pair.a.ndcg.mean():.4f} vs {pair.b.ndcg.mean():.4f} | "
            f"{users_cell(ab)} | {users_cell(interleaved)} | {ratio} |"
        )
    print(f"\ntotal: {time.perf_counter() - started:.0f} s (load average at the end {os.getloadavg()[0]:.2f})")


def users_cell(found: Finding) -> str:
    return f"{found.users:,}" if found.users else f"over {MAX_USERS:,}"


if __name__ == "__main__":
    sys.exit(main())
