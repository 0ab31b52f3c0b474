"""Answers computed lately, kept for the same question: the same user, model version, catalog
snapshot, options, and the same events of the user since training. A new event of the user, a
deploy or a catalog refresh changes the question, so a kept answer is never stale by more than
those already are; `seconds` bounds its age besides."""

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class Answers:
    def __init__(self, size: int, seconds: float) -> None:
        self._size = size
        self._seconds = seconds
        self._kept: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self._size > 0 and self._seconds > 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            found = self._kept.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._kept[key]
                return None
            self._kept.move_to_end(key)
            return found[1]

    def put(self, key: Hashable, answer: Any) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._kept[key] = (time.monotonic() + self._seconds, answer)
            self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
