"""The local executor: jobs run on a small thread pool inside the API process, with nothing
else installed. Jobs are in the database, so their status survives the process; and every
process keeps looking for jobs no live process runs (its own dead predecessor's, or another
replica's), so a killed process's jobs are taken up without waiting for a restart."""

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.jobs import runner, service
from relevo.jobs.handlers import Handlers

logger = logging.getLogger("relevo.jobs")


class Executor(Protocol):
    """Where jobs run: `submit` a committed pending job; `start` with the process (taking up what
    stopped processes left); `shutdown` with it. `handlers`: the work behind each kind of job."""

    handlers: Handlers

    def submit(self, job_id: str) -> None: ...

    def start(self) -> int: ...

    def shutdown(self) -> None: ...


class LocalExecutor:
    """With `job_threads` 0, jobs run at once in the thread that submits them (the tests do this)
    and nothing looks in the background: `look` is then called by hand."""

    def __init__(self, database: Database, settings: Settings, handlers: Handlers) -> None:
        self._database = database
        self._settings = settings
        self.handlers = handlers
        self._threads = settings.job_threads
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="relevo-job") if self._threads else None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._here: set[str] = set()  # jobs queued or running in this process
        self._watcher: threading.Thread | None = None

    def submit(self, job_id: str) -> None:
        """Runs the job in the background; call after the transaction that created it commits.
        A job already queued or running here is not queued again."""
        with self._lock:
            if job_id in self._here:
                return
            self._here.add(job_id)
        if self._pool is None:
            self._run(job_id)
        else:
            self._pool.submit(self._run, job_id)

    def start(self) -> int:
        """With the process: resumes what stopped processes left, then keeps looking."""
        taken = self.resume()
        if self._pool is not None and self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="relevo-job-watcher", daemon=True)
            self._watcher.start()
        return taken

    def resume(self) -> int:
        """Takes every pending job (a stopping process left them, or they were never run) and the
        running ones without a heartbeat for RELEVO_JOB_STALE_SECONDS; returns how many."""
        return self._take(pending_before=utcnow())

    def look(self) -> int:
        """Takes the jobs no live process runs: running ones without a heartbeat for
        RELEVO_JOB_STALE_SECONDS (their process died), pending ones nobody took for as long
        (their process died before running them); as many as this process has free threads.
        Returns how many."""
        return self._take(pending_before=utcnow() - timedelta(seconds=self._settings.job_stale_seconds))

    def _take(self, *, pending_before) -> int:
        free = self._free_threads()
        if free <= 0:
            return 0
        stale_before = utcnow() - timedelta(seconds=self._settings.job_stale_seconds)
        times = {"stale_before": stale_before, "pending_before": pending_before}
        try:
            with self._database.session(write=False) as session:
                if not service.any_to_claim(session=session, **times):
                    return 0
            with self._database.transaction() as session:
                job_ids = service.claim(session=session, limit=free, abandon=runner.abandoner(self.handlers), **times)
        except SQLAlchemyError as exc:  # say, a schema not migrated yet: /ready/ tells, the API still starts
            logger.warning("jobs left by other processes not looked for: %s", exc.__class__.__name__)
            return 0
        for job_id in job_ids:
            logger.info("taking up job %s", job_id)
            self.submit(job_id)
        return len(job_ids)

    def _free_threads(self) -> int:
        if self._pool is None:
            return 1_000  # run in the caller, one after another: no thread to wait for
        with self._lock:
            return self._threads - len(self._here)

    def _watch(self) -> None:
        every = runner.look_seconds(self._settings)
        while not self._stopping.wait(every * random.uniform(0.75, 1.25)):
            try:
                self.look()
            except Exception:  # the next look tries again
                logger.exception("looking for jobs nobody runs failed")

    def _run(self, job_id: str) -> None:
        try:
            runner.run(self._database, self._settings, job_id, handlers=self.handlers, stopping=self._stopping.is_set)
        except Exception:  # the runner records failures; this is for the ones it could not
            logger.exception("job %s could not be run", job_id)
        finally:
            with self._lock:
                self._here.discard(job_id)

    def shutdown(self) -> None:
        """Queued jobs stay pending; running ones stop at their next step (a chunk written, an
        iteration of a fit), before the process ends (which would fail them midway), and go
        back to pending for another process."""
        self._stopping.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def make_executor(database: Database, settings: Settings, handlers: Handlers) -> Executor:
    """The executor RELEVO_EXECUTOR names."""
    if settings.executor == "celery":
        from relevo.jobs.celery_executor import CeleryExecutor  # Celery is loaded only when used

        return CeleryExecutor(settings, handlers)
    return LocalExecutor(database, settings, handlers)
