"""Batch generation speed: the top 20 for every user of a generated shop (100,000 users,
50,000 products) with a 64-factor ALS model deployed, in users per second, for

  naive        one engine `recommend` call per user, on a sample;
  pipeline     one call of the request pipeline per user (`recommend_for_user`: the user's
               recent events, catalog filters, the answer a GET returns, minus HTTP), as the
               background-jobs and purchases APIs' own jobs call their recommend function for
               each user, on a sample;
  implicit     implicit's own batched exact top k (`implicit.cpu.topk`), the same factors and
               exclusions (what each user bought, products not for sale), nothing written;
  relevo       Relevo's batch scoring alone (`recommend_indices` on all cores), nothing written;
               exact, skipping the products that cannot enter a user's top k (`engine/pruned.py`),
               and again with every product scored;
  approximate  the same through the item graph (`approximate_indices`), with its recall@20
               against exact scoring;
  local        a Relevo batch job on the `local` executor, end to end: users read, scored, every
               result written to the database, the job completed; exact and approximate;
  celery       the exact job on 1 and on 2 `relevo worker` processes (Redis as the broker).

Each rate is the median of --repeats runs; the ratios compare rates measured in this run.

    python -m benchmarks.batch [--users 100000 --products 50000 --backend sqlite]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from implicit.cpu.topk import topk
from sqlalchemy import delete, func, select

from benchmarks.common import CACHE, DEFAULT_POSTGRES_ADMIN_URL, describe_machine, fresh_database
from benchmarks.shop import train
from relevo.batch import generation
from relevo.batch import service as batch_service
from relevo.batch.models import JobResult
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.demo import ShopSize, load_demo
from relevo.engine import pruned
from relevo.engine.base import gather_rows
from relevo.job_kinds import HANDLERS
from relevo.jobs import runner
from relevo.jobs import service as jobs_service
from relevo.jobs.celery_executor import CeleryExecutor
from relevo.jobs.models import JobStatus
from relevo.recommend import service as recommend_service
from relevo.recommend.answer import UserRequest
from relevo.recommend.catalog_view import CatalogView, Filters
from relevo.recommend.deployed import DeployedVersion

MODEL = "default"
TOP_K = 20


def shop_size(users: int, products: int) -> ShopSize:
    # Five sessions per user on average: all but about 0.7% of the users shop at least once.
    return ShopSize(stores=8, products=products, users=users, sessions=users * 5, days=90, seed=9)


@contextmanager
def shop_database(backend: str, postgres_url: str, size: ShopSize) -> Iterator[str]:
    """A database holding the generated shop. On SQLite the loaded file is kept under the
    git-ignored cache, so a second run skips the loading."""
    with fresh_database(backend, postgres_url) as url:
        cached = CACHE / f"batch-shop-{size.users}-{size.products}-{size.sessions}-{size.seed}.db"
        if backend == "sqlite" and cached.exists():
            shutil.copyfile(cached, url.removeprefix("sqlite:///"))
            print(f"shop: copied from {cached}", flush=True)
            yield url
            return
        database = Database(url)
        started = time.perf_counter()
        with database.transaction() as session:
            loaded = load_demo(session=session, size=size)
        database.dispose()
        print(f"shop: {loaded} loaded in {time.perf_counter() - started:.0f} s ({size})", flush=True)
        if backend == "sqlite":
            CACHE.mkdir(exist_ok=True)
            shutil.copyfile(url.removeprefix("sqlite:///"), cached)
        yield url


def deploy_als(database: Database, settings: Settings) -> DeployedVersion:
    seconds = train(database, settings, MODEL, "als", {"embedding_dim": 64})
    served = generation.inputs_for(database, settings).version
    assert served is not None and served.algorithm == "als", "the ALS model did not deploy"
    model = served.recommender
    print(
        f"ALS ({model.item_factors.shape[1]} factors) trained and deployed in {seconds:.0f} s: "
        f"{len(model.users):,} users x {len(model.items):,} products",
        flush=True,
    )
    return served


def median_rate(users: int, run: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        rates.append(users / (time.perf_counter() - started))
    return statistics.median(rates), rates


def in_memory_rates(
    database: Database, settings: Settings, served: DeployedVersion, sample: int, repeats: int
) -> dict[str, float]:
    """naive, pipeline, implicit and Relevo's batch scoring (exact and approximate), all on the
    same factors and exclusions."""
    model = served.recommender
    allowed = CatalogView(database, 3600).model_mask(CatalogView(database, 3600).snapshot(), model.items.ids, Filters())
    users = np.arange(len(model.users), dtype=np.int32)
    bought = gather_rows(served.left_out, users)
    print(f"left out: what each user bought or rated, and {int((~allowed).sum()):,} products filtered out", flush=True)
    rates = {}

    ids = model.users.ids[:sample].tolist()
    bought_ids = [model.items.lookup(bought[row].indices).tolist() for row in range(sample)]

    def naive() -> None:
        for user, excluded in zip(ids, bought_ids, strict=True):
            model.recommend(user, TOP_K, exclude_history=False, exclude=[excluded], allowed=allowed)

    rates["naive"], runs = median_rate(sample, naive, repeats)
    report("naive per-user loop", rates["naive"], runs, f"{sample:,} users")

    inputs = generation.inputs_for(database, settings)

    def pipeline() -> None:
        for user in ids:
            events = inputs.state.events.of(user, inputs.version.watermark)
            recommend_service.recommend_for_user(inputs, events, UserRequest(user, TOP_K))

    rates["pipeline"], runs = median_rate(sample, pipeline, repeats)
    report("request pipeline per user", rates["pipeline"], runs, f"{sample:,} users")

    not_for_sale = np.flatnonzero(~allowed).astype(np.int32)
    user_factors = model.user_factors

    def implicit_topk() -> None:
        topk(model.item_factors, user_factors, TOP_K, filter_query_items=bought, filter_items=not_for_sale)

    rates["implicit"], runs = median_rate(len(users), implicit_topk, repeats)
    report("implicit.cpu.topk", rates["implicit"], runs, f"{len(users):,} users")

    threads = os.cpu_count() or 1
    histories = model.histories(users)

    def relevo_scoring() -> None:
        model.recommend_indices(
            users, TOP_K, histories=histories, exclude_history=False, excluded=bought, allowed=allowed, threads=threads
        )

    rates["relevo"], runs = median_rate(len(users), relevo_scoring, repeats)
    report("Relevo batch scoring", rates["relevo"], runs, f"{len(users):,} users, {threads} threads")
    with every_product_scored():
        rates["whole"], runs = median_rate(len(users), relevo_scoring, repeats)
    report("  the same, every product scored", rates["whole"], runs, "without skipping (engine/pruned.py)")

    relevo, _ = model.recommend_indices(
        users, TOP_K, histories=histories, exclude_history=False, excluded=bought, allowed=allowed, threads=threads
    )
    exact, _ = topk(
        model.item_factors, user_factors[:5000], TOP_K, filter_query_items=bought[:5000], filter_items=not_for_sale
    )
    print(f"  (Relevo's top 20 and implicit's agree on {overlap(relevo[:5000], exact):.2%} of the items, 5,000 users)")

    started = time.perf_counter()
    model.item_index(threads)
    print(f"  item graph built in {time.perf_counter() - started:.1f} s", flush=True)
    depth = settings.ann_search_depth

    def relevo_approximate() -> np.ndarray:
        found, _ = model.approximate_indices(
            users, TOP_K, histories=histories, depth=depth, excluded=bought, allowed=allowed, threads=threads
        )
        return found

    rates["approximate"], runs = median_rate(len(users), relevo_approximate, repeats)
    report("Relevo approximate scoring", rates["approximate"], runs, f"search depth {depth}")
    rates["recall"] = overlap(relevo_approximate(), relevo)
    print(f"  (approximate recall@20 against exact: {rates['recall']:.4f}, all {len(users):,} users)", flush=True)
    return rates


@contextmanager
def every_product_scored() -> Iterator[None]:
    """Exact scoring as it is without the skipping of `engine/pruned.py`, for comparison."""
    smallest = pruned.MIN_ITEMS
    pruned.MIN_ITEMS = sys.maxsize
    try:
        yield
    finally:
        pruned.MIN_ITEMS = smallest


def overlap(found: np.ndarray, exact: np.ndarray) -> float:
    """The share of the exact top k found, averaged over users."""
    return float(np.mean([len(set(a) & set(b)) / TOP_K for a, b in zip(found, exact, strict=True)]))


def report(name: str, rate: float, runs: list[float], note: str) -> None:
    each = ", ".join(f"{run:,.0f}" for run in runs)
    print(f"  {name:34} {rate:9,.0f} users/s   (runs: {each}; {note})", flush=True)


def run_job(database: Database, submit: Callable[[str], None], expected: int, scoring: str = "exact") -> float:
    """Seconds from creating a job for every user to its completion (results all written)."""
    with database.transaction() as session:
        job = batch_service.start_generation(
            session=session,
            user_ids=None,
            top_k=TOP_K,
            scoring=scoring,
            created_by=None,
            max_users=10**9,
            max_pending=None,
        )
        job_id = job.id
    started = time.perf_counter()
    submit(job_id)
    while True:
        with database.session(write=False) as session:
            job = jobs_service.get_or_raise(session=session, job_id=job_id)
            status = job.status
        if status in (JobStatus.completed, JobStatus.failed, JobStatus.cancelled):
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    with database.transaction() as session:
        rows = session.scalar(select(func.count()).where(JobResult.job_id == job_id))
        failed = job.failed
        session.execute(delete(JobResult).where(JobResult.job_id == job_id))  # the next run starts as empty
    assert status == JobStatus.completed and rows == expected and not failed, (status, rows, expected, failed)
    return seconds


def local_rate(
    database: Database, settings: Settings, users: int, repeats: int, scoring: str
) -> tuple[float, list[float]]:
    def submit(job_id: str) -> None:
        runner.run(database, settings, job_id, handlers=HANDLERS)

    rates = [users / run_job(database, submit, users, scoring) for _ in range(repeats)]
    return statistics.median(rates), rates


@contextmanager
def celery_workers(settings: Settings, count: int, folder: Path) -> Iterator[CeleryExecutor]:
    env = {
        **os.environ,
        **settings.environment("database_url", "data_dir", "redis_url", "celery_queue"),
        "RELEVO_EXECUTOR": "celery",
        "RELEVO_LOG_LEVEL": "WARNING",
        # As docs/operations.md advises: the machine's cores shared among its worker processes.
        "RELEVO_BATCH_THREADS": str(max(1, (os.cpu_count() or 1) // count)),
    }
    logs = [folder / f"worker-{n}.log" for n in range(count)]
    command = [sys.executable, "-m", "relevo", "worker", "--concurrency", "1"]
    workers = [subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT) for log in logs]
    executor = CeleryExecutor(settings, HANDLERS)
    try:
        deadline = time.monotonic() + 60
        while len(executor.app.control.ping(timeout=1.0) or []) < count:
            if time.monotonic() > deadline or any(worker.poll() is not None for worker in workers):
                raise RuntimeError(f"workers did not start: {logs[0].read_text()[-2000:]}")
        yield executor
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=30)
        executor.shutdown()


def celery_rate(
    database: Database, settings: Settings, users: int, workers: int, repeats: int
) -> tuple[float, list[float]]:
    with tempfile.TemporaryDirectory() as folder, celery_workers(settings, workers, Path(folder)) as executor:
        run_job(database, executor.submit, users)  # warm-up: every worker loads the model and the catalog
        rates = [users / run_job(database, executor.submit, users) for _ in range(repeats)]
    return statistics.median(rates), rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--backend", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_ADMIN_URL, help="administrative URL")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14", help="the Celery runs' broker")
    parser.add_argument("--naive-users", type=int, default=3_000, help="users the naive loop is timed on")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    print(describe_machine(args.postgres_url if args.backend == "postgresql" else None))
    size = shop_size(args.users, args.products)
    with shop_database(args.backend, args.postgres_url, size) as url, tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=url,
            data_dir=Path(folder),
            job_threads=0,
            precompute_count=0,  # batch jobs score anew; lists ranked ahead serve requests only
            redis_url=args.redis_url,
            celery_queue=f"relevo-bench-{uuid.uuid4().hex[:8]}",
        )
        database = Database(url)
        served = deploy_als(database, settings)
        with database.session(write=False) as session:
            users = len(batch_service.segment(session=session, active_since=None))
        print(f"\ntop {TOP_K} for each of {users:,} users (medians of {args.repeats} runs):", flush=True)
        rates = in_memory_rates(database, settings, served, args.naive_users, args.repeats)
        for scoring, name in (("exact", "local"), ("approximate", "local_approximate")):
            rates[name], runs = local_rate(database, settings, users, args.repeats, scoring)
            chunk = f"{settings.batch_chunk_users:,} per chunk"
            report(f"Relevo local executor, {scoring}", rates[name], runs, f"end to end, {chunk}")
        for workers in (1, 2):
            rates[f"celery{workers}"], runs = celery_rate(database, settings, users, workers, args.repeats)
            report(f"Relevo on Celery, {workers} worker(s)", rates[f"celery{workers}"], runs, "end to end")
        database.dispose()

    print("\nratios (same run):")
    print(f"  Relevo local / implicit top k      {rates['local'] / rates['implicit']:.2f}   (target >= 0.80)")
    for name, label in (("local", "exact"), ("local_approximate", "approximate")):
        print(f"  Relevo local, {label:11} / naive loop          {rates[name] / rates['naive']:5.1f}x  (target >= 20x)")
        print(f"  Relevo local, {label:11} / request pipeline    {rates[name] / rates['pipeline']:5.1f}x")
    print(f"  Relevo batch scoring / implicit    {rates['relevo'] / rates['implicit']:.2f}")
    print(f"  Relevo batch scoring / every product scored  {rates['relevo'] / rates['whole']:.2f}")
    print(f"  approximate recall@20 {rates['recall']:.3f} (target >= 0.95); approximate scoring (target >= 3x exact):")
    print(f"    / implicit's exact top k          {rates['approximate'] / rates['implicit']:5.2f}x")
    print(f"    / Relevo exact, every product     {rates['approximate'] / rates['whole']:5.2f}x")
    print(f"    / Relevo exact, skipping          {rates['approximate'] / rates['relevo']:5.2f}x")
    print(f"  approximate / exact, end to end    {rates['local_approximate'] / rates['local']:.1f}x")
    print(f"  Celery 2 workers / 1 worker        {rates['celery2'] / rates['celery1']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
