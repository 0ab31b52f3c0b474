"""Whether a shopper may have events newer than a model, known without asking the database.

Serving reads a user's events since the model's training on every request, so that an event
answered 2xx counts in the very next answer on any process. Most users have none, and this
signal spares them the query: for each bucket of users (a hash of the shop's user id), the
newest event id stored for any of them. The event service raises it after every commit that
stores events, before the request is answered; a reader that finds its user's bucket at or
below the model's watermark knows the user has nothing newer, and one that finds the value it
saw at its last read knows nothing changed since.

On SQLite every process is on one machine (the database is a local file), so the signal is a
file beside the database, mapped into each process's memory: reading it costs no system call.
Writers raise buckets under a lock and never lower them, so values only grow. Elsewhere
(PostgreSQL, whose servers may be on many machines) there is no signal and serving asks the
database each time.
"""

import fcntl
import mmap
import os
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cachetools import LRUCache
from sqlalchemy.engine import URL

_MAGIC = b"RLVEVSG1"
_BUCKETS = 1 << 18  # 2 MiB: collisions (a bucket shared with an active user) cost a query, no more
_HEADER = 16  # magic, then the bucket count


class SharedFileSignal:
    def __init__(self, path: Path, newest_event: Callable[[], int]) -> None:
        """Maps the file at `path`, creating it when missing with every bucket at
        `newest_event()` (so events stored before the file existed are never missed)."""
        self._path = path
        size = _HEADER + 8 * _BUCKETS
        with _locked(path) as fd:
            if os.fstat(fd).st_size != size:
                os.ftruncate(fd, 0)
                newest = newest_event().to_bytes(8, "little", signed=True)
                os.write(fd, _MAGIC + _BUCKETS.to_bytes(8, "little") + newest * _BUCKETS)
            self._map = mmap.mmap(fd, size)  # the map keeps the file open for itself
        if self._map[: len(_MAGIC)] != _MAGIC:
            raise ValueError(f"{path} is not an event signal file")
        self._buckets = memoryview(self._map)[_HEADER:].cast("q")

    def latest(self, user_id: str) -> int:
        """At least the newest event id stored for any user of this user's bucket; higher after
        every publish for the bucket."""
        return self._buckets[_bucket(user_id)]

    def publish(self, user_ids: Iterable[str], event_id: int) -> None:
        """After a commit that stored events of these users: the newest event id it saw. Each
        bucket goes up even when that id is not above it: SQLite hands out an id again once the
        rows holding the highest ones are gone (a shopper erased, a transaction rolled back),
        and a reader that kept what it read at the old value must still see a change."""
        buckets = {_bucket(user) for user in user_ids}
        with _locked(self._path):
            for bucket in buckets:
                self._buckets[bucket] = max(self._buckets[bucket] + 1, event_id)


def _bucket(user_id: str) -> int:
    return zlib.crc32(user_id.encode()) & (_BUCKETS - 1)


@contextmanager
def _locked(path: Path) -> Iterator[int]:
    """The file, open and locked against every other process's writers."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        # Unlocked by hand: a map made of the file meanwhile holds a copy of the descriptor,
        # which would keep the lock past the close.
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# One per database file in a process; tests open many databases, so few are kept.
_opened: LRUCache[str, SharedFileSignal] = LRUCache(maxsize=16)
_opening = threading.Lock()


def signal_for(url: URL, newest_event: Callable[[], int]) -> SharedFileSignal | None:
    """The signal of the database at `url` (one per database file and process); None where
    there is none (ask the database)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = str(Path(url.database).resolve()) + "-events-signal"
    with _opening:
        signal = _opened.get(path)
        if signal is None:
            signal = _opened[path] = SharedFileSignal(Path(path), newest_event)
        return signal
