"""Exposures written off the request path: an answer served inside an experiment is queued,
and a writer thread stores what is queued in one transaction every so often, in the database,
so that every server process counts into one truth. The request does not wait: exposures
queued in a process that is killed before its next write are lost (a tenth of a second's)."""

import logging
import queue
import threading
from typing import Any, NamedTuple

from relevo.core.db import Database, insert_rows, utcnow
from relevo.experiments.models import Exposure

logger = logging.getLogger("relevo.experiments")

_BATCH = 2_000  # exposures written in one transaction at most
_WAIT_SECONDS = 0.1  # how long the writer gathers before it writes
_COLUMNS = (
    "recommendation_id",
    "experiment_id",
    "variant",
    "user_id",
    "items",
    "credits",
    "model_version_id",
    "route",
    "shown_at",
)


class ExposureRow(NamedTuple):
    recommendation_id: str
    experiment_id: str
    variant: str
    user_id: str
    items: list[str]
    credits: list[str] | None
    model_version_id: int | None
    route: str


_STOP = object()


class ExposureWriter:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._pending = 0

    def record(self, row: ExposureRow) -> None:
        """Queues one exposure (its time is now)."""
        self._start()
        with self._idle:
            self._pending += 1
        self._queue.put((*row, utcnow()))

    def flush(self, timeout: float = 10.0) -> None:
        """Waits until every exposure queued so far is written (tests, shutdown)."""
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="relevo-exposures", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch, stopping = [first], False
            while len(batch) < _BATCH:
                try:
                    item = self._queue.get(timeout=_WAIT_SECONDS)
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            self._write(batch)
            if stopping:
                return

    def _write(self, batch: list[tuple[Any, ...]]) -> None:
        try:
            with self._database.transaction() as session:
                insert_rows(session.connection(), Exposure.__table__, _COLUMNS, batch)
        except Exception:  # the thread must outlive any one batch; the answers were served already
            logger.exception("%d exposures could not be written", len(batch))
        finally:
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()
