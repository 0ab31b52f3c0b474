"""Running one job: mark it running, hand it to the code for its kind, record how it ended.
Executors (the local thread pool now, distributed workers later) all run jobs this way."""

import logging
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


def handlers() -> dict[str, Work]:
    from relevo.registry.training import run_training_job  # the registry builds on jobs, not the other way

    return {JobKind.train: run_training_job}


def run(database: Database, settings: Settings, job_id: str, progress: Progress | None = None) -> None:
    with database.transaction() as session:
        job = service.start(session=session, job_id=job_id)
        kind, params = (job.kind, dict(job.params)) if job else (None, None)
    if kind is None:
        return
    try:
        message, result = handlers()[kind](database, settings, job_id, params, progress)
    except RelevoError as exc:
        _fail(database, job_id, exc.details)
    except Exception as exc:
        logger.exception("job %s (%s) failed", job_id, kind)
        _fail(database, job_id, f"{type(exc).__name__}: {exc}")
    else:
        with database.transaction() as session:
            service.complete(session=session, job_id=job_id, message=message, result=result)


def _fail(database: Database, job_id: str, error: str) -> None:
    with database.transaction() as session:
        service.fail(session=session, job_id=job_id, error=error[:2000])
