"""What a running job's work is handed: a way to report progress, and to learn that it must
stop — its process is stopping, the job was cancelled, or another process took the job over
(this one stalled past RELEVO_JOB_STALE_SECONDS). Work reports between its safe steps (a chunk
written, a stage of training), where a stop raises; a long computation asks `should_stop`
between its own steps (a fit's iterations) and then calls `stop_if_asked`."""

import logging
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from relevo.core.db import Database
from relevo.jobs import service
from relevo.jobs.models import JobStatus

logger = logging.getLogger("relevo.jobs")

Progress = Callable[[str, float], None]  # what is happening, and the share done (0..1)
# A job's row is read at most this often to learn whether it was cancelled: a stop comes
# within about a second, for a primary-key read a second.
POLL_SECONDS = 1.0


class Interrupted(Exception):
    """The process is stopping: the job goes back to pending and another process carries it on
    (batch generation keeps the chunks it wrote; training starts over)."""


class Cancelled(Exception):
    """The job was cancelled: its work undoes what it started (a training removes its files);
    the job stays cancelled."""


class Superseded(Exception):
    """Another process runs the job now: this one leaves everything to it, writing nothing."""


class Control:
    def __init__(
        self,
        database: Database,
        job_id: str,
        started_at: datetime,
        *,
        listener: Progress | None = None,
        stopping: Callable[[], bool] | None = None,
    ) -> None:
        self._database, self._job_id, self._started_at = database, job_id, started_at
        self._listener, self._stopping = listener, stopping
        self._found: type[Exception] | None = None  # once the job is cancelled or taken over, it stays so
        self._polled = float("-inf")

    def report(self, message: str, done: float) -> None:
        """Tells what the work is doing; raises Interrupted, Cancelled or Superseded if it must stop."""
        self.stop_if_asked()
        if self._listener is not None:
            self._listener(message, done)

    def should_stop(self) -> bool:
        return self._reason() is not None

    def stop_if_asked(self) -> None:
        reason = self._reason()
        if reason is not None:
            raise reason()

    def confirm(self, session: Session) -> None:
        """Raises Cancelled or Superseded unless the job is still in this run, read in the
        caller's transaction: what the caller then writes commits only for a live run."""
        status, started_at = service.run_state(session=session, job_id=self._job_id)
        self._found = self._verdict(status, started_at) or self._found
        self.stop_if_asked()

    def _reason(self) -> type[Exception] | None:
        if self._stopping is not None and self._stopping():
            return Interrupted
        if self._found is None and time.monotonic() - self._polled >= POLL_SECONDS:
            self._polled = time.monotonic()
            self._found = self._read()
        return self._found

    def _read(self) -> type[Exception] | None:
        try:
            with self._database.session(write=False) as session:
                status, started_at = service.run_state(session=session, job_id=self._job_id)
        except Exception:  # the database hiccuped: the work goes on, and asks again later
            logger.warning("job %s: its status could not be read", self._job_id, exc_info=True)
            return None
        return self._verdict(status, started_at)

    def _verdict(self, status: str, started_at: datetime | None) -> type[Exception] | None:
        if status == JobStatus.cancelled:
            return Cancelled
        if status != JobStatus.running or started_at != self._started_at:
            return Superseded
        return None
