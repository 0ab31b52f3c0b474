"""What online metrics and rate limits cost the serving path: one limit check in microseconds
(counters in memory, and in Redis, where each check is round trips to it), and the serving rate
of GET /api/v1/recommendations/{user}?count=10 against `relevo serve --workers 2` with online
metrics and limits on (a quota no request reaches) against the same server with both off.

Baselines measured in the same run: for a check, one turn of the event loop (every figure
includes one, in which the library's asyncio memory storage does its housekeeping); for the
serving rate, a server with RELEVO_ONLINE_METRICS=false and RELEVO_RATE_LIMITS=false. Four
servers (both off; metrics on; metrics and limits on, counting in memory; the same counting in
Redis) run side by side on one database and take turns, in a rotating order, so a host that
slows down for a while slows them alike; each ratio is taken within a round. Beside each rate,
the CPU time the server's processes spent per answer (Redis's own work not included), which a
busy host disturbs less than the rate.

`python -m benchmarks.serving` runs this at its end; alone: `python -m benchmarks.guards`.
"""

import argparse
import asyncio
import contextlib
import itertools
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import psutil
import redis
from limits.aio.storage import MemoryStorage as AsyncMemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

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
from relevo.core.rates import LimitClass, parse_rate
from relevo.demo import load_demo
from relevo.ratelimits.limiter import RateLimiter
from relevo.registry.training import load_training_data

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
NEVER_REACHED = "100000000/minute"  # the quota of the serving runs: counted, never refused
OFF = "metrics and limits off"


def micros(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered) * 1e6:6.1f} µs, p99 {p99 * 1e6:7.1f} µs"


async def timed_checks(check: Callable[[int], Awaitable[object]], times: int) -> list[float]:
    """Seconds of each `check(n)` and the event loop's turn after it."""
    for n in range(min(times, 1_000)):  # warm up
        await check(n)
    seconds = []
    for n in range(times):
        started = time.perf_counter()
        await check(n)
        await asyncio.sleep(0)
        seconds.append(time.perf_counter() - started)
    return seconds


