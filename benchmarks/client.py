"""What relevo.client costs over raw httpx on the same calls: GET /api/v1/recommendations/{user}
for random users, and POST /api/v1/events with one event, sent one after another on one
kept-alive connection to `relevo serve --workers 1`, on a demo shop with item_knn deployed.

Baseline measured in the same run: the same requests through a bare httpx.Client (one
persistent connection, `response.json()` on each answer). Rounds alternate client and raw for
each kind of call; the figures are medians of the rounds' rates, and the ratio client/raw is
taken within each round, then its median printed. Beside each rate, the CPU time this process
(the caller) spent per call: what the client library itself costs.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from benchmarks.common import (
    DEFAULT_POSTGRES_ADMIN_URL,
    create_api_key,
    describe_machine,
    fresh_database,
    relevo_server,
)
from benchmarks.shop import train
from relevo.accounts.models import Role
from relevo.client import Client
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.demo import load_demo
from relevo.demo_size import ShopSize

Call = Callable[[int], object]


def rate(call: Call, seconds: float) -> tuple[float, float]:
    """Calls per second over `seconds`, calling one after another, and this process's CPU
    seconds per call (the client's own cost, which the server's share of the cores disturbs less)."""
    done = 0
    started, cpu = time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - started) < seconds:
        call(done)
        done += 1
    return done / elapsed, (time.process_time() - cpu) / done


def client_calls(client: Client, users: list[str], products: list[str]) -> dict[str, Call]:
    def recommend(n: int) -> object:
        return client.recommendations.for_user(users[n % len(users)], count=10)

    def send_event(n: int) -> object:
        return client.events.send({"user_id": users[n % len(users)], "product_id": products[n % len(products)]})

    return {"GET recommendations": recommend, "POST one event": send_event}


def raw_calls(http: httpx.Client, users: list[str], products: list[str]) -> dict[str, Call]:
    def recommend(n: int) -> object:
        response = http.get(f"/api/v1/recommendations/{users[n % len(users)]}", params={"count": 10})
        response.raise_for_status()
        return response.json()

    def send_event(n: int) -> object:
        event = {"user_id": users[n % len(users)], "product_id": products[n % len(products)]}
        response = http.post("/api/v1/events", json=event)
        response.raise_for_status()
        return response.json()

    return {"GET recommendations": recommend, "POST one event": send_event}


def compare(url: str, key: str, users: list[str], products: list[str], *, rounds: int, seconds: float) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    with (
        Client(url, api_key=key) as client,
        httpx.Client(base_url=url, headers=headers, limits=httpx.Limits(max_connections=1)) as http,
    ):
        ours, theirs = client_calls(client, users, products), raw_calls(http, users, products)
        for name in ours:
            ours[name](0), theirs[name](0)  # warm both connections and the server's caches
            client_runs, raw_runs, ratios = [], [], []
            for turn in range(rounds):
                # Alternate who goes first, so a host slowing down over the run hurts both alike.
                first, second = (ours, theirs) if turn % 2 == 0 else (theirs, ours)
                one, two = rate(first[name], seconds), rate(second[name], seconds)
                client_run, raw_run = (one, two) if first is ours else (two, one)
                client_runs.append(client_run)
                raw_runs.append(raw_run)
                ratios.append(client_run[0] / raw_run[0])
            print(
                f"{name}: relevo.client {median_of(client_runs)}; raw httpx {median_of(raw_runs)}; "
                f"client/raw {statistics.median(ratios):.3f} (rounds: {min(ratios):.3f}..{max(ratios):.3f})",
                flush=True,
            )


def median_of(runs: list[tuple[float, float]]) -> str:
    rates, cpu = zip(*runs, strict=True)
    return f"{statistics.median(rates):,.0f} req/s, {statistics.median(cpu) * 1e6:,.0f} µs CPU/call"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_ADMIN_URL, help="administrative URL")
    parser.add_argument("--products", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=10, help="rounds of each kind of call, client and raw")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of each side's turn in a round")
    args = parser.parse_args()

    print(describe_machine(args.postgres_url if args.backend == "postgresql" else None))
    size = ShopSize(products=args.products)
    with fresh_database(args.backend, args.postgres_url) as url, tempfile.TemporaryDirectory() as folder:
        database = Database(url)
        with database.transaction() as session:
            loaded = load_demo(session=session, size=size)
        seconds = train(
            database, Settings(database_url=url, data_dir=Path(folder), job_threads=0), "default", "item_knn"
        )
        database.dispose()
        print(f"demo shop: {loaded}; item_knn trained and deployed in {seconds:.1f} s", flush=True)
        key = create_api_key(url, Role.admin)
        randomness = random.Random(7)
        users = [f"U{randomness.randrange(size.users):06d}" for _ in range(500)] + [f"new-{uuid.uuid4().hex[:6]}"]
        products = [f"P{randomness.randrange(size.products):06d}" for _ in range(500)]
        with relevo_server(url, workers=1, extra_env={"RELEVO_DATA_DIR": folder}) as port:
            compare(f"http://127.0.0.1:{port}", key, users, products, rounds=args.rounds, seconds=args.seconds)


if __name__ == "__main__":
    sys.exit(main())
