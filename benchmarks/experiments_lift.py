"""A known lift pushed through the HTTP API, against `relevo serve --workers 2` on a demo shop:
an A/B experiment of the serving model against a copy of itself runs, simulated shoppers ask
for their recommendations (each answer an exposure) and click the first item with a chance of
10% in the control and 10.5% in the treatment (a 5% relative lift), sending the answer's
recommendation id back with the click. Then the experiment's results: the detected lift, its
interval (which must cover the truth), the p-values and the verdict; the rate the API sustained
while logging exposures; and the serving rate with exposure logging on against off (the
experiment running, then paused), measured in alternating slices of the same run.
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.common import DEFAULT_POSTGRES_ADMIN_URL, create_api_key, fresh_database, relevo_server
from benchmarks.http_load import build_request, run_load
from benchmarks.shop import train
from relevo.accounts.models import Role
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.demo import ShopSize, load_demo

BASE_RATE = 0.10
LIFT = 0.05  # relative


async def shoppers(port: int, key: str, users: list[str], exposures: int, connections: int, seed: int) -> dict:
    """Each user asks `exposures` times; each answer's first item is clicked with the variant's
    chance, the clicks sent back in batches. Returns the counts and the seconds it took."""
    rng = random.Random(seed)
    chance = {"control": BASE_RATE, "treatment": BASE_RATE * (1 + LIFT)}
    clicks: list[dict] = []
    counts: Counter = Counter()
    queue: asyncio.Queue = asyncio.Queue()
    for _ in range(exposures):
        for user in users:
            queue.put_nowait(user)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while not queue.empty():
                user = queue.get_nowait()
                writer.write(build_request("GET", f"/api/v1/recommendations/{user}?count=5", f"127.0.0.1:{port}", {}))
                status, answer = await _read(reader)
                missed = _missed(status, answer)
                if missed:
                    counts[missed] += 1
                    continue
                counts["answers"] += 1
                if rng.random() < chance[answer["experiment"]["variant"]]:
                    item = answer["items"][0]["product_id"]
                    rid = answer["recommendation_id"]
                    clicks.append(
                        {"user_id": user, "product_id": item, "event_type": "click", "recommendation_id": rid}
                    )
                if len(clicks) >= 500:
                    batch = clicks[:]
                    clicks.clear()
                    await _post_events(reader, writer, port, key, batch, counts)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if clicks:
        await _post_events(reader, writer, port, key, clicks, counts)
    writer.close()
    counts["seconds"] = time.perf_counter() - started
    return counts


def _missed(status: int, answer: dict) -> str | None:
    """Why an answer cannot count, if it cannot: it failed, came from outside the experiment or
    holds no item."""
    if status != 200:
        return f"failed with {status}"
    if "experiment" not in answer:
        return "outside the experiment"
    return None if answer["items"] else "empty"


async def _read(reader: asyncio.StreamReader) -> tuple[int, dict]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line[15:]) for line in head.split(b"\r\n") if line[:15].lower() == b"content-length:")
    body = await reader.readexactly(length)
    return int(head[9:12]), json.loads(body)


async def _post_events(reader, writer, port: int, key: str, events: list[dict], counts: dict) -> None:
    body = json.dumps(events).encode()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    writer.write(build_request("POST", "/api/v1/events", f"127.0.0.1:{port}", headers, body))
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line[15:]) for line in head.split(b"\r\n") if line[:15].lower() == b"content-length:")
    await reader.readexactly(length)
    counts["clicks"] += len(events)


def call(port: int, method: str, path: str, key: str, body: object | None = None) -> dict:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
    response = connection.getresponse()
    found = json.loads(response.read() or b"null")
    connection.close()
    assert response.status < 300, found
    return found


def logging_ratio(port: int, key: str, users: list[str], connections: int, rounds: int, seconds: float) -> list[float]:
    """Serving rates with the experiment running (every answer logged) and paused, in turns
    whose order alternates (on-off, off-on, ...) so neither side always runs first; the
    experiment runs when this starts and when it returns."""
    host = f"127.0.0.1:{port}"
    requests = [build_request("GET", f"/api/v1/recommendations/{user}?count=5", host, {}) for user in users]

    def rate() -> float:
        load = run_load("127.0.0.1", port, requests, connections=connections, seconds=seconds)
        return load.statuses[200] / load.seconds

    def switch(action: str) -> None:
        call(port, "POST", f"/api/v1/experiments/lift/{action}", key)
        time.sleep(1.5)  # every worker process sees it

    ratios = []
    for number in range(rounds):
        if number % 2 == 0:
            on = rate()
            switch("pause")
            off = rate()
        else:
            off = rate()
            switch("start")
            on = rate()
        ratios.append(on / off)
    if rounds % 2:
        switch("start")
    return ratios


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--exposures", type=int, default=4, help="answers each user asks for")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=8, help="logging on/off slices")
    parser.add_argument("--turn-seconds", type=float, default=4.0)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_ADMIN_URL)
    parser.add_argument("--seed", type=int, default=24)
    args = parser.parse_args(arguments)

    size = ShopSize(stores=4, products=2_000, users=2_000, sessions=6_000, days=30, seed=5)
    with fresh_database(args.backend, args.postgres_url) as url, tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=url, data_dir=Path(folder), job_threads=0)
        database = Database(url)
        with database.transaction() as session:
            load_demo(session=session, size=size)
        train(database, settings, "default", "hybrid")
        train(database, settings, "copy", "hybrid")  # the same model: any lift is the simulated one
        database.dispose()
        key = create_api_key(url, Role.admin)
        now = datetime.now(UTC)
        experiment = {
            "experiment_id": "lift",
            "name": "A known lift",
            "variants": [
                {"name": "control", "config": {"model": "default"}},
                {"name": "treatment", "config": {"model": "copy"}},
            ],
            "traffic_allocation": {"control": 0.5, "treatment": 0.5},
            "success_metrics": ["click_through_rate"],
            "start_date": (now - timedelta(minutes=1)).isoformat(),
            "end_date": (now + timedelta(days=1)).isoformat(),
            "minimum_sample_size": 1_000,
        }
        env = {"RELEVO_ARTIFACTS_DIR": str(settings.resolved_artifacts_dir)}
        with relevo_server(url, workers=2, extra_env=env) as port:
            call(port, "POST", "/api/v1/experiments?start=true", key, experiment)
            time.sleep(1.5)
            users = [f"shopper-{number}" for number in range(args.users)]
            counts = asyncio.run(shoppers(port, key, users, args.exposures, args.connections, args.seed))
            time.sleep(2)  # the last exposures written
            results = call(port, "GET", "/api/v1/experiments/lift/results", key)
            ratios = logging_ratio(port, key, users[:2_000], args.connections, args.rounds, args.turn_seconds)
    report(args, counts, results, ratios)


def report(args: argparse.Namespace, counts: dict, results: dict, ratios: list[float]) -> None:
    [comparison] = [c for c in results["comparisons"] if c["metric"] == "click_through_rate"]
    truth = BASE_RATE * LIFT
    lift, relative, sequence = (
        comparison["absolute_lift"],
        comparison["relative_lift"],
        comparison["confidence_sequence"],
    )
    covered = lift["low"] <= truth <= lift["high"]
    missed = {reason: number for reason, number in counts.items() if reason not in ("answers", "clicks", "seconds")}
    requests = counts["answers"] + sum(missed.values()) + counts["clicks"] / 500
    print(
        f"a known lift through the HTTP API: {args.users:,} users x {args.exposures} answers, relevo serve --workers 2"
    )
    print(
        f"  exposures {sum(v['exposures'] for v in results['variants']):,}, clicks {counts['clicks']:,}, "
        f"answers that cannot count: {', '.join(f'{number} {reason}' for reason, number in missed.items()) or 'none'}"
    )
    for variant in results["variants"]:
        ctr = variant["metrics"]["click_through_rate"]
        print(
            f"  {variant['name']:10} users {variant['users']:,}, exposures {variant['exposures']:,}, "
            f"CTR {ctr['value']:.4f} [{ctr['low']:.4f}, {ctr['high']:.4f}]"
        )
    print(
        f"  true lift {truth:+.4f} ({LIFT:.0%} relative); detected {lift['value']:+.4f} "
        f"[{lift['low']:+.4f}, {lift['high']:+.4f}] (covers the truth: {'yes' if covered else 'NO'}); "
        f"relative {relative['value']:+.1%} [{relative['low']:+.1%}, {relative['high']:+.1%}]"
    )
    print(
        f"  p-value {comparison['p_value']:.2e}, always-valid p-value {comparison['always_valid_p_value']:.2e}, "
        f"confidence sequence [{sequence['low']:+.4f}, {sequence['high']:+.4f}]; "
        f"sample ratio p {results['sample_ratio']['p_value']:.3f}; verdict: {results['verdict']['words']}"
    )
    print(
        f"  sustained {requests / counts['seconds']:,.0f} requests/s over {counts['seconds']:.0f} s "
        f"({args.connections} connections)"
    )
    print(
        f"  serving rate with exposure logging on against off: median {statistics.median(ratios):.2f} "
        f"over {len(ratios)} rounds ({', '.join(f'{ratio:.2f}' for ratio in ratios)}); aim >= 0.85"
    )


if __name__ == "__main__":
    sys.exit(main())
