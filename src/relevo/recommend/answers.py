"""Answers computed lately, kept for the same question: the same user, model version, catalog
snapshot, options, and the same events of the user since training. A new event of the user, a
deploy or a catalog change makes a new question, so a kept answer is never staler than those;
its age is bounded besides, and so is how many are kept."""

import threading
from collections.abc import Hashable
from typing import Any

from cachetools import TTLCache


class KeptAnswers:
    def __init__(self, size: int, seconds: float) -> None:
        self._kept: TTLCache | None = TTLCache(maxsize=size, ttl=seconds) if size > 0 and seconds > 0 else None
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        if self._kept is None:
            return None
        with self._lock:
            return self._kept.get(key)

    def put(self, key: Hashable, answer: Any) -> None:
        if self._kept is None:
            return
        with self._lock:
            self._kept[key] = answer
