"""Running one job: mark it running, hand it to the code for its kind, record how it ended.
Executors (the local thread pool now, distributed workers later) all run jobs this way."""

import logging
import threading
from collections.abc import Callable
from typing import Any

from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.errors import RelevoError
from relevo.jobs import service
from relevo.jobs.models import JobKind

logger = logging.getLogger("relevo.jobs")

Progress = Callable[[str, float], None]  # what is happening, and the share done (0..1)
# A job's work: given the database, settings, the job's id and params, and someone to tell
# how it is going (besides the job's row), returns (message, result).
Work = Callable[[Database, Settings, str, dict[str, Any], Progress | None], tuple[str, dict[str, Any]]]


HEARTBEAT_SECONDS = 15.0  # how often a running job's row says its process is alive


class Interrupted(Exception):
    """Raised by a job's progress callback when its process is stopping: the job goes back to
    pending, and the next process to start carries it on (batch generation keeps the chunks it
    wrote; training starts over)."""


def handlers() -> dict[str, Work]:
    # Training and batch generation build on jobs, not the other way round.
    from relevo.batch.generation import run_generation_job
    from relevo.registry.training import run_training_job

    return {JobKind.train: run_training_job, JobKind.generate: run_generation_job}


def run(database: Database, settings: Settings, job_id: str, progress: Progress | None = None) -> None:
    kind, params = start(database, job_id)
    if kind is not None:
        execute(database, settings, job_id, kind, params, progress)


def start(database: Database, job_id: str) -> tuple[str | None, dict[str, Any]]:
    """Marks a pending job running: its kind and params, or (None, {}) if another took it or it
    was cancelled meanwhile."""
    with database.transaction() as session:
        job = service.start(session=session, job_id=job_id)
        return (job.kind, dict(job.params)) if job else (None, {})


def execute(
    database: Database,
    settings: Settings,
    job_id: str,
    kind: str,
    params: dict[str, Any],
    progress: Progress | None = None,
) -> None:
    """Runs a started job's work and records how it ended."""
    stop = threading.Event()
    threading.Thread(target=_beat, args=(database, job_id, stop), name="relevo-job-heartbeat", daemon=True).start()
    try:
        message, result = handlers()[kind](database, settings, job_id, params, progress)
    except Interrupted:
        logger.info("job %s (%s) interrupted: the process is stopping; it resumes at the next start", job_id, kind)
        with database.transaction() as session:
            service.requeue(session=session, job_id=job_id)
    except RelevoError as exc:
        fail(database, job_id, exc.details)
    except Exception as exc:
        logger.exception("job %s (%s) failed", job_id, kind)
        fail(database, job_id, f"{type(exc).__name__}: {exc}")
    else:
        with database.transaction() as session:
            service.complete(session=session, job_id=job_id, message=message, result=result)
    finally:
        stop.set()


def _beat(database: Database, job_id: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            with database.transaction() as session:
                service.heartbeat(session=session, job_id=job_id)
        except Exception:  # a missed beat is retried at the next; the job itself goes on
            logger.warning("job %s: heartbeat not written", job_id, exc_info=True)


def fail(database: Database, job_id: str, error: str) -> None:
    with database.transaction() as session:
        service.fail(session=session, job_id=job_id, error=error[:2000])
