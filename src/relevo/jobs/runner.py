"""Running one job: mark it running, hand it to the code for its kind, record how it ended.
Every executor (the local thread pool, Celery workers, the command line) runs jobs this way."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.errors import RelevoError
from relevo.jobs import service
from relevo.jobs.control import Cancelled, Control, Interrupted, Progress, Superseded
from relevo.jobs.handlers import Handlers
from relevo.jobs.models import Job

logger = logging.getLogger("relevo.jobs")

MAX_HEARTBEAT_SECONDS = 15.0


@dataclass(frozen=True)
class Started:
    """A job marked running: this run of it is known by `started_at`."""

    job_id: str
    kind: str
    params: dict[str, Any]
    started_at: datetime


def heartbeat_seconds(settings: Settings) -> float:
    """How often a running job's row says its process is alive: well within
    RELEVO_JOB_STALE_SECONDS, so that a few missed beats never make a live job look dead."""
    return min(MAX_HEARTBEAT_SECONDS, settings.job_stale_seconds / 4)


def look_seconds(settings: Settings) -> float:
    """How often live processes look for jobs nobody runs (give or take a quarter, so that
    processes started together do not look together): a job is taken up at most this long
    after it went stale."""
    return settings.job_stale_seconds / 4


def abandoner(handlers: Handlers) -> service.Abandon:
    """What ends the unfinished work of a job that ends otherwise than by its work (cancelled,
    or given up): its kind's `abandon`, if it has one."""

    def abandon(session: Session, job: Job, reason: str) -> bool:
        handler = handlers.get(job.kind)
        if handler is None or handler.abandon is None:
            return True  # e.g. a batch job: its written results stay, as its counters say
        return handler.abandon(session, dict(job.params), reason)

    return abandon


def cancel(*, session: Session, job: Job, handlers: Handlers) -> Job:
    """Cancels a pending or running job and what its work leaves unfinished (jobs.service.cancel)."""
    return service.cancel(session=session, job=job, abandon=abandoner(handlers))


def run(
    database: Database,
    settings: Settings,
    job_id: str,
    *,
    handlers: Handlers,
    listener: Progress | None = None,
    stopping: Callable[[], bool] | None = None,
) -> None:
    """Starts the job and runs it, if it is still pending. `listener` hears its progress;
    `stopping` says the process is stopping (the job then goes back to pending)."""
    started = start(database, job_id)
    if started is not None:
        execute(database, settings, started, handlers=handlers, listener=listener, stopping=stopping)


def start(database: Database, job_id: str) -> Started | None:
    """Marks a pending job running; None if another took it or it was cancelled meanwhile."""
    with database.transaction() as session:
        job = service.start(session=session, job_id=job_id)
        return Started(job.id, job.kind, dict(job.params), job.started_at) if job else None


def execute(
    database: Database,
    settings: Settings,
    started: Started,
    *,
    handlers: Handlers,
    listener: Progress | None = None,
    stopping: Callable[[], bool] | None = None,
) -> None:
    """Runs a started job's work and records how it ended (only while the job is still in this
    run: a cancelled job stays cancelled, and one another process took over is left to it)."""
    job_id, kind, run_of = started.job_id, started.kind, started.started_at
    control = Control(database, job_id, run_of, listener=listener, stopping=stopping)
    beating = threading.Event()
    threading.Thread(
        target=_beat,
        args=(database, started, beating, heartbeat_seconds(settings)),
        name="relevo-job-heartbeat",
        daemon=True,
    ).start()
    try:
        message, result = handlers[kind].run(database, settings, job_id, started.params, control)
    except Interrupted:
        logger.info("job %s (%s) interrupted: the process is stopping; another takes it up", job_id, kind)
        with database.transaction() as session:
            service.requeue(session=session, job_id=job_id, started_at=run_of)
    except Cancelled:
        logger.info("job %s (%s) stopped: it was cancelled", job_id, kind)
    except Superseded:
        logger.warning("job %s (%s) stopped: another process took it over", job_id, kind)
    except RelevoError as exc:
        fail(database, job_id, exc.details, started_at=run_of)
    except Exception as exc:
        logger.exception("job %s (%s) failed", job_id, kind)
        fail(database, job_id, f"{type(exc).__name__}: {exc}", started_at=run_of)
    else:
        with database.transaction() as session:
            service.complete(session=session, job_id=job_id, message=message, result=result, started_at=run_of)
    finally:
        beating.set()


def _beat(database: Database, started: Started, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            with database.transaction() as session:
                alive = service.heartbeat(session=session, job_id=started.job_id, started_at=started.started_at)
        except Exception:  # a missed beat is retried at the next; the job itself goes on
            logger.warning("job %s: heartbeat not written", started.job_id, exc_info=True)
            continue
        if not alive:  # cancelled, or taken over: the work learns it from its Control
            return


def fail(database: Database, job_id: str, error: str, *, started_at: datetime | None = None) -> None:
    with database.transaction() as session:
        service.fail(session=session, job_id=job_id, error=error[:2000], started_at=started_at)
