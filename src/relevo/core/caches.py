"""Bounded in-process caches that many threads share: a cachetools cache (LRU, or LRU with a
time to live) behind a lock, as cachetools' own caches are not safe across threads. Every
cache a process keeps is one of these, its bound and its invalidation said where it is made."""

import threading
from collections.abc import Hashable, Mapping
from typing import Any

from cachetools import Cache, LRUCache, TTLCache


class LockedCache:
    def __init__(self, cache: Cache) -> None:
        self._cache = cache
        self._lock = threading.Lock()

    @classmethod
    def lru(cls, size: int) -> "LockedCache":
        """The `size` entries used last."""
        return cls(LRUCache(maxsize=size))

    @classmethod
    def ttl(cls, size: int, seconds: float) -> "LockedCache":
        """The `size` entries used last, each for `seconds` at most."""
        return cls(TTLCache(maxsize=size, ttl=seconds))

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            return self._cache.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._cache[key] = value

    def update(self, entries: Mapping[Hashable, Any]) -> None:
        with self._lock:
            self._cache.update(entries)

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._cache.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        return len(self._cache)
