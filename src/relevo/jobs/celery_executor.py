"""The celery executor: jobs become Celery tasks on Redis (RELEVO_REDIS_URL as broker and
result backend), run by `relevo worker` processes on any machine that reaches the database,
Redis and the artifacts folder. A batch generation job is split into one task per chunk of
users, so every worker takes part.

Tasks are acknowledged only once done and given back when their worker dies (acks_late,
reject_on_worker_lost), so a worker killed mid-chunk loses nothing: Redis hands the chunk to
another worker once RELEVO_CELERY_VISIBILITY_SECONDS have passed, and as results are written
per (job, user) exactly once, the chunk done again adds only what was missing.

Redis can still lose a task a worker had just taken, if the worker dies before recording it
as unacknowledged (kombu pops it first); and a training whose worker died stays `running`
(its task, given back, finds it so and does nothing). So every worker also looks, about every
quarter of RELEVO_JOB_STALE_SECONDS (one worker at a time, under a database lock), for jobs
nobody runs: running batch jobs that have written nothing for that long get their chunks
handed out again (workers skip the users already done, so only the lost chunks are
computed); other running jobs without a heartbeat for that long, and pending jobs nobody took
for that long (the API process died before sending them), are taken (`jobs.service.claim`)
and sent again."""

import logging
import random
import threading
from datetime import timedelta

from celery import Celery
from celery.signals import worker_ready

from relevo.core import locks
from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.core.errors import RelevoError
from relevo.jobs import runner, service
from relevo.jobs.handlers import Chunked, Handlers

_CLAIMED_PER_LOOK = 100  # jobs taken up per look at most: the rest at the next

logger = logging.getLogger("relevo.jobs")


def celery_app(settings: Settings, handlers: Handlers) -> Celery:
    """The Celery app with Relevo's tasks, for the API (sending) and workers (running). Jobs
    of a kind whose work is `chunked` run as one task per chunk."""
    if not settings.redis_url:
        raise ValueError("the celery executor needs RELEVO_REDIS_URL (its broker and result backend)")
    app = Celery("relevo", broker=settings.redis_url, backend=settings.redis_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=settings.celery_queue,
        broker_transport_options={
            "visibility_timeout": settings.celery_visibility_seconds,
            # Look for tasks of dead workers a few times per visibility timeout (by default
            # kombu looks only every 100 s, however short the timeout).
            "unacked_restore_interval": max(1, round(settings.celery_visibility_seconds / 4)),
            "unacked_restore_throttle": 1,
        },
        broker_connection_retry_on_startup=True,
        result_expires=3600,
        worker_hijack_root_logger=False,
    )
    databases = _Databases(settings)

    @app.task(name="relevo.start_job")
    def start_job(job_id: str) -> None:
        database = databases.get()
        started = runner.start(database, job_id)
        if started is None:
            return
        chunked = handlers[started.kind].chunked
        if chunked is None:
            runner.execute(database, settings, started, handlers=handlers)
            return
        try:
            items = chunked.prepare(database, job_id, started.params)
        except Exception as exc:
            runner.fail(database, job_id, f"{type(exc).__name__}: {exc}")
            return
        if not items:
            _finish(database, settings, job_id, chunked)
        _send_chunks(run_chunk, settings, job_id, started.kind, items)

    @app.task(name="relevo.run_chunk")
    def run_chunk(job_id: str, kind: str, start: int, stop: int) -> None:
        database = databases.get()
        chunked = handlers[kind].chunked
        try:
            running = chunked.run_chunk(database, settings, job_id, start, stop)
        except RelevoError as exc:  # no model deployed, say: the whole job fails, with the reason
            runner.fail(database, job_id, exc.details)
            return
        if running:
            _finish(database, settings, job_id, chunked)

    app.relevo_look = (runner.look_seconds(settings), _hand_out_stalled, (settings, handlers, start_job, run_chunk))
    return app


