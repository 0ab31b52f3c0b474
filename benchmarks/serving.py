"""Serving speed on a large demo shop (100,000 products, about 1,000,000 events): training time
per algorithm, in-process recommendation latency with the hybrid deployed, the HTTP rate of
GET /api/recommendations/{id}/?count=10 against `relevo serve --workers 2`, and how fresh its
answers are (benchmarks/freshness.py: right after an event, after a product is deleted), and
what online metrics and rate limits cost (benchmarks/guards.py: one limit check, and the rate with
both on against off).

Baselines measured in the same run: for latency, exact scoring of every item with 64 factors
(one matrix-vector product and a top-k over the whole catalog); for HTTP, GET /health.
"""

import argparse
import asyncio
import dataclasses
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks import freshness, guards
from benchmarks.common import (
    DEFAULT_POSTGRES_ADMIN_URL,
    create_api_key,
    describe_machine,
    fresh_database,
    relevo_server,
)
from benchmarks.http_load import LoadResult, build_request, run_load
from benchmarks.shop import MODEL, deploy_hybrid, shop_size, with_strangers
from relevo.accounts.models import Role
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.demo import load_demo
from relevo.engine.algorithms import ALGORITHMS
from relevo.engine.topk import top_k
from relevo.recommend.answer import AnswerInputs, UserRequest
from relevo.recommend.service import recommend_for_user
from relevo.recommend.state import ServingState
from relevo.registry.training import load_training_data


