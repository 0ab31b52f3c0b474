"""The celery executor with real `relevo worker` processes and a real Redis: a batch job split
over two workers, a worker killed with SIGKILL mid-job while the job still completes with
each user's result written exactly once, a job whose chunk tasks were lost handed out again,
and jobs nobody runs (a dead worker's training, a job never sent) sent again. The database is
a real one the workers reach too (a SQLite file, or a PostgreSQL database of the test's own)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from relevo.batch import service as batch_service
from relevo.batch.models import JobResult, ranked
from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.job_kinds import HANDLERS
from relevo.jobs import service as jobs_service
from relevo.jobs.celery_executor import CeleryExecutor
from relevo.jobs.models import JobStatus
from relevo.registry import service as registry_service
from tests.jobs.committed_shop import load_trained_shop

USERS = 60


@pytest.fixture
def shop_settings(empty_database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Settings]:
    """A committed demo shop with a deployed popularity model, and settings for the workers."""
    settings = Settings(
        database_url=empty_database_url,
        data_dir=tmp_path,
        redis_url=redis_url,
        executor="celery",
        celery_queue=f"relevo-test-{uuid.uuid4().hex[:8]}",  # this test's tasks only
        celery_visibility_seconds=3,
        batch_chunk_users=2,
        job_threads=0,
        job_stale_seconds=4,  # a batch job writing nothing for this long has its chunks sent again
    )
    load_trained_shop(settings)
    yield settings


def start_worker(settings: Settings, log: Path) -> subprocess.Popen:
    names = ("database_url", "data_dir", "redis_url", "executor", "celery_queue", "celery_visibility_seconds")
    env = {
        **os.environ,
        **settings.environment(*names, "batch_chunk_users", "job_stale_seconds"),
        "RELEVO_LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "-m", "relevo", "worker", "--concurrency", "1"]
    with log.open("wb") as output:
        return subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)


def submit_batch(settings: Settings, users: list[str]) -> str:
    database = Database(settings.database_url)
    with database.transaction() as session:
        job = batch_service.start_generation(
            session=session, user_ids=users, top_k=5, created_by=None, max_users=1000, max_pending=None
        )
        job_id = job.id
    database.dispose()
    CeleryExecutor(settings, HANDLERS).submit(job_id)
    return job_id


def wait_for(settings: Settings, job_id: str, condition, seconds: float = 90.0) -> dict:
    database = Database(settings.database_url)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with database.session(write=False) as session:
                job = jobs_service.get_or_raise(session=session, job_id=job_id)
                state = {"status": job.status, "processed": job.processed, "total": job.total, "error": job.error}
                rows = session.scalar(select(func.count()).where(JobResult.job_id == job_id))
                distinct = session.scalar(
                    select(func.count(func.distinct(JobResult.user_id))).where(JobResult.job_id == job_id)
                )
            if condition(state):
                return {**state, "rows": rows, "distinct": distinct}
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not get there in {seconds} s: {state}")
    finally:
        database.dispose()


def stop(*workers: subprocess.Popen) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def test_a_batch_job_is_shared_by_two_workers(shop_settings: Settings, tmp_path: Path) -> None:
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers = [start_worker(shop_settings, log) for log in logs]
    try:
        users = [f"U{n:06d}" for n in range(USERS)]
        job_id = submit_batch(shop_settings, users)
        done = wait_for(shop_settings, job_id, lambda state: state["status"] in ("completed", "failed"))
    finally:
        stop(*workers)
    assert done["status"] == "completed", done
    assert done["rows"] == done["distinct"] == USERS == done["processed"]
    ran = [log.read_text().count("relevo.run_chunk") for log in logs]
    assert all(count > 0 for count in ran), ran  # both workers took chunks


def test_a_worker_killed_mid_job_loses_nothing(shop_settings: Settings, tmp_path: Path) -> None:
    first = start_worker(shop_settings, tmp_path / "worker-1.log")
    second = None
    try:
        users = [f"U{n:06d}" for n in range(USERS)]
        job_id = submit_batch(shop_settings, users)
        wait_for(shop_settings, job_id, lambda state: state["processed"] >= 4)
        first.send_signal(signal.SIGKILL)  # mid-job: its chunk in hand is never acknowledged
        first.wait(timeout=10)
        second = start_worker(shop_settings, tmp_path / "worker-2.log")
        done = wait_for(shop_settings, job_id, lambda state: state["status"] in ("completed", "failed"))
    finally:
        stop(first, *([second] if second else []))
    assert done["status"] == "completed", done
    assert done["rows"] == done["distinct"] == USERS  # nobody missing, nobody twice


def test_jobs_nobody_runs_are_handed_out_again_by_a_worker(shop_settings: Settings, tmp_path: Path) -> None:
    users = [f"U{n:06d}" for n in range(USERS)]
    database = Database(shop_settings.database_url)
    long_ago = utcnow() - timedelta(minutes=5)
    with database.transaction() as session:
        # Running, its users fixed, one chunk written, then nothing for minutes: as when Redis
        # lost the other chunk tasks with the worker that had just taken them.
        lost = batch_service.start_generation(
            session=session, user_ids=users, top_k=5, created_by=None, max_users=1000, max_pending=None
        )
        lost.status, lost.total = JobStatus.running, USERS
        session.flush()
        batch_service.store(session=session, job_id=lost.id, rows=[(users[0], ranked(["P"], [1.0]), None)])
        jobs_service.advance(session=session, job_id=lost.id, processed=1, failed=0)
        lost.heartbeat_at = long_ago
        # A training whose worker died mid-fit: its task, given back by Redis, finds it running
        # and does nothing.
        _, training = registry_service.start_training(
            session=session,
            settings=shop_settings,
            name="default",
            algorithm="popular",
            config={},
            params={"deploy": "always"},
            created_by=None,
        )
        training.status, training.started_at, training.heartbeat_at = JobStatus.running, long_ago, long_ago
        # A job whose API process died before sending it.
        forgotten = batch_service.start_generation(
            session=session, user_ids=users[:3], top_k=5, created_by=None, max_users=10, max_pending=None
        )
        forgotten.created_at = long_ago
        job_ids = [lost.id, training.id, forgotten.id]
    database.dispose()

    worker = start_worker(shop_settings, tmp_path / "worker.log")
    try:
        ended = lambda state: state["status"] not in ("pending", "running")  # noqa: E731
        done = [wait_for(shop_settings, job_id, ended, seconds=60) for job_id in job_ids]
    finally:
        stop(worker)
    assert [state["status"] for state in done] == ["completed"] * 3, done
    assert done[0]["rows"] == done[0]["distinct"] == done[0]["processed"] == USERS  # the written chunk kept
    log = (tmp_path / "worker.log").read_text()
    assert "its chunks sent again" in log and log.count("nobody was running it; sent again") == 2
