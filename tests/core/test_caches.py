"""Every in-process cache is bounded: the entries used last are kept, up to the bound, and a
time to live drops old ones."""

import time

from relevo.core.caches import LockedCache


def test_a_cache_keeps_the_entries_used_last_up_to_its_bound() -> None:
    cache = LockedCache.lru(2)
    cache.put("first", 1)
    cache.put("second", 2)
    assert cache.get("first") == 1  # used: now the last one the bound gives up is "second"
    cache.put("third", 3)

    assert (cache.get("first"), cache.get("second"), cache.get("third"), len(cache)) == (1, None, 3, 2)


def test_entries_with_a_time_to_live_expire() -> None:
    cache = LockedCache.ttl(10, 0.05)
    cache.update({"question": 1})
    time.sleep(0.1)

    assert cache.get("question") is None
