"""Where the rate limits count: in this process's memory, or in Redis, where every replica
shares the counts. Both through the `limits` library's sliding window counter: two counters
per limit (this window's and the last one's, weighed by how much of it still overlaps the
sliding window), so each check costs the same whatever the quota, where a moving window keeps
one entry per request allowed.
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio
from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter as AsyncSlidingWindow
from limits.errors import StorageError
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter as SlidingWindow

# A Redis that takes longer than this to count a request is taken as unreachable: the request
# goes through unlimited (ratelimits/limiter.py) rather than waiting on it.
_DEADLINE_SECONDS = 1.0


@dataclass(frozen=True)
class Count:
    """One request counted against one limit."""

    allowed: bool  # whether the limit had room for it (a refused request is not counted)
    remaining: int  # requests the limit has room for now
    reset_seconds: float  # until the limit has room for one more than `remaining`


class Counters(Protocol):
    async def hit(self, rate: RateLimitItem, *identifiers: str) -> Count: ...

    async def close(self) -> None: ...


class SweptMemoryStorage(MemoryStorage):
    """The library's memory storage, less the thread it starts to drop expired counters 10 ms
    after any hit when none is running: under load that is a hundred thread starts a second,
    each stalling the event loop until the new thread runs (a third of a millisecond on a busy
    host, a tenth of the time a kept answer takes). A counter read after it expired is dropped
    then, as the storage always does, and the others by `sweep`."""

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (the storage's private hook)
        """Never: MemoryCounters sweeps (tests/ratelimits/test_counters.py holds the library to it)."""

    def sweep(self) -> None:
        for key in list(self.expirations):
            self.get(key)  # drops the counter if it has expired


class MemoryCounters:
    """This process's counters. The library's synchronous memory storage, called on the event
    loop (it does no I/O; its asyncio twin looks through every counter at every hit, a cost
    that grows with the number of callers), swept every SWEEP_SECONDS from the loop."""

    SWEEP_SECONDS = 30.0

    def __init__(self) -> None:
        self.storage = SweptMemoryStorage()
        self._limiter = SlidingWindow(self.storage)
        self._sweeps: asyncio.TimerHandle | None = None

    async def hit(self, rate: RateLimitItem, *identifiers: str) -> Count:
        if self._sweeps is None:
            self._sweep()
        allowed = self._limiter.hit(rate, *identifiers)
        stats = self._limiter.get_window_stats(rate, *identifiers)
        return Count(allowed, stats.remaining, stats.reset_time - time.time())

    async def close(self) -> None:
        """The counts go with the process; only the sweeps stop."""
        if self._sweeps is not None:
            self._sweeps.cancel()

    def _sweep(self) -> None:
        self.storage.sweep()
        self._sweeps = asyncio.get_running_loop().call_later(self.SWEEP_SECONDS, self._sweep)


class RedisCounters:
    """Counters in Redis, shared by every replica. The library's asyncio API over redis-py's
    asyncio client: each call is one round trip (a Lua script), and a check takes two, one to
    count and one to read what is left, as the library has no call that does both.

    One deadline covers the whole check, rather than redis-py's timeout on each socket
    operation, which costs a task per command sent (a fifth of a check's time)."""

    def __init__(self, url: str, prefix: str) -> None:
        self._pool = redis.asyncio.ConnectionPool.from_url(
            url, socket_timeout=None, socket_connect_timeout=_DEADLINE_SECONDS
        )
        uri = "async+redis+unix://" + url.removeprefix("unix://") if url.startswith("unix://") else f"async+{url}"
        storage = RedisStorage(
            uri, implementation="redispy", key_prefix=prefix, connection_pool=self._pool, wrap_exceptions=True
        )
        self._limiter = AsyncSlidingWindow(storage)

    async def hit(self, rate: RateLimitItem, *identifiers: str) -> Count:
        try:
            async with asyncio.timeout(_DEADLINE_SECONDS):
                allowed = await self._limiter.hit(rate, *identifiers)
                stats = await self._limiter.get_window_stats(rate, *identifiers)
        except TimeoutError as slow:
            raise StorageError(slow) from slow
        return Count(allowed, stats.remaining, stats.reset_time - time.time())

    async def close(self) -> None:
        await self._pool.disconnect()


def open_counters(storage: str, prefix: str) -> Counters:
    """`storage`: "memory" or a Redis URL (settings.resolved_rate_limit_storage)."""
    return MemoryCounters() if storage == "memory" else RedisCounters(storage, prefix)
