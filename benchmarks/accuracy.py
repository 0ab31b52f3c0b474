"""Offline accuracy on MovieLens-100K under two published protocols, one row per algorithm.
It prints figures; it asserts nothing.

A. Microsoft Recommenders' movielens benchmark notebook: python_stratified_split(ratio=0.75,
   min_rating=1, filter_by="item", seed=42), reproduced draw for draw; each user's top 10 among
   the items seen in training, training items removed; every test rating relevant.
B. RecBole 1.2.1's defaults: per user, a random 80/10/10 split (RS [0.8,0.1,0.1], group_by
   user, order RO, seed 2020), RecBole's own event for event (its torch shuffle reproduced, its
   part sizes counted as split_by_ratio counts them); full ranking of every item with training
   items masked (validation) or training and validation items masked (test); the model that
   scores test is fit on the training part only, as RecBole's is. A check row runs Relevo's EASE
   with RecBole's default setting and sets its figures beside those RecBole's own EASE gave.

Hyper-parameters never see a test set. Each protocol tunes on a validation part of its own (B:
its 10 %, by MRR@10, RecBole's valid_metric; A: a part carved out of its training part by the
same stratified splitter, by NDCG@10, the figure its table is read by) with a small coordinate
search per algorithm; the chosen setting is refit on the training part and scores test once.

Usage: python -m benchmarks.accuracy [--protocol a|b|both] [--quick]
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

from benchmarks import movielens
from benchmarks.common import describe_machine
from benchmarks.protocols import Data, Protocol, Scorer, Task, protocol_a, protocol_b
from relevo.engine.algorithms import recommender_class
from relevo.engine.base import Recommender
from relevo.engine.evaluation.metrics import standard_error

SEED = 0
THREADS = 2
CHEAP_FIT_SECONDS = 2.0  # fits quicker than this are repeated and the median reported
# A blend replaces the best component alone only when it is this much better on validation:
# about two standard errors of a per-user paired difference in MRR@10 over 943 users (0.002
# measured), so a blend is not kept for a gain that is noise.
BLEND_MARGIN = 0.01


# Searching settings


@dataclass(frozen=True)
class Candidate:
    """One row of the table: an algorithm, the settings its search starts from, and the values
    each searched setting may take ("ratings": how a rating weighs, see Data)."""

    label: str
    algorithm: str
    start: dict[str, Any]
    space: dict[str, list]


def candidates(*, quick: bool) -> list[Candidate]:
    """The grids, kept small: coordinate search tries the sum of their sides, not the product.
    Ranges come from trial runs on validation: ALS wants few factors here, implicit's BPR a low
    learning rate, item-kNN many neighbours; the first value of each is where the search starts."""
    ratings = ["count", "value", "capped"]
    rows = [
        Candidate("popular", "popular", {"ratings": "count"}, {"ratings": ratings}),
        Candidate(
            "cooccurrence", "cooccurrence", {"rank_by": "cooccurrence"}, {"rank_by": ["cooccurrence", "popularity"]}
        ),
        Candidate(
            "item_knn cosine",
            "item_knn",
            {"similarity": "cosine", "neighbours": 100, "shrink": 10.0, "ratings": "count"},
            {"neighbours": [100, 25, 50, 200, 400, 800], "shrink": [10.0, 0.0, 50.0, 200.0], "ratings": ratings},
        ),
        Candidate(
            "item_knn bm25",
            "item_knn",
            {
                "similarity": "bm25",
                "neighbours": 100,
                "shrink": 10.0,
                "bm25_k1": 100.0,
                "bm25_b": 0.8,
                "ratings": "count",
            },
            {
                "neighbours": [100, 25, 50, 200, 400, 800],
                "shrink": [10.0, 0.0, 50.0, 200.0],
                "bm25_k1": [100.0, 1.2, 10.0],
                "bm25_b": [0.8, 0.25, 0.5, 1.0],
                "ratings": ratings,
            },
        ),
        Candidate(
            "content",
            "content",
            {"category_weight": 2.0, "popularity_weight": 0.5, "ratings": "count"},
            {
                "popularity_weight": [0.5, 0.0, 0.25, 0.75, 0.9],
                "category_weight": [2.0, 0.0, 0.5, 1.0, 4.0],
                "ratings": ratings,
            },
        ),
        Candidate(
            "als",
            "als",
            {"embedding_dim": 32, "regularization": 0.5, "alpha": 1.0, "epochs": 15, "bm25": False, "ratings": "count"},
            {
                "embedding_dim": [32, 16, 24, 64, 128],
                "regularization": [0.5, 0.05, 2.0, 10.0, 50.0],
                "alpha": [1.0, 0.5, 2.0, 5.0, 10.0],
                "epochs": [15, 30],
                "bm25": [False, True],
                "ratings": ratings,
            },
        ),
        Candidate(
            "bpr",
            "bpr",
            {"embedding_dim": 64, "learning_rate": 0.005, "regularization": 0.01, "epochs": 100},
            {
                "embedding_dim": [64, 32, 128],
                "learning_rate": [0.005, 0.002, 0.01, 0.05],
                "regularization": [0.01, 0.001, 0.003, 0.05],
                "epochs": [100, 50, 200],
            },
        ),
        Candidate(
            "ease",
            "ease",
            {"l2": 500.0, "dropout": 0.0, "ratings": "count"},
            {"l2": [500.0, 50.0, 100.0, 200.0, 300.0, 800.0, 1200.0, 2000.0], "ratings": ratings},
        ),
        Candidate(
            "ease EDLAE",
            "ease",
            {"l2": 50.0, "dropout": 0.33, "ratings": "count"},
            {
                "dropout": [0.33, 0.1, 0.2, 0.5, 0.7],
                "l2": [50.0, 1.0, 10.0, 100.0, 200.0, 400.0, 800.0],
                "ratings": ratings,
            },
        ),
        Candidate(
            "ease in order",
            "ease",
            {"l2": 500.0, "dropout": 0.0, "pair_half_life": 50.0, "ratings": "count"},
            {
                "pair_half_life": [50.0, 10.0, 25.0, 100.0, 200.0, 400.0],
                "l2": [500.0, 50.0, 100.0, 200.0, 300.0, 800.0],
                "dropout": [0.0, 0.33, 0.5, 0.7],
                "ratings": ratings,
            },
        ),
    ]
    if quick:  # the starting value and one other per setting
        rows = [
            Candidate(row.label, row.algorithm, row.start, {name: values[:2] for name, values in row.space.items()})
            for row in rows
        ]
    return rows


def coordinate_search(
    score: Callable[[dict[str, Any]], float], start: dict[str, Any], space: dict[str, list], passes: int
) -> tuple[dict[str, Any], float, int]:
    """The best settings found (and their score, and how many were tried) by trying each
    setting's values in turn with the others held at the best so far, for `passes` rounds or
    until a round changes nothing. Ties keep the earlier, so the start wins them."""
    seen: dict[tuple, float] = {}

    def tried(settings: dict[str, Any]) -> float:
        key = tuple(sorted((name, repr(value)) for name, value in settings.items()))
        if key not in seen:
            seen[key] = score(settings)
        return seen[key]

    best, best_score = dict(start), tried(start)
    for _ in range(passes):
        improved = False
        for name, values in space.items():
            for value in values:
                settings = {**best, name: value}
                result = tried(settings)
                if result > best_score:
                    best, best_score, improved = settings, result, True
        if not improved:
            break
    return best, best_score, len(seen)


@dataclass
class Row:
    """One algorithm's outcome: the settings chosen on validation, their validation figure,
    and the test figures of those settings refit on the training part."""

    label: str
    algorithm: str
    settings: dict[str, Any]
    validation: float
    figures: dict[str, float]
    ndcg_by_user: np.ndarray  # each test user's NDCG@10, for standard errors
    train_seconds: float


def component_rows(rows: list[Row]) -> dict[str, Row]:
    """Per algorithm, the row that did best on validation: what the hybrid blends."""
    best: dict[str, Row] = {}
    for row in rows:
        if row.algorithm != "hybrid" and (row.algorithm not in best or row.validation > best[row.algorithm].validation):
            best[row.algorithm] = row
    return best


def hybrid_space(rows: list[Row], *, quick: bool) -> tuple[dict[str, dict], dict[str, Any], dict[str, list]]:
    """The hybrid's components (per algorithm, the row that did best on validation, with its
    settings), the search's start (that best component alone, its ratings weighting) and the
    values each weight may take."""
    best = component_rows(rows)
    components = {
        name: {key: value for key, value in row.settings.items() if key != "ratings"} for name, row in best.items()
    }
    leader = max(best.values(), key=lambda row: row.validation)
    start = {"ratings": leader.settings.get("ratings", "count"), **dict.fromkeys(components, 0.0)}
    start[leader.algorithm] = 1.0
    weights = [0.0, 1.0] if quick else [0.0, 0.1, 0.25, 0.5, 1.0, 2.0]
    space = dict.fromkeys(components, weights) | {"ratings": ["count", "value", "capped"]}
    return components, start, space


_SHORT_NAMES = {
    "embedding_dim": "dim",
    "regularization": "reg",
    "learning_rate": "lr",
    "neighbours": "k",
    "category_weight": "category",
    "popularity_weight": "popularity",
    "pair_half_life": "half_life",
    "similarity": "",
}


def short_settings(settings: dict[str, Any]) -> str:
    """Settings as a table cell: "dim=16 reg=2 ratings=count"."""
    if "weights" in settings:
        blend = " ".join(f"{name} {weight:g}" for name, weight in settings["weights"].items() if weight > 0)
        return f"{blend}; ratings={settings['ratings']}"
    words = []
    for name, value in settings.items():
        if name == "ratings":
            continue
        short = _SHORT_NAMES.get(name, name)
        if short:
            words.append(f"{short}={value:g}" if isinstance(value, float) else f"{short}={value}")
    words.append(f"ratings={settings.get('ratings', 'count')}")
    return " ".join(words)


# Fitting


def build(algorithm: str, settings: dict[str, Any]) -> Recommender:
    cls = recommender_class(algorithm)
    return cls(cls.make_config({name: value for name, value in settings.items() if name != "ratings"}))


def fit(data: Data, task: Task, algorithm: str, settings: dict[str, Any]) -> Recommender:
    # implicit's BPR is repeatable on one thread only (more run lock-free SGD), and no faster here.
    with_bpr = algorithm == "bpr" or settings.get("weights", {}).get("bpr", 0.0) > 0
    threads = 1 if with_bpr else THREADS
    training = data.training(task.train, ratings=settings.get("ratings", "count"))
    return build(algorithm, settings).fit(training, seed=SEED, threads=threads)


def timed_fit(data: Data, task: Task, algorithm: str, settings: dict[str, Any]) -> tuple[Recommender, float]:
    """The fitted model and its training seconds: the median of three fits when one is cheap."""
    started = time.perf_counter()
    model = fit(data, task, algorithm, settings)
    seconds = [time.perf_counter() - started]
    if seconds[0] < CHEAP_FIT_SECONDS:
        for _ in range(2):
            started = time.perf_counter()
            fit(data, task, algorithm, settings)
            seconds.append(time.perf_counter() - started)
    return model, statistics.median(seconds)


def tune(data: Data, protocol: Protocol, candidate: Candidate, scorer: Scorer, passes: int) -> tuple[dict, float]:
    """The candidate's settings chosen on the protocol's validation part, and their figure."""

    def score(settings: dict[str, Any]) -> float:
        model = fit(data, protocol.validation, candidate.algorithm, settings)
        return scorer.score(model)[protocol.select_by]

    started = time.perf_counter()
    settings, best, tried = coordinate_search(score, candidate.start, candidate.space, passes)
    print(
        f"  {candidate.label:18} {tried:3} settings in {time.perf_counter() - started:5.1f} s; "
        f"validation {protocol.select_by} {best:.4f}: {short_settings(settings)}",
        flush=True,
    )
    return settings, best


def tune_hybrid(data: Data, protocol: Protocol, rows: list[Row], scorer: Scorer, quick: bool) -> tuple[dict, float]:
    """Blend weights by coordinate search over the tuned components, starting from the best
    component alone, which is kept unless a blend beats it by BLEND_MARGIN on validation. The
    components are fit once per weighting of the ratings; each blend reuses them."""
    components, start, space = hybrid_space(rows, quick=quick)
    fitted: dict[str, Recommender] = {}

    def score(settings: dict[str, Any]) -> float:
        weights = {name: settings[name] for name in components}
        if not any(weights.values()):
            return -np.inf
        ratings = settings["ratings"]
        if ratings not in fitted:
            everything = {"ratings": ratings, "components": components, "weights": dict.fromkeys(components, 1.0)}
            fitted[ratings] = fit(data, protocol.validation, "hybrid", everything)
        return scorer.score(fitted[ratings].reweighted(weights))[protocol.select_by]

    started = time.perf_counter()
    settings, best, tried = coordinate_search(score, start, space, passes=1 if quick else 2)
    alone, note = score(start), ""
    if best < alone * (1 + BLEND_MARGIN):
        note = f" (the best blend, {best:.4f}, was within {BLEND_MARGIN:.0%} of it)"
        settings, best = start, alone
    chosen = {
        "ratings": settings["ratings"],
        "components": components,
        "weights": {name: settings[name] for name in components},
    }
    print(
        f"  {'hybrid':18} {tried:3} blends in {time.perf_counter() - started:5.1f} s; "
        f"validation {protocol.select_by} {best:.4f}: {short_settings(chosen)}{note}",
        flush=True,
    )
    return chosen, best


def run_protocol(data: Data, protocol: Protocol, quick: bool) -> list[Row]:
    print(f"\nprotocol {protocol.name}: {protocol.title}", flush=True)
    for note in protocol.notes:
        print(f"  {note}")
    validation = Scorer(data.events, protocol.validation, protocol.metrics)
    test = Scorer(data.events, protocol.test, protocol.metrics)
    print(f"  users scored: {len(validation.users)} (validation), {len(test.users)} (test)")
    print(f"tuning on validation by {protocol.select_by}:", flush=True)
    rows = []
    for candidate in candidates(quick=quick):
        settings, best = tune(data, protocol, candidate, validation, passes=1 if quick else 2)
        model, seconds = timed_fit(data, protocol.test, candidate.algorithm, settings)
        rows.append(Row(candidate.label, candidate.algorithm, settings, best, *test.score_by_user(model), seconds))
    settings, best = tune_hybrid(data, protocol, rows, validation, quick)
    model, seconds = timed_fit(data, protocol.test, "hybrid", settings)
    rows.append(Row("hybrid", "hybrid", settings, best, *test.score_by_user(model), seconds))
    return rows


def run_check(data: Data, protocol: Protocol) -> list[str]:
    """The protocol's check, as lines to print: Relevo's figures with the other tool's setting
    beside the ones that tool's run gave, and whether they agree to the fourth decimal."""
    check = protocol.check
    if check is None:
        return []
    figures = Scorer(data.events, protocol.test, protocol.metrics).score(
        fit(data, protocol.test, check.algorithm, check.settings)
    )
    agree = all(round(figures[name], 4) == value for name, value in check.expected.items())
    ours = ", ".join(f"{name} {figures[name]:.4f}" for name in check.expected)
    theirs = ", ".join(f"{name} {value:.4f}" for name, value in check.expected.items())
    return [
        f"check: {check.label}: {theirs}",
        f"  Relevo's {check.algorithm} with that setting ({short_settings(check.settings)}): {ours}",
        f"  {'the same: split and metrics agree with it' if agree else 'NOT the same'}",
    ]


