"""Ingestion throughput on PostgreSQL and SQLite.

1. CSV import (`relevo import` / POST /api/upload-dataset/) of generated interactions, each run
   into a fresh database, against a baseline measured in the same run: the backend's own raw
   load of the same file into a bare table (PostgreSQL COPY; SQLite csv + executemany), i.e.
   what the storage alone costs with no validation, no id resolution and no indexes.
2. Batch event POSTs (10,000 events per request) over HTTP to `relevo serve`.
3. Single-event POSTs over HTTP from a concurrent client, against GET /health in the same run.

Usage: python benchmarks/ingest.py [--rows 1000000] [--backends postgresql,sqlite] [--repeats 3]
"""

import argparse
import csv
import itertools
import json
import random
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.common import (
    CACHE,
    DEFAULT_POSTGRES_ADMIN_URL,
    create_api_key,
    describe_machine,
    fresh_database,
    relevo_server,
)
from benchmarks.http_load import build_request, median, run_load
from relevo.core.db import Database
from relevo.datasets import service as datasets_service
from relevo.datasets.models import DatasetType
from relevo.demo import ShopSize, interactions_csv_lines


def interactions_csv(rows: int) -> Path:
    """A cached CSV of `rows` interactions from the synthetic shop (header included)."""
    path = CACHE / f"interactions-{rows}.csv"
    if path.exists():
        return path
    CACHE.mkdir(exist_ok=True)
    size = ShopSize(stores=8, products=max(2_000, rows // 50), users=max(1_000, rows // 20), sessions=rows // 3)
    with path.open("w") as out:
        for line in itertools.islice(interactions_csv_lines(size), rows + 1):
            out.write(line)
    return path


def import_csv(database_url: str, path: Path) -> float:
    database = Database(database_url)
    started = time.perf_counter()
    with database.transaction() as session, path.open("rb") as stream:
        dataset = datasets_service.import_csv(
            session=session, dataset_type=DatasetType.interactions, stream=stream, filename=path.name, uploaded_by=None
        )
    seconds = time.perf_counter() - started
    assert dataset.rows_rejected == 0, dataset.rejected_lines[:3]
    database.dispose()
    return seconds


def raw_load(database_url: str, path: Path) -> float:
    """The storage floor: the backend's fastest load of the same file into a bare table."""
    columns = "user_id text, product_id text, event_type text, ts text, value text, session_id text"
    engine = create_engine(database_url)
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE TABLE raw_events ({columns})")
        driver = connection.connection.driver_connection
        if engine.dialect.name == "postgresql":
            statement = "COPY raw_events FROM STDIN WITH (FORMAT csv, HEADER true)"
            with driver.cursor() as cursor, cursor.copy(statement) as copy, path.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    copy.write(chunk)
        else:
            with path.open(newline="") as stream:
                reader = csv.reader(stream)
                next(reader)
                driver.cursor().executemany("INSERT INTO raw_events VALUES (?, ?, ?, ?, ?, ?)", reader)
    seconds = time.perf_counter() - started
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE raw_events"))
    engine.dispose()
    return seconds


def settle(backend: str, admin_url: str) -> None:
    """Lets the previous run's writes reach the disk, so they do not slow the next run."""
    if backend == "postgresql":
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql("CHECKPOINT")
        engine.dispose()
    time.sleep(1)


def event_json(row: list[str]) -> dict:
    user_id, product_id, event_type, stamp, value, session_id = row
    event = {"user_id": user_id, "product_id": product_id, "event_type": event_type, "timestamp": stamp}
    if value:
        event["value"] = float(value)
    event["session_id"] = session_id
    return event


def sample_events(path: Path, count: int) -> list[dict]:
    with path.open(newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        return [event_json(row) for row in itertools.islice(reader, count)]


def bench_backend(backend: str, admin_url: str, path: Path, rows: int, repeats: int) -> dict[str, str]:
    results: dict[str, str] = {}
    imports, floors = [], []
    for _ in range(repeats):
        for runs, load in ((floors, raw_load), (imports, import_csv)):
            with fresh_database(backend, admin_url) as url:
                settle(backend, admin_url)
                runs.append(load(url, path))
    import_rate, floor_rate = rows / median(imports), rows / median(floors)
    seconds = ", ".join(f"{run:.1f}" for run in imports)
    results["CSV import"] = (
        f"{import_rate:,.0f} rows/s (median of {seconds} s); raw load floor "
        f"{floor_rate:,.0f} rows/s; ratio {import_rate / floor_rate:.2f}"
    )
    print(f"  {backend} CSV import: {results['CSV import']}", flush=True)

    with fresh_database(backend, admin_url) as url:
        import_csv(url, path)  # behaviour arrives into a shop that already knows its users and products
        key = create_api_key(url)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        events = sample_events(path, 200_000)
        random.Random(7).shuffle(events)
        with relevo_server(url, workers=2) as port:
            host = f"127.0.0.1:{port}"
            batches = [
                build_request("POST", "/api/v1/events", host, headers, json.dumps(events[i : i + 10_000]).encode())
                for i in range(0, len(events), 10_000)
            ]
            batch_runs = [run_load("127.0.0.1", port, batches, connections=2, seconds=10) for _ in range(repeats)]
            batch_rate = median([run.statuses[201] * 10_000 / run.seconds for run in batch_runs])
            results["batch POST"] = (
                f"{batch_rate:,.0f} events/s (10,000 per request, 2 connections, median of {repeats})"
            )
            print(f"  {backend} batch POST: {results['batch POST']} {batch_runs[-1].statuses}", flush=True)

            singles = [build_request("POST", "/api/v1/events", host, headers, json.dumps(e).encode()) for e in events]
            health = [build_request("GET", "/health", host, {})]
            single_runs, health_runs = [], []
            for _ in range(repeats):
                health_runs.append(run_load("127.0.0.1", port, health, connections=32, seconds=8))
                single_runs.append(run_load("127.0.0.1", port, singles, connections=32, seconds=8))
            single_rate = median([run.statuses[201] / run.seconds for run in single_runs])
            health_rate = median([run.rate for run in health_runs])
            results["single POST"] = (
                f"{single_rate:,.0f} req/s; GET /health {health_rate:,.0f} req/s; "
                f"ratio {single_rate / health_rate:.2f} "
                f"(32 connections, median of {repeats}; last run: {single_runs[-1].summary()})"
            )
            print(f"  {backend} single POST: {results['single POST']}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_ADMIN_URL, help="administrative URL")
    args = parser.parse_args()

    print(describe_machine(args.postgres_url))
    path = interactions_csv(args.rows)
    print(f"data: {args.rows:,} interactions, {path.stat().st_size / 2**20:.0f} MiB ({path})\n", flush=True)
    table = {
        backend: bench_backend(backend, args.postgres_url, path, args.rows, args.repeats)
        for backend in args.backends.split(",")
    }
    print("\nresults")
    for backend, results in table.items():
        for name, figure in results.items():
            print(f"  {backend:10} {name:12} {figure}")


if __name__ == "__main__":
    sys.exit(main())
