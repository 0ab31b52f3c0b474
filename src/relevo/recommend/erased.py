"""Shoppers erased (DELETE /api/v1/users/{id}), as each serving process knows them: read from the
privacy audit log every RELEVO_EXPERIMENTS_REFRESH_SECONDS (1), and at once in the process that
erased. A model trained before the erase still holds the shopper (factors, a list ranked ahead,
what they bought): serving treats them as a user that model never saw."""

import threading
import time

from relevo.core.db import Database
from relevo.recommend.user_events import EventsSinceTraining
from relevo.users import privacy_audit as audit

# Asked of the model instead of an erased shopper: no shop id is empty, so no model knows it.
UNKNOWN_USER = ""


class ErasedUsers:
    def __init__(self, database: Database, events: EventsSinceTraining, refresh_seconds: float) -> None:
        self._database, self._events = database, events
        self._refresh_seconds = refresh_seconds
        self._erased: dict[str, int] = {}  # shopper → the newest event id when last erased
        self._last_entry = 0  # the audit log's last entry read
        self._read = -float("inf")
        self._lock = threading.Lock()

    def needs_refresh(self) -> bool:
        return time.monotonic() - self._read >= self._refresh_seconds

    def refresh(self) -> None:
        """Reads the erasures logged since the last look (usually none: one indexed query). Blocks."""
        with self._lock:
            with self._database.session(write=False) as session:
                found = audit.erasures_after(session=session, after_id=self._last_entry)
            for entry, user_id, newest_event in found:
                self.note(user_id, newest_event)
                self._last_entry = max(self._last_entry, entry)
            self._read = time.monotonic()

    def note(self, user_id: str, newest_event: int) -> None:
        """The shopper was erased when the newest event was `newest_event`."""
        self._erased[user_id] = max(self._erased.get(user_id, 0), newest_event)
        self._events.forget(user_id)

    def hides(self, user_id: str, watermark: int) -> bool:
        """Whether a model trained on events up to `watermark` may have learned from the shopper
        before they were erased (one trained later never saw those events: they are gone)."""
        erased = self._erased.get(user_id)
        return erased is not None and watermark <= erased