async def check_costs(redis_url: str, checks: int, callers: int, folder: Path) -> None:
    """The check a request makes (RateLimiter.check, one limit), by anonymous clients."""
    prefix = f"relevo-bench-{uuid.uuid4().hex[:8]}"
    base = Settings(
        data_dir=folder, secret_key="benchmark-" * 4, rate_limit_api=NEVER_REACHED, rate_limit_key_prefix=prefix
    )

    def limiter_check(storage: str, clients: int) -> Callable[[int], Awaitable[object]]:
        limiter = RateLimiter(base.model_copy(update={"rate_limit_storage": storage}))

        async def check(n: int) -> None:
            scope = {"client": (f"10.{n % clients // 65536}.{n % clients // 256 % 256}.{n % 256}", 1), "headers": []}
            await limiter.check(scope, None, (LimitClass.api,))

        check.limiter = limiter  # type: ignore[attr-defined]
        return check

    rate = parse_rate(NEVER_REACHED)
    async_memory = SlidingWindowCounterRateLimiter(AsyncMemoryStorage())

    async def asyncio_storage_check(n: int) -> None:
        await async_memory.hit(rate, "api", f"address:{n % callers}")
        await async_memory.get_window_stats(rate, "api", f"address:{n % callers}")

    async def loop_turn(n: int) -> None:
        return None

    runs = {
        "baseline: one turn of the event loop": (loop_turn, checks),
        "memory, 1 client": (limiter_check("memory", 1), checks),
        f"memory, {callers:,} clients": (limiter_check("memory", callers), checks),
        f"  (the library's asyncio memory storage, {callers:,} clients)": (asyncio_storage_check, checks // 10),
        "Redis, 1 client": (limiter_check(redis_url, 1), checks // 5),
        f"Redis, {callers:,} clients": (limiter_check(redis_url, callers), checks // 5),
    }
    print(f"one limit check (what a request counted against one limit pays), {checks:,} checks:")
    for name, (check, times) in runs.items():
        seconds = await timed_checks(check, times)
        print(f"  {name:58} {micros(seconds)}", flush=True)
        limiter = getattr(check, "limiter", None)
        if limiter is not None:
            await limiter.close()
    with redis.Redis.from_url(redis_url) as client:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)


def serving_rates(
    url: str, artifacts: Path, redis_url: str, users: list[str], *, connections: int, turn_seconds: float, rounds: int
) -> None:
    """Three servers side by side, taking turns under the same load, two kinds of it."""
    key = create_api_key(url, Role.service)
    prefix = f"relevo-bench-{uuid.uuid4().hex[:8]}"
    common = {"RELEVO_ARTIFACTS_DIR": str(artifacts), "RELEVO_RATE_LIMIT_KEY_PREFIX": prefix}
    off = {**common, "RELEVO_ONLINE_METRICS": "false", "RELEVO_RATE_LIMITS": "false"}
    metrics = {**off, "RELEVO_ONLINE_METRICS": "true"}
    on = {**metrics, "RELEVO_RATE_LIMITS": "true", "RELEVO_RATE_LIMIT_API": NEVER_REACHED}
    setups = {
        OFF: off,
        "metrics on": metrics,
        "metrics and limits on, memory": {**on, "RELEVO_RATE_LIMIT_STORAGE": "memory"},
        "metrics and limits on, Redis": {**on, "RELEVO_RATE_LIMIT_STORAGE": redis_url},
    }
    kinds = (
        f"the same {len(users):,} users again and again (answers kept: the cheapest requests)",
        "a new user each time (cold start: every answer computed)",
    )
    with contextlib.ExitStack() as servers:
        ports = {
            name: servers.enter_context(relevo_server(url, workers=2, extra_env=env)) for name, env in setups.items()
        }
        headers = {"Authorization": f"Bearer {key}"}

        def request(port: int, user: str) -> bytes:
            return build_request("GET", f"/api/v1/recommendations/{user}?count=10", f"127.0.0.1:{port}", headers)

        def newcomers(port: int) -> Iterator[bytes]:
            return (request(port, f"newcomer-{port}-{n}") for n in itertools.count())

        loads = {(kinds[0], name): ([request(port, user) for user in users], True) for name, port in ports.items()} | {
            (kinds[1], name): (newcomers(port), False) for name, port in ports.items()
        }
        for name, port in ports.items():  # loads the model, keeps answers
            run_load("127.0.0.1", port, loads[kinds[0], name][0], connections=connections, seconds=6)
        processes = {name: server_processes(port) for name, port in ports.items()}
        turns: list[dict[tuple[str, str], LoadResult]] = []
        cpu: list[dict[tuple[str, str], float]] = []  # the servers' CPU seconds per answer, per turn
        order = list(setups)
        for round_number in range(rounds):
            rotated = order[round_number % len(order) :] + order[: round_number % len(order)]
            played, spent = {}, {}
            for kind in kinds:
                for name in rotated:
                    chosen, cycle = loads[kind, name]
                    before = cpu_seconds(processes[name])
                    played[kind, name] = run_load(
                        "127.0.0.1", ports[name], chosen, connections=connections, seconds=turn_seconds, cycle=cycle
                    )
                    spent[kind, name] = (cpu_seconds(processes[name]) - before) / max(1, played[kind, name].requests)
            turns.append(played)
            cpu.append(spent)
    with redis.Redis.from_url(redis_url) as client:
        for counter in client.scan_iter(match=f"{prefix}:*"):
            client.delete(counter)

    print(
        f"GET /api/v1/recommendations/{{user}}?count=10 with a shop backend's API key (its own quota, "
        f"{NEVER_REACHED}), relevo serve --workers 2, {connections} connections, {rounds} rounds of "
        f"{turn_seconds:g} s per server and kind:"
    )
    for kind in kinds:
        print(f"  {kind}:")
        for name in setups:
            results = [turn[kind, name] for turn in turns]
            rate = statistics.median(answered(result) for result in results)
            latencies = sorted(latency for result in results for latency in result.latencies)
            p50, p99 = latencies[len(latencies) // 2] * 1000, latencies[int(0.99 * (len(latencies) - 1))] * 1000
            ratios = [answered(turn[kind, name]) / answered(turn[kind, OFF]) for turn in turns]
            low, ratio, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
            statuses = sum((result.statuses for result in results), start=Counter())
            extra = statistics.median(spent[kind, name] - spent[kind, OFF] for spent in cpu) * 1e6
            print(
                f"    {name:30} {rate:7,.0f} req/s, p50 {p50:5.1f} ms, p99 {p99:5.1f} ms, "
                f"ratio to off {ratio:.2f} (quartiles {low:.2f}, {high:.2f}); server CPU per answer "
                f"{statistics.median(spent[kind, name] for spent in cpu) * 1e6:,.0f} µs ({extra:+,.0f} µs); "
                f"statuses {dict(statuses)}"
            )


def server_processes(port: int) -> list[psutil.Process]:
    """The processes of the `relevo serve` listening on `port`: its supervisor and workers."""
    pids = {
        connection.pid
        for connection in psutil.net_connections(kind="tcp")
        if connection.laddr and connection.laddr.port == port and connection.status == psutil.CONN_LISTEN
    }
    return [psutil.Process(pid) for pid in pids if pid is not None]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    return sum(sum(process.cpu_times()[:2]) for process in processes)


def answered(result: LoadResult) -> float:
    """Answers with status 200 per second."""
    return result.statuses[200] / result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="a Redis database the run may write to")
    parser.add_argument("--checks", type=int, default=50_000, help="limit checks timed per kind (a fifth in Redis)")
    parser.add_argument("--callers", type=int, default=10_000, help="distinct clients of the many-client checks")
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_ADMIN_URL, help="administrative URL")
    parser.add_argument("--users", type=int, default=2_000, help="users asked for over HTTP")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--turn-seconds", type=float, default=2.0, help="seconds of each server's turn")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--skip-serving", action="store_true", help="only time the checks")
    args = parser.parse_args()

    print(describe_machine(args.postgres_url if args.backend == "postgresql" else None))
    print(f"Redis at {args.redis_url}\n")
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(check_costs(args.redis_url, args.checks, args.callers, Path(folder)))
    if args.skip_serving:
        return
    size = shop_size(args.products, args.events)
    with fresh_database(args.backend, args.postgres_url) as url, tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=url, data_dir=Path(folder), job_threads=0)
        database = Database(url)
        with database.transaction() as session:
            print(f"\ndemo shop: {load_demo(session=session, size=size)} ({size})", flush=True)
        deploy_hybrid(database, settings)
        with database.session(write=False) as session:
            known = load_training_data(session).data.users.ids.tolist()
        database.dispose()
        random.Random(3).shuffle(known)
        users = with_strangers(known[: args.users], args.users, "stranger")
        print(f"serving model {MODEL!r}\n", flush=True)
        serving_rates(
            url,
            settings.resolved_artifacts_dir,
            args.redis_url,
            users,
            connections=args.connections,
            turn_seconds=args.turn_seconds,
            rounds=args.rounds,
        )


if __name__ == "__main__":
    sys.exit(main())
