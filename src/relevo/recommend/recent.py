"""Each user's latest events, followed in this process: every server reads the events stored
since it last looked (from any server), so a view counts in the very next answer without
retraining and without a database query per request."""

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator

from relevo.core.db import Database
from relevo.events import service as events_service

_PER_USER = 50  # latest events kept per user
_USERS = 200_000  # users followed at most (the least recently active go first)
_PAGE = 10_000  # events read per query
_CATCH_UP_LIMIT = 2_000_000  # events read back at most when a model is older than that


class RecentEvents:
    def __init__(self, database: Database, refresh_seconds: float) -> None:
        self._database = database
        self._refresh_seconds = refresh_seconds
        self._users: OrderedDict[str, deque] = OrderedDict()
        self._first: int | None = None  # events after this id are followed
        self._last = 0
        self._read = -float("inf")
        self._lock = threading.Lock()

    def needs_reading(self, watermark: int) -> bool:
        return self._first is None or watermark < self._first or time.monotonic() - self._read >= self._refresh_seconds

    def read(self, watermark: int) -> None:
        """Reads the events stored since the last read, following from `watermark` (the served
        model's last event) if nothing before it is followed yet. Blocks: call from a thread."""
        with self._lock:
            if self._first is None or watermark < self._first:
                self._users.clear()
                self._first = self._last = watermark
            if time.monotonic() - self._read < self._refresh_seconds and self._first <= watermark:
                return
            read = 0
            while read < _CATCH_UP_LIMIT:
                with self._database.session(write=False) as session:
                    rows = events_service.events_after(session=session, after_id=self._last, limit=_PAGE)
                for event_id, user, product, event_type, value in rows:
                    self._remember(user, (event_id, product, event_type, value))
                if rows:
                    self._last = rows[-1][0]
                read += len(rows)
                if len(rows) < _PAGE:
                    break
            self._read = time.monotonic()

    def latest(self, user_id: str) -> int:
        """The id of the user's latest event followed here (0 if none): it changes with every
        new event of the user."""
        events = self._users.get(user_id)
        return events[-1][0] if events else 0

    def since(self, user_id: str, watermark: int) -> Iterator[tuple[str, str, float | None]]:
        """The user's events after `watermark`, oldest first: (product id, type, value)."""
        events = self._users.get(user_id)
        if not events:
            return
        for event_id, product, event_type, value in list(events):
            if event_id > watermark:
                yield product, event_type, value

    def _remember(self, user: str, event: tuple) -> None:
        events = self._users.get(user)
        if events is None:
            events = self._users[user] = deque(maxlen=_PER_USER)
            if len(self._users) > _USERS:
                self._users.popitem(last=False)
        else:
            self._users.move_to_end(user)
        events.append(event)
