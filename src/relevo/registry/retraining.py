"""Periodic retraining (as the AI service does): the serving model is trained again when its
last training is older than RELEVO_RETRAIN_INTERVAL_MINUTES, or when
RELEVO_RETRAIN_MIN_NEW_EVENTS events arrived after it, with the deployed version's algorithm
and config, through the deploy gate. A model uploaded by the shop (trained elsewhere) is never
retrained here.

The check runs in a scheduler: a thread of each API process (the embedded default), or the
`relevo scheduler` process (RELEVO_SCHEDULER=process), which hands the training to the
executor, so to Celery workers under RELEVO_EXECUTOR=celery. However many schedulers look, a
database lock makes the check and the start of a training one step: one run at a time."""

import logging
import random
import threading
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.core import locks
from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.events import service as events_service
from relevo.jobs import service as jobs_service
from relevo.jobs.executor import Executor
from relevo.jobs.models import JobKind
from relevo.registry import service
from relevo.registry.models import ModelVersion, VersionSource, VersionStatus

logger = logging.getLogger("relevo.retraining")

DEFAULT_ALGORITHM = "hybrid"  # for a model that has never been deployed


def reason_to_retrain(*, session: Session, settings: Settings, name: str) -> str | None:
    """Why `name` should be trained now, or None: not due, or a training is under way."""
    if jobs_service.active(session=session, kind=JobKind.train, name=name) is not None:
        return None
    latest = session.scalar(
        select(ModelVersion)
        .where(ModelVersion.name == name, ModelVersion.status != VersionStatus.failed)
        .order_by(ModelVersion.version.desc())
        .limit(1)
    )
    if settings.retrain_min_new_events:
        new_events = events_service.latest_event_id(session=session) - (latest.watermark if latest else 0)
        if new_events >= settings.retrain_min_new_events:
            return f"{new_events:,} new events"
    interval = timedelta(minutes=settings.retrain_interval_minutes)
    if interval and latest is not None and latest.trained_at is not None and utcnow() - latest.trained_at >= interval:
        return f"the last training is over {settings.retrain_interval_minutes:g} minutes old"
    return None


def retrain_if_due(database: Database, settings: Settings, executor: Executor) -> str | None:
    """Starts training the serving model if it is due; returns the job's id."""
    name = settings.serving_model
    with database.transaction() as session:
        locks.hold(session, f"relevo.retrain.{name}")  # another scheduler waits, then sees this run
        reason = reason_to_retrain(session=session, settings=settings, name=name)
        if reason is None:
            return None
        current = service.deployed(session=session, name=name)
        if current is not None and current.source == VersionSource.uploaded:
            return None  # trained elsewhere, from events Relevo never saw: the shop uploads the next one
        algorithm, config = (current.algorithm, dict(current.config)) if current else (DEFAULT_ALGORITHM, {})
        params = {"dataset_ids": [], "deploy": "gate", "evaluation": "random", "seed": 0}
        version, job = service.start_training(
            session=session,
            settings=settings,
            name=name,
            algorithm=algorithm,
            config=config,
            params=params,
            created_by=None,
        )
        job_id = job.id
    logger.info("retraining %s (version %d, %s): %s", name, version.version, algorithm, reason)
    executor.submit(job_id)
    return job_id


class RetrainScheduler:
    """Looks every `check_seconds` (with jitter, so replicas rarely look at the same moment)
    whether retraining is due: in a thread (`start`, `stop`) or in the caller (`run`). Off
    unless a retraining setting is set."""

    def __init__(self, database: Database, settings: Settings, executor: Executor) -> None:
        self._database, self._settings, self._executor = database, settings, executor
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return bool(self._settings.retrain_interval_minutes or self._settings.retrain_min_new_events)

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self.run, name="relevo-retrain", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def run(self) -> None:
        """Checks until `stop` is called."""
        while not self._stop.wait(self._settings.retrain_check_seconds * random.uniform(0.8, 1.2)):
            try:
                retrain_if_due(self._database, self._settings, self._executor)
            except Exception:  # a database hiccup must not end the loop
                logger.exception("could not check whether retraining is due")
