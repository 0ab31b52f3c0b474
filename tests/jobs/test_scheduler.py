"""The retraining scheduler: however many look at once (threads of API replicas, or
`relevo scheduler` processes), one training starts, and it runs on the executor."""

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.events import service as events_service
from relevo.events.service import EventRow
from relevo.jobs.models import Job, JobKind, JobStatus
from relevo.registry.retraining import retrain_if_due
from tests.jobs.committed_shop import load_trained_shop


class Submitted:
    """An executor that only records what it is given: the jobs are looked at, not run."""

    def __init__(self) -> None:
        self.job_ids: list[str] = []

    def submit(self, job_id: str) -> None:
        self.job_ids.append(job_id)

    def start(self) -> int:
        return 0

    def shutdown(self) -> None:
        pass


@pytest.fixture
def shop_url(empty_database_url: str, tmp_path: Path) -> Iterator[str]:
    """A committed demo shop with a deployed model, and one event after its training."""
    load_trained_shop(Settings(database_url=empty_database_url, data_dir=tmp_path, job_threads=0))
    database = Database(empty_database_url)
    with database.transaction() as session:
        row = EventRow(None, "U000001", "P000002", "view", None, None, None, None, None, utcnow())
        events_service.store_rows(session=session, rows=[row])
    database.dispose()
    yield empty_database_url


def training_jobs(url: str) -> list[Job]:
    database = Database(url)
    with database.session(write=False) as session:
        jobs = list(session.scalars(select(Job).where(Job.kind == JobKind.train).order_by(Job.created_at)))
    database.dispose()
    return jobs


def test_schedulers_looking_at_once_start_one_training(shop_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=shop_url, data_dir=tmp_path, retrain_min_new_events=1)
    executor = Submitted()
    replicas = 6
    ready = threading.Barrier(replicas)

    def look() -> None:
        database = Database(shop_url)  # each replica its own connections
        ready.wait()
        retrain_if_due(database, settings, executor)
        database.dispose()

    threads = [threading.Thread(target=look) for _ in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(executor.job_ids) == 1
    assert len(training_jobs(shop_url)) == 2  # the first training, and this one


def start_scheduler(url: str, data_dir: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "RELEVO_DATABASE_URL": url,
        "RELEVO_DATA_DIR": str(data_dir),
        "RELEVO_SCHEDULER": "process",
        "RELEVO_RETRAIN_MIN_NEW_EVENTS": "1",
        "RELEVO_RETRAIN_CHECK_SECONDS": "0.2",
        "RELEVO_LOG_LEVEL": "INFO",
    }
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "relevo", "scheduler"], env=env, stdout=output, stderr=subprocess.STDOUT
        )


def test_two_scheduler_processes_retrain_once(shop_url: str, tmp_path: Path) -> None:
    logs = [tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log"]
    schedulers = [start_scheduler(shop_url, tmp_path, log) for log in logs]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            jobs = training_jobs(shop_url)
            if len(jobs) > 1 and jobs[-1].status in (JobStatus.completed, JobStatus.failed):
                break
            time.sleep(0.2)
        time.sleep(1.5)  # several more looks by both: nothing more is due
    finally:
        for scheduler in schedulers:
            scheduler.terminate()
        for scheduler in schedulers:
            scheduler.wait(timeout=20)
    jobs = training_jobs(shop_url)
    output = "\n".join(log.read_text()[-1500:] for log in logs)
    assert len(jobs) == 2, output
    assert jobs[-1].status == JobStatus.completed, (jobs[-1].error, output)
    assert all(scheduler.returncode == 0 for scheduler in schedulers), output


def test_the_scheduler_refuses_to_start_with_retraining_off(shop_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "RELEVO_DATABASE_URL": shop_url, "RELEVO_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "relevo", "scheduler"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "RELEVO_RETRAIN_MIN_NEW_EVENTS" in done.stderr
