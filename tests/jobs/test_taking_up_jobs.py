"""Jobs no live process runs are taken up by one that is alive, at any time and exactly once: a
running job whose heartbeat stopped (its process was killed), a pending job nobody took (its
process died before handing it to an executor). A training's version goes with its job:
trained again from the start, or failed with it; never left `training`. On committed SQLite
and PostgreSQL databases, as several processes would share them."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from relevo.batch import service as batch_service
from relevo.batch.models import JobResult, ranked
from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.job_kinds import HANDLERS
from relevo.jobs import runner
from relevo.jobs import service as jobs_service
from relevo.jobs.executor import LocalExecutor
from relevo.jobs.models import Job, JobStatus
from relevo.jobs.runner import heartbeat_seconds
from relevo.registry import files
from relevo.registry import service as registry_service
from relevo.registry.models import ModelVersion, VersionStatus
from tests.jobs.committed_shop import load_trained_shop
from tests.jobs.waiting import wait_until

USERS = [f"U{number:06d}" for number in range(1, 11)]
LONG_AGO = timedelta(minutes=5)


@pytest.fixture
def settings(empty_database_url: str, tmp_path: Path) -> Settings:
    """A committed demo shop with a deployed model; jobs run in the caller of `look`."""
    settings = Settings(
        database_url=empty_database_url, data_dir=tmp_path, job_threads=0, batch_chunk_users=3, job_stale_seconds=2
    )
    load_trained_shop(settings)
    return settings


def batch_job(database: Database, *, written: int = 0) -> str:
    with database.transaction() as session:
        job = batch_service.start_generation(
            session=session, user_ids=USERS, top_k=3, created_by=None, max_users=100, max_pending=None
        )
        job.total = len(USERS)
        session.flush()
        rows = [(user, ranked(["P"], [1.0]), None) for user in USERS[:written]]
        batch_service.store(session=session, job_id=job.id, rows=rows)
        return job.id


def died_while_running(database: Database, job_id: str, *, written: int = 0) -> None:
    """The job as its process left it when killed: running, its last heartbeat long ago."""
    with database.transaction() as session:
        job = jobs_service.get_or_raise(session=session, job_id=job_id)
        job.status, job.started_at, job.heartbeat_at = JobStatus.running, utcnow() - LONG_AGO, utcnow() - LONG_AGO
        job.processed = written


def state(database: Database, job_id: str) -> dict:
    with database.session(write=False) as session:
        job = session.get(Job, job_id)
        rows = session.scalar(select(func.count()).where(JobResult.job_id == job_id))
        users = session.scalar(select(func.count(func.distinct(JobResult.user_id))).where(JobResult.job_id == job_id))
        return {
            "status": job.status,
            "processed": job.processed,
            "rows": rows,
            "users": users,
            "resumes": job.params.get("resumes", 0),
            "error": job.error,
        }


def test_a_job_whose_process_died_is_taken_by_exactly_one_of_two_live_executors(settings: Settings) -> None:
    database = Database(settings.database_url)
    job_id = batch_job(database, written=3)
    died_while_running(database, job_id, written=3)
    # Two live processes, each with its own connections, look at the same moment.
    executors = [LocalExecutor(Database(settings.database_url), settings, HANDLERS) for _ in range(2)]
    together = threading.Barrier(2)
    taken: list[int] = []

    def look(executor: LocalExecutor) -> None:
        together.wait()
        taken.append(executor.look())

    threads = [threading.Thread(target=look, args=(executor,)) for executor in executors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(taken) == [0, 1]
    assert state(database, job_id) == {
        "status": JobStatus.completed,
        "processed": len(USERS),
        "rows": len(USERS),  # the chunk written before the death kept, the rest added once
        "users": len(USERS),
        "resumes": 1,
        "error": None,
    }
    database.dispose()


def test_only_jobs_nobody_runs_are_taken(settings: Settings) -> None:
    database = Database(settings.database_url)
    alive, young, forgotten = batch_job(database), batch_job(database), batch_job(database)
    with database.transaction() as session:
        running = jobs_service.get_or_raise(session=session, job_id=alive)
        running.status, running.heartbeat_at = JobStatus.running, utcnow()  # another process is at it
        # Never handed to an executor: its request's process died after committing it.
        jobs_service.get_or_raise(session=session, job_id=forgotten).created_at = utcnow() - LONG_AGO
    executor = LocalExecutor(database, settings, HANDLERS)

    assert executor.look() == 1
    assert [state(database, job)["status"] for job in (alive, young, forgotten)] == ["running", "pending", "completed"]
    assert executor.resume() == 1  # a process starting takes every pending job at once
    assert state(database, young)["status"] == JobStatus.completed
    database.dispose()


def test_a_live_process_looks_by_itself_and_takes_a_dead_ones_job(settings: Settings) -> None:
    settings.job_threads = 1  # a thread pool, and a thread that looks every job_stale_seconds / 4
    database = Database(settings.database_url)
    executor = LocalExecutor(database, settings, HANDLERS)
    try:
        assert executor.start() == 0  # nothing to take yet
        job_id = batch_job(database)
        died_while_running(database, job_id)  # after this process started: no restart will see it

        done = wait_until(
            lambda: state(database, job_id)["status"] == JobStatus.completed, seconds=20, what="job taken up"
        )
    finally:
        executor.shutdown()
    assert done and state(database, job_id)["rows"] == len(USERS)
    database.dispose()


def test_the_heartbeat_comes_well_within_the_stale_time() -> None:
    assert heartbeat_seconds(Settings(job_stale_seconds=2)) == 0.5  # a small stale time in tests works
    assert heartbeat_seconds(Settings(job_stale_seconds=600)) == 15


def training_job(database: Database, settings: Settings, algorithm: str = "item_knn") -> tuple[str, int]:
    with database.transaction() as session:
        version, job = registry_service.start_training(
            session=session,
            settings=settings,
            name="default",
            algorithm=algorithm,
            config={},
            params={"deploy": "always"},
            created_by=None,
        )
        return job.id, version.id


def version_of(database: Database, version_id: int) -> ModelVersion:
    with database.session(write=False) as session:
        return session.get(ModelVersion, version_id)


def test_a_training_whose_process_died_is_trained_again_from_the_start(settings: Settings) -> None:
    database = Database(settings.database_url)
    job_id, version_id = training_job(database, settings)
    died_while_running(database, job_id)  # its version still `training`, its files half written maybe

    assert LocalExecutor(database, settings, HANDLERS).look() == 1

    assert state(database, job_id)["status"] == JobStatus.completed
    version = version_of(database, version_id)
    assert version.status == VersionStatus.deployed and version.metrics
    with database.session(write=False) as session:
        paths = files.version_paths(session=session, settings=settings, version=version)
    assert set(paths) >= {"manifest.json", "arrays.npz"} and all(path.is_file() for path in paths.values())
    database.dispose()


def test_a_job_resumed_after_its_version_was_done_does_not_train_again(settings: Settings) -> None:
    database = Database(settings.database_url)
    job_id, version_id = training_job(database, settings)
    LocalExecutor(database, settings, HANDLERS).submit(job_id)
    trained_at = version_of(database, version_id).trained_at
    # As if the process died after the version was marked ready, before the job was completed.
    died_while_running(database, job_id)

    assert LocalExecutor(database, settings, HANDLERS).look() == 1

    assert state(database, job_id)["status"] == JobStatus.completed
    assert version_of(database, version_id).trained_at == trained_at
    database.dispose()


def test_a_job_whose_processes_keep_dying_fails_with_its_version(settings: Settings) -> None:
    database = Database(settings.database_url)
    job_id, version_id = training_job(database, settings)
    for _ in range(jobs_service.MAX_RESUMES):
        died_while_running(database, job_id)
        with database.transaction() as session:  # taken, and its process dies again at once
            assert jobs_service.claim(
                session=session,
                stale_before=utcnow(),
                pending_before=utcnow(),
                limit=5,
                abandon=runner.abandoner(HANDLERS),
            ) == [job_id]
    died_while_running(database, job_id)

    assert LocalExecutor(database, settings, HANDLERS).look() == 0

    found = state(database, job_id)
    assert found["status"] == JobStatus.failed and "stopped 4 times" in found["error"], found
    version = version_of(database, version_id)
    assert version.status == VersionStatus.failed and "stopped 4 times" in version.error
    database.dispose()
