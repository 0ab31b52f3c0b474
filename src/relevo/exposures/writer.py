"""Exposures written off the request path: an answer served to a person is queued, and a writer
thread stores what is queued in one transaction every so often, in the database, so that every
server process counts into one truth. The request does not wait: exposures queued in a process
that is killed before its next write are lost (a tenth of a second's).

The same thread deletes answers outside experiments older than the retention, once an hour
(experiments keep theirs: their results need them)."""

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from relevo.core import metrics
from relevo.core.db import Database, delete_in_chunks, utcnow
from relevo.exposures.models import Exposure
from relevo.storage import bulk

logger = logging.getLogger("relevo.exposures")

_BATCH = 2_000  # exposures written in one transaction at most
_WAIT_SECONDS = 0.1  # how long the writer gathers between writes
_PRUNE_SECONDS = 3600.0  # how often the writer deletes what is past the retention
_COLUMNS = (
    "recommendation_id",
    "experiment_id",
    "variant",
    "user_id",
    "items",
    "credits",
    "model_version_id",
    "model",
    "model_version",
    "source",
    "fallback",
    "route",
    "shown_at",
)


class ExposureRow(NamedTuple):
    recommendation_id: str
    experiment_id: str | None  # None: an answer outside any experiment
    variant: str | None
    user_id: str
    items: Sequence[str]  # best first
    credits: Sequence[str] | None
    model_version_id: int | None
    model: str | None
    model_version: int | None
    source: str  # an AnswerSource
    fallback: bool
    route: str


_STOP = object()


class ExposureWriter:
    """`retention_days`: answers outside experiments older than this are deleted (0: kept)."""

    def __init__(self, database: Database, *, retention_days: float = 0) -> None:
        self._database = database
        self._retention = timedelta(days=retention_days) if retention_days > 0 else None
        # Rows to write, and the events flush() waits on, in the order they came.
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pruned_at = -float("inf")

    def record(self, row: ExposureRow) -> None:
        """Queues one exposure (its time is now): on the path of every answer, so no more."""
        if self._thread is None and not self._database.shares_one_connection:
            self._start()
        self._queue.put((*row, utcnow()))

    def flush(self, timeout: float = 10.0) -> None:
        """Waits until every exposure queued before the call is written (however many are queued
        meanwhile); on a database that shares one connection, writes them in this thread."""
        if self._database.shares_one_connection:
            self._write_queued()
        elif self._thread is not None:
            written = threading.Event()
            self._queue.put(written)
            written.wait(timeout)

    def close(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()
        elif self._database.shares_one_connection:
            self._write_queued()

    def prune(self) -> int:
        """Deletes the answers outside experiments shown before the retention; how many."""
        if self._retention is None:
            return 0
        condition = Exposure.experiment_id.is_(None) & (Exposure.shown_at < utcnow() - self._retention)
        return delete_in_chunks(self._database, Exposure.__table__, condition)

    def _write_queued(self) -> None:
        batch = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, tuple):
                batch.append(item)
        for start in range(0, len(batch), _BATCH):
            self._write(batch[start : start + _BATCH])

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="relevo-exposures", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()  # the first answer after a quiet spell wakes the thread
            batch: list[tuple[Any, ...]] = []
            reached: list[threading.Event] = []  # flushes waiting for what came before them
            while item is not _STOP:
                if isinstance(item, threading.Event):
                    reached.append(item)
                else:
                    batch.append(item)
                    if len(batch) == _BATCH:
                        break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(batch)
            for written in reached:
                written.set()
            if item is _STOP:
                return
            self._prune_when_due()
            # Gather: answers queued meanwhile wake nobody (woken for each, the thread would take
            # the interpreter from the requests a thousand times a second).
            time.sleep(_WAIT_SECONDS)

    def _write(self, batch: list[tuple[Any, ...]]) -> None:
        try:
            with self._database.transaction() as session:
                bulk.append_rows(session, Exposure.__table__, _COLUMNS, batch)
        except Exception:  # the thread must outlive any one batch; the answers were served already
            logger.exception("%d exposures could not be written", len(batch))
            metrics.EXPOSURES_LOST.inc(len(batch))
        else:
            route = _COLUMNS.index("route")
            for name, count in Counter(row[route] for row in batch).items():
                metrics.EXPOSURES.labels(name).inc(count)

    def _prune_when_due(self) -> None:
        if self._retention is None or time.monotonic() - self._pruned_at < _PRUNE_SECONDS:
            return
        self._pruned_at = time.monotonic()
        try:
            deleted = self.prune()
        except Exception:  # pruning is retried at the next hour; writing must go on
            logger.exception("exposures past the retention could not be deleted")
            return
        if deleted:
            logger.info("deleted %d answers outside experiments older than the retention", deleted)
