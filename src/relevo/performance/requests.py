"""Request statistics kept in the database. Each process adds up its requests per minute, route
and latency bucket in memory, and a thread writes them every second as additions to shared
rows (INSERT ... ON CONFLICT DO UPDATE SET requests = requests + ...), so the figures are those
of every process on every machine. A process killed between writes loses a second's at most.

The same thread deletes rows older than the retention, once an hour."""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from relevo.core.db import Database, utcnow
from relevo.exposures.models import AnswerSource
from relevo.performance.latency import bound_of
from relevo.performance.models import RequestStatistic

logger = logging.getLogger("relevo.performance")

# Where a route that serves a person notes, in the request's ASGI scope, where its answer came
# from (an AnswerSource), for the request's statistics.
ANSWER_SOURCE = "relevo.answer_source"
# Probes and scrapes are not the shop's traffic: Prometheus counts them, these statistics do not.
NOT_COUNTED = frozenset({"/health", "/health/", "/ready", "/ready/", "/metrics"})

_WRITE_SECONDS = 1.0
_PRUNE_SECONDS = 3600.0
_TABLE = RequestStatistic.__table__
_KEY = ("minute", "route", "latency_bound_us")
_COUNTS = ("requests", "errors", "answers", "cache_hits", "latency_ms")


class RequestStatistics:
    """`retention_days`: rows older than this are deleted (0: kept)."""

    def __init__(self, database: Database, *, retention_days: float = 0) -> None:
        self._database = database
        self._retention = timedelta(days=retention_days) if retention_days > 0 else None
        # (minute number since the epoch, route, latency bound) → [requests, errors, answers,
        # cache hits, milliseconds]: what this process counted since its last write.
        self._pending: dict[tuple[int, str, int], list[Any]] = {}
        self._lock = threading.Lock()
        self._writing = threading.Lock()  # one write at a time: flush() returns once all is written
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at = -float("inf")

    def observe(self, route: str, status: int, seconds: float, source: str | None) -> None:
        """Counts one request to `route` ("GET /api/v1/popular"), answered with `status` in
        `seconds`; `source`: where its answer to a person came from, if it served one."""
        if self._thread is None and not self._database.shares_one_connection:
            self._start()
        key = (int(time.time() // 60), route, bound_of(seconds))
        with self._lock:
            counts = self._pending.get(key)
            if counts is None:
                counts = self._pending[key] = [0, 0, 0, 0, 0.0]
            counts[0] += 1
            if status >= 500:
                counts[1] += 1
            if source is not None:
                counts[2] += 1
                if source == AnswerSource.cache:
                    counts[3] += 1
            counts[4] += seconds * 1000

    def flush(self) -> None:
        """Writes everything counted so far (tests, shutdown)."""
        self._write()

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        self._write()

    def prune(self) -> None:
        """Deletes the rows of minutes before the retention: an hour's rows when run hourly,
        a few thousand, in one statement."""
        if self._retention is not None:
            with self._database.transaction() as session:
                session.execute(delete(RequestStatistic).where(RequestStatistic.minute < utcnow() - self._retention))

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="relevo-request-statistics", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(_WRITE_SECONDS):
            self._write()
            if self._retention is not None and time.monotonic() - self._pruned_at >= _PRUNE_SECONDS:
                self._pruned_at = time.monotonic()
                try:
                    self.prune()
                except Exception:  # retried at the next hour; counting must go on
                    logger.exception("request statistics past the retention could not be deleted")

    def _write(self) -> None:
        with self._writing:
            with self._lock:
                pending, self._pending = self._pending, {}
            if not pending:
                return
            # In key order, so that processes adding to the same rows lock them in the same order.
            rows = [
                {
                    "minute": datetime.fromtimestamp(minute * 60, UTC).replace(tzinfo=None),
                    "route": route,
                    "latency_bound_us": bound,
                    **dict(zip(_COUNTS, counts, strict=True)),
                }
                for (minute, route, bound), counts in sorted(pending.items())
            ]
            try:
                with self._database.transaction() as session:
                    connection = session.connection()
                    connection.execute(_added(connection.dialect.name), rows)
            except Exception:  # counted again at the next write, with what comes meanwhile
                logger.exception("request statistics could not be written; trying again in a second")
                self._put_back(pending)

    def _put_back(self, pending: dict[tuple[int, str, int], list[Any]]) -> None:
        with self._lock:
            for key, counts in pending.items():
                kept = self._pending.setdefault(key, [0, 0, 0, 0, 0.0])
                for index, value in enumerate(counts):
                    kept[index] += value


@cache
def _added(dialect: str) -> Any:
    """INSERT ... ON CONFLICT (minute, route, latency_bound_us) DO UPDATE adding the counts."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_TABLE)
    return insert.on_conflict_do_update(
        index_elements=list(_KEY), set_={name: _TABLE.c[name] + insert.excluded[name] for name in _COUNTS}
    )
