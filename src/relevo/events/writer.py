"""Events from many concurrent requests, stored together.

Each request hands its events to the writer and waits; a writer thread stores everything
queued since its last commit in one transaction, commits, and only then answers every
request in it. A 2xx answer still means the events are committed, while the cost of a
transaction (and of a thread hand-over per request) is shared by all the requests in it.
"""

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

from relevo.core import metrics
from relevo.core.db import Database
from relevo.events import service
from relevo.events.schemas import EventIn, IngestResult
from relevo.events.service import EventRow

logger = logging.getLogger("relevo.events")

_MAX_BATCH_ROWS = 5_000  # rows per transaction; what arrives meanwhile waits for the next one


@dataclass
class _Submission:
    rows: list[EventRow]
    categories: dict[str, str] | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future = field(init=False)

    def __post_init__(self) -> None:
        self.future = self.loop.create_future()

    def settle(self, stored: int | None = None, error: BaseException | None = None) -> None:
        with contextlib.suppress(RuntimeError):  # a closed event loop: nobody is waiting any more
            self.loop.call_soon_threadsafe(_settle, self.future, stored, error)


def _settle(future: asyncio.Future, stored: int | None, error: BaseException | None) -> None:
    if future.done():  # the request went away; its events are stored all the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(stored)


_STOP = object()


class EventWriter:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def ingest(
        self,
        events: Sequence[EventIn],
        *,
        source: str,
        max_batch: int,
        categories: dict[str, str] | None = None,
    ) -> IngestResult:
        """Stores the events and answers once they are committed. Large batches are stored on
        their own (through the bulk path) rather than delaying everyone else's."""
        rows = service.prepare_rows(events, max_batch=max_batch)
        if len(rows) > service.SMALL_BATCH:
            stored = await run_in_threadpool(self._store_alone, rows, categories)
        else:
            submission = _Submission(rows, categories, asyncio.get_running_loop())
            self._start()
            self._queue.put(submission)
            stored = await submission.future
        metrics.EVENTS_INGESTED.labels(source).inc(stored)
        return IngestResult(received=len(rows), stored=stored, duplicates=len(rows) - stored)

    def close(self) -> None:
        """Stores what is queued, then stops the writer thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="relevo-event-writer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch, size = [item], len(item.rows)
            while size < _MAX_BATCH_ROWS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    self._store(batch)
                    return
                batch.append(item)
                size += len(item.rows)
            try:
                self._store(batch)
            except BaseException as exc:  # the thread must outlive any one batch, or requests would hang
                logger.exception("the event writer could not settle a batch")
                for submission in batch:
                    submission.settle(error=exc)

    def _store(self, batch: list[_Submission]) -> None:
        try:
            with self._database.transaction() as session:
                stored = service.store_submissions(
                    session=session, submissions=[(item.rows, item.categories) for item in batch]
                )
        except Exception as exc:
            if len(batch) == 1:
                batch[0].settle(error=exc)
                return
            # One bad submission must not fail the others: store each on its own.
            logger.info("a batch of %d submissions failed (%s); storing them one by one", len(batch), exc)
            for item in batch:
                self._store([item])
            return
        for item, count in zip(batch, stored, strict=True):
            item.settle(stored=count)

    def _store_alone(self, rows: list[EventRow], categories: dict[str, str] | None) -> int:
        with self._database.transaction() as session:
            return service.store_events(session=session, rows=rows, categories=categories)
