"""The local executor: jobs run on a small thread pool inside the API process, with nothing
else installed. Jobs are in the database, so their status survives the process."""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.jobs import runner, service

logger = logging.getLogger("relevo.jobs")


class Executor(Protocol):
    """Where jobs run: `submit` a committed pending job; `resume` what a stopped process left."""

    def submit(self, job_id: str) -> None: ...

    def resume(self) -> int: ...

    def shutdown(self) -> None: ...


class LocalExecutor:
    """With `job_threads` 0, jobs run at once in the thread that submits them (the tests do this)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self._settings = settings
        threads = settings.job_threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="relevo-job") if threads else None
        self._stopping = threading.Event()

    def submit(self, job_id: str) -> None:
        """Runs the job in the background; call after the transaction that created it commits."""
        if self._pool is None:
            self._run(job_id)
        else:
            self._pool.submit(self._run, job_id)

    def resume(self) -> int:
        """Submits the jobs a stopped process left pending or running (started with the API);
        returns how many."""
        stale_before = utcnow() - timedelta(seconds=self._settings.job_stale_seconds)
        try:
            with self._database.transaction() as session:
                job_ids = service.interrupted(session=session, stale_before=stale_before)
        except SQLAlchemyError as exc:  # say, a schema not migrated yet: /ready/ tells, the API still starts
            logger.warning("interrupted jobs not looked for: %s", exc.__class__.__name__)
            return 0
        for job_id in job_ids:
            logger.info("resuming job %s", job_id)
            self.submit(job_id)
        return len(job_ids)

    def _run(self, job_id: str) -> None:
        try:
            runner.run(self._database, self._settings, job_id, self._checkpoint)
        except Exception:  # the runner records failures; this is for the ones it could not
            logger.exception("job %s could not be run", job_id)

    def _checkpoint(self, message: str, done: float) -> None:
        """Jobs report progress between safe steps (a chunk written, a stage of training): there
        a job of a stopping process stops, to be resumed by the next."""
        if self._stopping.is_set():
            raise runner.Interrupted()

    def shutdown(self) -> None:
        """Queued jobs stay pending; running ones stop at their next step, before the process
        ends (which would fail them midway)."""
        self._stopping.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def make_executor(database: Database, settings: Settings) -> Executor:
    """The executor RELEVO_EXECUTOR names."""
    if settings.executor == "celery":
        from relevo.jobs.celery_executor import CeleryExecutor  # Celery is loaded only when used

        return CeleryExecutor(settings)
    return LocalExecutor(database, settings)
