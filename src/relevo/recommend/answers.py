"""Answers computed lately, kept for the same question: the same user, model version, catalog
snapshot, options, and the same events of the user since training. A new event of the user, a
deploy or a catalog change makes a new question, so a kept answer is never staler than those;
its age is bounded besides, and so is how many are kept."""

from collections.abc import Hashable
from typing import Any

from relevo.core.caches import LockedCache


class KeptAnswers:
    def __init__(self, size: int, seconds: float) -> None:
        self._kept = LockedCache.ttl(size, seconds) if size > 0 and seconds > 0 else None

    def get(self, key: Hashable) -> Any | None:
        return None if self._kept is None else self._kept.get(key)

    def put(self, key: Hashable, answer: Any) -> None:
        if self._kept is not None:
            self._kept.put(key, answer)