def percentiles(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p50, p99 = statistics.median(ordered), ordered[int(0.99 * (len(ordered) - 1))]
    return f"p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"


def latencies(actions: dict[str, Callable[[str], object]], users: list[str], block: int = 20) -> dict[str, list[float]]:
    """Each action's seconds per user. The actions take turns, `block` users at a time, so a
    host that speeds up or slows down during the run does so for all of them alike (blocks, not
    single users, so one action's data does not evict another's from the cache at every call)."""
    for user in users[:50]:  # warm caches (catalog masks, BLAS) first
        for action in actions.values():
            action(user)
    timings: dict[str, list[float]] = {name: [] for name in actions}
    for start in range(0, len(users), block):
        for name, action in actions.items():
            for user in users[start : start + block]:
                started = time.perf_counter()
                action(user)
                timings[name].append(time.perf_counter() - started)
    return timings


def train_each(database: Database) -> None:
    """Training time of every algorithm on the shop's events (engine only: read once)."""
    with database.session(write=False) as session:
        data = load_training_data(session).data
    threads = os.cpu_count() or 1
    print(f"training on {len(data.events):,} events, {len(data.users):,} users, {len(data.items):,} items", flush=True)
    for name, cls in ALGORITHMS.items():
        config = cls.Config()
        if name == "ease" and len(data.items) > config.max_items:
            print(f"  {name:12} skipped: {len(data.items):,} items is over EASE's max_items ({config.max_items:,})")
            continue
        started = time.perf_counter()
        cls(config).fit(data, threads=threads)
        print(f"  {name:12} {time.perf_counter() - started:6.1f} s", flush=True)


def in_process(database: Database, settings: Settings, users: list[str]) -> None:
    state = ServingState.open(database, settings, refresh_seconds=3600)  # keeps no answers
    version = state.versions.get(MODEL)
    inputs = AnswerInputs(version=version, snapshot=state.catalog.snapshot(), state=state)
    model = version.recommender

    def pipeline(user: str, inputs: AnswerInputs = inputs, reasons: bool = False) -> object:
        events = state.events.of(user, version.watermark)
        return recommend_for_user(inputs, events, UserRequest(user, 10, reasons=reasons))

    anew = dataclasses.replace(inputs, version=dataclasses.replace(version, ranked_ahead=None))

    def engine_only(user: str) -> object:
        return model.recommend(user, 10)

    # A shopper in a session: two products viewed since training (so ALS folds the user in).
    draw, products = random.Random(6), model.items.ids.tolist()
    viewed = {user: dict.fromkeys(draw.sample(products, 2), 1.0) for user in users}

    def engine_with_new_events(user: str) -> object:
        return model.recommend(user, 10, recent=[viewed[user]])

    als = model.components["als"]
    user_factors, item_factors = als.user_factors, als.item_factors

    def exact_scan(user: str) -> object:
        scores = item_factors @ user_factors[max(model.users.index(user), 0)]
        return top_k(scores[np.newaxis, :], 10)

    runs = {
        "baseline: exact 64-factor scan": exact_scan,
        "engine recommend": engine_only,
        "engine recommend, 2 new events": engine_with_new_events,
        "full pipeline, ranking anew": lambda user: pipeline(user, anew),
        "the same, with reasons": lambda user: pipeline(user, anew, reasons=True),
        "full pipeline, lists ranked ahead": pipeline,
    }
    timings = latencies(runs, users)
    baseline = statistics.median(timings["baseline: exact 64-factor scan"])
    print(f"in-process latency, one user at a time, {len(users):,} users (10% unknown to the model):")
    for name, seconds in timings.items():
        print(f"  {name:34} {percentiles(seconds)}; p50 ratio to baseline {statistics.median(seconds) / baseline:.2f}")


def over_http(
    url: str,
    settings: Settings,
    users: list[str],
    others: list[str],
    *,
    connections: int,
    turn_seconds: float,
    rounds: int,
    fresh_rounds: int,
) -> None:
    """/health, the same users asked again and again (after a first pass, answers are the kept
    ones) and users asked once each (every answer computed) take turns in short slices, `rounds`
    times: a shared host that slows down for a while (CPU taken by its neighbours, for seconds
    to minutes) then slows all three alike, and each ratio to /health is taken within a round.
    Then freshness: `fresh_rounds` purchase-then-ask rounds, and products deleted."""
    env = {"RELEVO_ARTIFACTS_DIR": str(settings.resolved_artifacts_dir)}
    with relevo_server(url, workers=2, extra_env=env) as port:
        host = f"127.0.0.1:{port}"

        def requests(chosen: list[str]) -> list[bytes]:
            return [build_request("GET", f"/api/recommendations/{user}/?count=10", host, {}) for user in chosen]

        health, again = [build_request("GET", "/health", host, {})], requests(users)
        first_time = iter(requests(others))  # each asked once: a slice goes on where the last one stopped
        run_load("127.0.0.1", port, again, connections=connections, seconds=8)  # loads the model, keeps answers
        kinds = {
            "GET /health": (health, True),
            "recommendations, users asked again": (again, True),
            "recommendations, users asked once": (first_time, False),
        }
        turns: list[dict[str, LoadResult]] = []  # per round, each kind's slice
        for _ in range(rounds):
            played = {
                name: run_load("127.0.0.1", port, chosen, connections=connections, seconds=turn_seconds, cycle=cycle)
                for name, (chosen, cycle) in kinds.items()
            }
            # A slice cut short by the last first-time users is left out (its connections idled).
            turns.append({name: result for name, result in played.items() if not result.ran_out})
        key = create_api_key(url, Role.admin)
        print("freshness, relevo serve --workers 2, a new connection per request:")
        freshness.after_events(port, key, users[:fresh_rounds])
        freshness.after_deletes(port, key, url)
    print(f"HTTP, relevo serve --workers 2, {connections} connections, {rounds} rounds of {turn_seconds:g} s per kind:")
    for name in kinds:
        slices = [turn[name] for turn in turns if name in turn]
        if not slices:
            print(f"  {name:38} not measured: too few users for a whole slice (raise --events)")
            continue
        latencies = sorted(latency for result in slices for latency in result.latencies)
        p50, p99 = latencies[len(latencies) // 2] * 1000, latencies[int(0.99 * (len(latencies) - 1))] * 1000
        rate = statistics.median(answered(result) for result in slices)
        ratio = statistics.median(
            answered(turn[name]) / answered(turn["GET /health"]) for turn in turns if name in turn
        )
        statuses = dict(sum((result.statuses for result in slices), Counter()))
        print(
            f"  {name:38} {rate:7,.0f} req/s, p50 {p50:5.1f} ms, p99 {p99:5.1f} ms, ratio to /health {ratio:.2f}"
            f" ({len(slices)} slices, statuses {statuses})"
        )


def answered(result: LoadResult) -> float:
    """Answers with status 200 per second."""
    return result.statuses[200] / result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_ADMIN_URL, help="administrative URL")
    parser.add_argument("--users", type=int, default=2_000, help="users asked for, in-process and over HTTP")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--turn-seconds", type=float, default=0.5, help="HTTP: seconds of each kind's turn")
    parser.add_argument("--rounds", type=int, default=20, help="HTTP: turns of each kind")
    parser.add_argument("--fresh-rounds", type=int, default=300, help="HTTP: purchase-then-ask rounds")
    parser.add_argument("--skip-training-table", action="store_true", help="only train and deploy the hybrid")
    parser.add_argument("--redis-url", default=guards.DEFAULT_REDIS_URL, help="a Redis database the run may write to")
    parser.add_argument("--guard-rounds", type=int, default=12, help="metrics and limits on/off: turns of each")
    parser.add_argument("--skip-guards", action="store_true", help="leave out what metrics and limits cost")
    args = parser.parse_args()

    print(describe_machine(args.postgres_url if args.backend == "postgresql" else None))
    size = shop_size(args.products, args.events)
    with fresh_database(args.backend, args.postgres_url) as url, tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=url, data_dir=Path(folder), job_threads=0)
        database = Database(url)
        started = time.perf_counter()
        with database.transaction() as session:
            loaded = load_demo(session=session, size=size)
        print(f"demo shop: {loaded} in {time.perf_counter() - started:.0f} s ({size})\n", flush=True)
        if not args.skip_training_table:
            train_each(database)
        deploy_hybrid(database, settings)
        with database.session(write=False) as session:
            known = load_training_data(session).data.users.ids.tolist()
        random.Random(3).shuffle(known)
        users = with_strangers(known[: args.users], args.users, "stranger")
        others = with_strangers(known[args.users :], len(known) - args.users, "newcomer")
        in_process(database, settings, users)
        database.dispose()
        over_http(
            url,
            settings,
            users,
            others,
            connections=args.connections,
            turn_seconds=args.turn_seconds,
            rounds=args.rounds,
            fresh_rounds=args.fresh_rounds,
        )
        if not args.skip_guards:
            print(f"\nonline metrics and rate limits (Redis at {args.redis_url}):", flush=True)
            asyncio.run(guards.check_costs(args.redis_url, 50_000, 10_000, Path(folder)))
            guards.serving_rates(
                url,
                settings.resolved_artifacts_dir,
                args.redis_url,
                users,
                connections=args.connections,
                turn_seconds=2.0,
                rounds=args.guard_rounds,
            )


if __name__ == "__main__":
    sys.exit(main())