# Reporting


def print_table(protocol: Protocol, rows: list[Row]) -> None:
    columns = list(rows[0].figures)
    print(f"\nprotocol {protocol.name} results on test: {protocol.title}")
    print(f"| algorithm | chosen settings | valid {protocol.select_by} | {' | '.join(columns)} | ± se | train s |")
    print(f"|---|---|---:|{'---:|' * len(columns)}---:|---:|")
    for row in rows:
        figures = " | ".join(f"{row.figures[column]:.4f}" for column in columns)
        print(
            f"| {row.label} | {short_settings(row.settings)} | {row.validation:.4f} | {figures} | "
            f"{standard_error(row.ndcg_by_user):.4f} | {row.train_seconds:.2f} |"
        )
    print(f"± se: the standard error of NDCG@10 over the {len(rows[0].ndcg_by_user)} test users")
    print(
        f"train s: one fit on the training part, {THREADS} threads (BPR 1), the median of three when under "
        f"{CHEAP_FIT_SECONDS:g} s"
    )
    for line in protocol.anchors:
        print(line)
    best = max(rows, key=lambda row: row.figures["NDCG@10"])
    ndcg, error = best.figures["NDCG@10"], standard_error(best.ndcg_by_user)
    met = "met" if ndcg >= protocol.target else "NOT met"
    print(
        f"best: {best.label}, NDCG@10 {ndcg:.4f} ± {error:.4f}; target >= {protocol.target}: {met} "
        f"({(ndcg - protocol.target) / error:+.1f} standard errors from it)"
    )
    others = [row for row in rows if row.label != best.label and row.algorithm != "hybrid"]
    if others and best.algorithm != "hybrid":  # the hybrid's line below compares it
        runner_up = max(others, key=lambda row: row.figures["NDCG@10"])
        print(f"  ahead of the next best row, {runner_up.label}, by {paired(best, runner_up)}")
    hybrid = next(row for row in rows if row.algorithm == "hybrid")
    used = [row for name, row in component_rows(rows).items() if hybrid.settings["weights"].get(name, 0) > 0]
    if used:
        strongest = max(used, key=lambda row: row.figures["NDCG@10"])
        verdict = "no worse" if hybrid.figures["NDCG@10"] >= strongest.figures["NDCG@10"] else "WORSE"
        print(
            f"hybrid NDCG@10 {hybrid.figures['NDCG@10']:.4f} against its best component on test, "
            f"{strongest.label} {strongest.figures['NDCG@10']:.4f}: {verdict} ({paired(hybrid, strongest)})"
        )


