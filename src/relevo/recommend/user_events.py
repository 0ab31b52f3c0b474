"""Each user's events since the deployed model's training, read when a request needs them, so
that an event answered 2xx counts in the very next answer, whichever process answers.

The database's signal (events.signal) says, without a query, whether a user can have events
newer than the model, and whether any arrived since this process last read the user's: most
users have none, and most requests therefore read nothing. Without a signal (PostgreSQL),
every request for a user reads that user's latest events: one indexed query."""

from relevo.core.caches import LockedCache
from relevo.core.db import Database
from relevo.events import service as events_service
from relevo.events.service import UserEvent
from relevo.events.signal import SharedFileSignal

PER_USER = 50  # latest events read per user
_USERS = 100_000  # users whose events read last are kept, with the signal's value at the time

UserEvents = tuple[UserEvent, ...]  # (event id, product id, type, value), oldest first


class EventsSinceTraining:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._signal_looked_up = False
        self._signal: SharedFileSignal | None = None
        # user → (the signal's value, the watermark, the events) when last read
        self._kept = LockedCache.lru(_USERS)

    def known(self, user_id: str, watermark: int) -> UserEvents | None:
        """The user's events after `watermark` when known without reading the database (none
        newer than it, or none since the last read); None when they must be read."""
        signal = self._signal if self._signal_looked_up else self._look_up_signal()
        if signal is None:
            return None
        latest = signal.latest(user_id)
        if latest <= watermark:
            return ()
        kept = self._kept.get(user_id)
        if kept is not None and kept[0] == latest and kept[1] == watermark:
            return kept[2]
        return None

    def read(self, user_id: str, watermark: int) -> UserEvents:
        """The user's latest events after `watermark`, from the database. Blocks: call from a
        thread, after `known` said None."""
        # The signal before the query: an event committed meanwhile raises it past this value.
        signal = self._signal if self._signal_looked_up else self._look_up_signal()
        latest = None if signal is None else signal.latest(user_id)
        with self._database.session(write=False) as session:
            events = tuple(
                events_service.user_events_after(session=session, user_id=user_id, after_id=watermark, limit=PER_USER)
            )
        if latest is not None:
            self._kept.put(user_id, (latest, watermark, events))
        return events

    def forget(self, user_id: str) -> None:
        """Drops what was read of the user (erased: the events kept here are gone)."""
        self._kept.discard(user_id)

    def _look_up_signal(self) -> SharedFileSignal | None:
        # On first use, not at start: the database may not be migrated yet when the app is made.
        with self._database.session(write=False) as session:
            self._signal = events_service.signal(session)
        self._signal_looked_up = True
        return self._signal

    def of(self, user_id: str, watermark: int) -> UserEvents:
        """The user's events after `watermark`, read if need be. Blocks."""
        known = self.known(user_id, watermark)
        return self.read(user_id, watermark) if known is None else known

    def of_many(self, user_ids: list[str], watermark: int) -> dict[str, UserEvents]:
        """The events after `watermark` of each of many users (those without any left out), in
        a few queries. Blocks."""
        found: dict[str, UserEvents] = {}
        unknown = []
        for user in user_ids:
            known = self.known(user, watermark)
            if known is None:
                unknown.append(user)
            elif known:
                found[user] = known
        if unknown:
            with self._database.session(write=False) as session:
                read = events_service.users_events_after(
                    session=session, user_ids=unknown, after_id=watermark, limit=PER_USER
                )
            found.update((user, tuple(events)) for user, events in read.items())
        return found
