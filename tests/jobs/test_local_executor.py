"""The local executor when its server stops: a running batch job stops at a safe point, goes
back to pending, and the next server carries it on, keeping what was written."""

from pathlib import Path

from sqlalchemy import func, select

from relevo.batch import service as batch_service
from relevo.batch.models import JobResult
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.job_kinds import HANDLERS
from relevo.jobs.executor import LocalExecutor
from relevo.jobs.models import Job, JobStatus
from tests.jobs.committed_shop import load_trained_shop

USERS = [f"U{number:06d}" for number in range(1, 6)]


def job_state(database: Database, job_id: str) -> tuple[str, int, int, str | None]:
    with database.session(write=False) as session:
        job = session.get(Job, job_id)
        rows = session.scalar(select(func.count()).select_from(JobResult).where(JobResult.job_id == job_id))
        return job.status, job.processed, rows, job.error


def test_a_batch_job_of_a_stopping_server_resumes_where_it_stopped(empty_database_url: str, tmp_path: Path) -> None:
    # A committed shop: the job's chunks are computed and written on connections of their own.
    settings = Settings(database_url=empty_database_url, data_dir=tmp_path, job_threads=0, batch_chunk_users=1)
    load_trained_shop(settings)
    database = Database(empty_database_url)
    with database.transaction() as session:
        job_id = batch_service.start_generation(
            session=session, user_ids=USERS, top_k=3, created_by=None, max_users=10, max_pending=None
        ).id

    stopping = LocalExecutor(database, settings, HANDLERS)
    # The server stops while the job runs. With job_threads 0 a job runs in the thread that
    # submits it, so here the stop comes first: the job writes its first chunk, then stops.
    stopping.shutdown()
    stopping.submit(job_id)

    assert job_state(database, job_id) == (JobStatus.pending, 1, 1, None)

    assert LocalExecutor(database, settings, HANDLERS).resume() == 1  # the next server

    assert job_state(database, job_id) == (JobStatus.completed, len(USERS), len(USERS), None)
    database.dispose()