def paired(row: Row, other: Row) -> str:
    """One row's NDCG@10 against another's, user by user: "+0.0083 ± 0.0020, paired"."""
    differences = row.ndcg_by_user - other.ndcg_by_user
    return f"{differences.mean():+.4f} ± {standard_error(differences):.4f}, paired"


def describe_libraries() -> str:
    names = ("numpy", "scipy", "implicit", "scikit-learn")
    return "libraries: " + ", ".join(f"{name} {metadata.version(name)}" for name in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", choices=("a", "b", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="tiny grids and one search pass, for a smoke run")
    args = parser.parse_args()

    started = time.perf_counter()
    print(describe_machine(None))
    print(describe_libraries())
    data = Data.load()
    print(
        f"data: MovieLens-100K from {movielens.RECBOLE}: {len(data.events):,} ratings, "
        f"{len(data.events.users)} users, {len(data.events.items)} items"
    )
    chosen = {"a": [protocol_a], "b": [protocol_b], "both": [protocol_b, protocol_a]}[args.protocol]
    results = []
    for make in chosen:
        protocol = make(data)
        protocol_started = time.perf_counter()
        rows = run_protocol(data, protocol, args.quick)
        results.append((protocol, rows, run_check(data, protocol), time.perf_counter() - protocol_started))
    for protocol, rows, check, seconds in results:
        print_table(protocol, rows)
        for line in check:
            print(line)
        print(f"(protocol {protocol.name}: {seconds:.0f} s, tuning included)")
    print(f"\ntotal: {time.perf_counter() - started:.0f} s (load average at the end {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    sys.exit(main())
