"""When a request is tried again: which answers, how long to wait, and when to give up.

The rule:
- 429 and 503 are retried for every method: the server refused the request before doing it.
- A connection error (no answer) is retried only for an idempotent call: GET, PUT, DELETE, or
  a POST of events that each carry an `event_id` (the server stores an event_id once). Any
  other POST is never sent twice, since the first one may have been done.
- The wait is the answer's Retry-After (seconds or an HTTP date) when it has one, else an
  exponential backoff with jitter; the call gives up after `attempts` tries, or as soon as
  the next wait would take the waits past `max_wait` seconds in all.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRIED_STATUSES = frozenset({429, 503})


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The Retry-After header in seconds from now, or None when absent or unreadable."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a client retries; `RetryPolicy(attempts=1)` never retries."""

    attempts: int = 4  # tries in all, the first included
    backoff: float = 0.5  # seconds before the second try; doubled for each further one
    max_backoff: float = 10.0  # the longest backoff between two tries
    max_wait: float = 30.0  # the most seconds spent waiting in all, Retry-After included
    jitter: bool = True  # spread clients retrying together: each backoff is 50-100% of its length

    def backoff_before(self, attempt: int) -> float:
        """The backoff before try `attempt + 1` when the answer gave no Retry-After."""
        length = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return length * (0.5 + random.random() / 2) if self.jitter else length

    def wait_after(self, *, attempt: int, waited: float, retry_after: float | None) -> float | None:
        """Seconds to wait before the next try, or None to give up."""
        if attempt >= self.attempts:
            return None
        wait = retry_after if retry_after is not None else self.backoff_before(attempt)
        return None if waited + wait > self.max_wait else wait
