"""The counters in memory: they start no thread as they count (the library's storage would, a
hundred times a second under load), and expired ones are swept."""

import asyncio
import threading
import time

import pytest
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from relevo.ratelimits.counters import MemoryCounters

RATE = parse("1000/minute")


@pytest.fixture
def threads_started(monkeypatch: pytest.MonkeyPatch) -> list[threading.Timer]:
    """The timers started from now on (each a thread)."""
    started: list[threading.Timer] = []
    real_timer = threading.Timer

    def recorded(*arguments: object, **options: object) -> threading.Timer:
        timer = real_timer(*arguments, **options)
        started.append(timer)
        return timer

    monkeypatch.setattr(threading, "Timer", recorded)
    return started


def test_memory_counters_start_no_thread_as_they_count(threads_started: list[threading.Timer]) -> None:
    counters, library = MemoryCounters(), MemoryStorage()
    for made in threads_started:  # the one each storage starts when made
        made.join()
    threads_started.clear()

    async def count() -> None:
        for n in range(100):
            await counters.hit(RATE, "api", f"address:{n % 7}")
        await counters.close()

    asyncio.run(count())
    assert threads_started == []
    SlidingWindowCounterRateLimiter(library).hit(RATE, "api", "address:1")  # the library's own storage
    assert len(threads_started) == 1  # so the test would see one of ours
    threads_started[0].join()


def test_expired_counters_are_swept_and_the_others_kept() -> None:
    counters = MemoryCounters()

    async def count() -> None:
        await counters.hit(RATE, "api", "address:gone")
        await counters.hit(RATE, "api", "address:here")
        await counters.close()

    asyncio.run(count())
    storage = counters.storage
    gone = [key for key in storage.expirations if "address:gone" in key]
    assert gone and len(storage.expirations) == 2 * len(gone)
    for key in gone:
        storage.expirations[key] = time.time() - 1

    storage.sweep()

    assert not any("address:gone" in key for key in storage.storage)
    assert not any("address:gone" in key for key in storage.expirations)
    assert any("address:here" in key for key in storage.storage)