@worker_ready.connect
def _watch_stalled(sender, **_) -> None:
    """In a worker of a Relevo app, once it is ready: look for jobs nobody runs on its timer,
    every so often (give or take a quarter, so that workers started together look apart)."""
    look = getattr(sender.app, "relevo_look", None)
    if look is None:
        return
    every, function, args = look

    def look_and_again() -> None:
        function(*args)
        sender.timer.call_after(every * random.uniform(0.75, 1.25), look_and_again)

    sender.timer.call_after(every * random.uniform(0.75, 1.25), look_and_again)


def _hand_out_stalled(settings: Settings, handlers: Handlers, start_job, run_chunk) -> None:
    """Sends again every chunk of the batch jobs that have written nothing for
    RELEVO_JOB_STALE_SECONDS (a chunk task lost with its worker), and the jobs nobody runs
    (see `jobs.service.claim`). Runs in the worker's main process, with a database of its own
    that holds no connection between looks."""
    database = Database(settings.resolved_database_url)
    try:
        with database.transaction() as session:
            locks.hold(session, "relevo.stalled-jobs")
            stale_before = utcnow() - timedelta(seconds=settings.job_stale_seconds)
            chunked = [kind for kind, handler in handlers.items() if handler.chunked is not None]
            stalled = service.stalled_chunked(session=session, stale_before=stale_before, kinds=chunked)
            found = [(job.id, job.kind, job.total or 0) for job in stalled]
            # Running chunked jobs are looked after above: their chunks, not the whole job.
            others = [kind for kind in handlers if kind not in chunked]
            taken = service.claim(
                session=session,
                stale_before=stale_before,
                pending_before=stale_before,
                limit=_CLAIMED_PER_LOOK,
                abandon=runner.abandoner(handlers),
                running_kinds=others,
            )
        for job_id, kind, items in found:
            logger.warning("job %s: nothing written lately, its chunks sent again", job_id)
            _send_chunks(run_chunk, settings, job_id, kind, items)
        for job_id in taken:
            logger.warning("job %s: nobody was running it; sent again", job_id)
            start_job.delay(job_id)
    except Exception:  # the next look tries again
        logger.exception("looking for jobs nobody runs failed")
    finally:
        database.dispose()


def _send_chunks(run_chunk, settings: Settings, job_id: str, kind: str, items: int) -> None:
    """One task per RELEVO_BATCH_CHUNK_USERS of the job's items."""
    step = settings.batch_chunk_users
    for start in range(0, items, step):
        run_chunk.delay(job_id, kind, start, start + step)


def _finish(database: Database, settings: Settings, job_id: str, chunked: Chunked) -> None:
    """Completes the job once every item is done (whichever chunk does the last one)."""
    with database.session(write=False) as session:
        job = service.get_or_raise(session=session, job_id=job_id)
        total, processed = job.total, job.processed
    if processed >= total:
        message, result = chunked.outcome(database, settings, job_id)
        with database.transaction() as session:
            service.complete(session=session, job_id=job_id, message=message, result=result)


class _Databases:
    """One Database per worker process, made on first use (never shared across a fork)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._database: Database | None = None
        self._lock = threading.Lock()

    def get(self) -> Database:
        with self._lock:
            if self._database is None:
                self._database = Database(self._settings.resolved_database_url)
            return self._database


class CeleryExecutor:
    """Submits jobs to the workers; jobs live on in Redis and the database across restarts."""

    def __init__(self, settings: Settings, handlers: Handlers) -> None:
        self.handlers = handlers
        self.app = celery_app(settings, handlers)

    def submit(self, job_id: str) -> None:
        self.app.send_task("relevo.start_job", args=[job_id], queue=self.app.conf.task_default_queue)

    def start(self) -> int:
        return 0  # queued tasks wait in Redis; the workers look for jobs nobody runs

    def shutdown(self) -> None:
        self.app.close()
