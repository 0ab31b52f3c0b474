"""Cancelling stops the work within seconds and frees its thread: a training stops between the
iterations of its fit, its version failed as cancelled and its files gone; a batch job stops
between chunks. A training cancelled before it ran fails its version too; a cancel that comes
once the work is done is refused; `relevo train` stopped with Ctrl-C cancels its job."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.batch import service as batch_service
from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.job_kinds import HANDLERS
from relevo.jobs import runner
from relevo.jobs import service as jobs_service
from relevo.jobs.executor import LocalExecutor
from relevo.jobs.models import Job, JobStatus
from relevo.registry import service as registry_service
from relevo.registry.models import ModelVersion, VersionStatus
from tests.errors import assert_error_mentioning
from tests.jobs.committed_shop import load_trained_shop
from tests.jobs.waiting import wait_until

# Minutes of fitting on the demo shop, in iterations of a few hundredths of a second.
LONG_TRAINING = {"embedding_dim": 1024, "epochs": 1000}
JOBS = "/api/v1/jobs"


@pytest.fixture
def committed(empty_database_url: str, tmp_path: Path) -> Settings:
    """A committed demo shop with a deployed model; one job runs at a time, in a thread."""
    settings = Settings(
        database_url=empty_database_url,
        data_dir=tmp_path,
        job_threads=1,
        train_threads=1,
        batch_chunk_users=1,
        job_stale_seconds=5,
    )
    load_trained_shop(settings)
    return settings


def job_row(database: Database, job_id: str) -> Job:
    with database.session(write=False) as session:
        return session.get(Job, job_id)


def cancel(database: Database, job_id: str) -> None:
    with database.transaction() as session:
        runner.cancel(session=session, job=jobs_service.get_or_raise(session=session, job_id=job_id), handlers=HANDLERS)


def batch_job(database: Database, users: int) -> str:
    with database.transaction() as session:
        user_ids = [f"U{number:06d}" for number in range(users)]
        job = batch_service.start_generation(
            session=session, user_ids=user_ids, top_k=3, created_by=None, max_users=10**6, max_pending=None
        )
        return job.id


def completed(database: Database, job_id: str) -> bool:
    return job_row(database, job_id).status == JobStatus.completed


def test_a_cancelled_training_stops_within_seconds_and_frees_its_thread(committed: Settings) -> None:
    database = Database(committed.database_url)
    executor = LocalExecutor(database, committed, HANDLERS)
    try:
        with database.transaction() as session:
            version, job = registry_service.start_training(
                session=session,
                settings=committed,
                name="default",
                algorithm="als",
                config=LONG_TRAINING,
                params={},
                created_by=None,
            )
            job_id, version_id, number = job.id, version.id, version.version
        executor.submit(job_id)
        wait_until(lambda: job_row(database, job_id).message.startswith("fitting"), seconds=60, what="the fit begun")

        cancel(database, job_id)
        cancelled_at = time.monotonic()
        # The executor's one thread runs the next job only once the training has let it go.
        next_job = batch_job(database, 3)
        executor.submit(next_job)
        wait_until(lambda: completed(database, next_job), seconds=20, what="the next job done")
        print(f"cancelled to the next job done: {time.monotonic() - cancelled_at:.2f} s")
    finally:
        executor.shutdown()

    assert job_row(database, job_id).status == JobStatus.cancelled
    with database.session(write=False) as session:
        version = session.get(ModelVersion, version_id)
    assert version.status == VersionStatus.failed and "cancelled" in version.error, version.error
    assert not (committed.resolved_artifacts_dir / "default" / str(number)).exists()
    database.dispose()


def test_a_cancelled_batch_job_stops_between_chunks(committed: Settings) -> None:
    database = Database(committed.database_url)
    executor = LocalExecutor(database, committed, HANDLERS)
    try:
        long_job = batch_job(database, 2_000)  # a chunk per user: far longer than the test waits
        executor.submit(long_job)
        wait_until(lambda: job_row(database, long_job).processed >= 2, seconds=30, what="chunks written")

        cancel(database, long_job)
        next_job = batch_job(database, 3)
        executor.submit(next_job)
        wait_until(lambda: completed(database, next_job), seconds=20, what="the next job done")
    finally:
        executor.shutdown()

    # The next job ran on the executor's one thread, so the cancelled one has let it go: it
    # stopped between two chunks, short of its 2,000 users, and writes nothing more.
    stopped = job_row(database, long_job)
    assert stopped.status == JobStatus.cancelled and stopped.processed < 2_000, (stopped.status, stopped.processed)
    time.sleep(0.5)
    assert job_row(database, long_job).processed == stopped.processed
    database.dispose()


def pending_training(session: Session, settings: Settings) -> tuple[ModelVersion, Job]:
    version, job = registry_service.start_training(
        session=session, settings=settings, name="default", algorithm="popular", config={}, params={}, created_by=None
    )
    session.commit()
    return version, job


def test_a_training_cancelled_before_it_ran_fails_its_version(
    client: TestClient, admin_headers: dict, session: Session, settings: Settings
) -> None:
    version, job = pending_training(session, settings)

    cancelled = client.post(f"{JOBS}/{job.id}/cancel", headers=admin_headers)

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    read = client.get(f"/api/v1/models/default/versions/{version.version}", headers=admin_headers).json()
    assert read["status"] == "failed" and "cancelled" in read["error"], read


def test_a_cancel_that_comes_once_the_training_is_done_is_refused(
    client: TestClient, admin_headers: dict, session: Session, settings: Settings
) -> None:
    version, job = pending_training(session, settings)
    job.status, job.started_at, job.heartbeat_at = JobStatus.running, utcnow(), utcnow()
    registry_service.mark_ready(session=session, version=version, metrics={}, training={}, watermark=0)
    session.commit()

    assert_error_mentioning(client.post(f"{JOBS}/{job.id}/cancel", headers=admin_headers), 409, "too late")
    assert client.get(f"{JOBS}/{job.id}", headers=admin_headers).json()["status"] == "running"


@pytest.mark.integration
def test_a_training_stopped_by_hand_on_the_command_line_is_cancelled(committed: Settings, tmp_path: Path) -> None:
    # Left running, a server would take the job up once it went stale and train it after all.
    database = Database(committed.database_url)
    environment = {
        **os.environ,
        **committed.environment("database_url", "data_dir", "train_threads"),
        "RELEVO_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "relevo", "train", "--algorithm", "als", "--config", json.dumps(LONG_TRAINING)]
    with (tmp_path / "train.log").open("wb") as log:
        training = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    try:
        job = wait_until(lambda: fitting_job(database), seconds=60, what="the fit begun")
        training.send_signal(signal.SIGINT)
        assert training.wait(timeout=30) == 130
    finally:
        if training.poll() is None:
            training.kill()
    assert job_row(database, job.id).status == JobStatus.cancelled
    with database.session(write=False) as session:
        version = session.get(ModelVersion, job.params["version_id"])
    assert version.status == VersionStatus.failed and "cancelled" in version.error
    database.dispose()


def fitting_job(database: Database) -> Job | None:
    with database.session(write=False) as session:
        return session.scalar(select(Job).where(Job.kind == "train", Job.message.startswith("fitting")))
