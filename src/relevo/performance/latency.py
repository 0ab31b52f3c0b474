"""Latency histograms: the buckets request times are counted in, and percentiles read back
from buckets merged over minutes (and processes), as Prometheus' histogram_quantile reads them."""

import bisect
from collections.abc import Mapping

# Upper bounds in microseconds, each 1.25 times the one below, from 0.1 ms to about 127 s: a
# percentile read from them is off by at most a bucket's width, a fifth of the figure, and
# usually by much less. A time above the last bound is counted in the last bucket.
BOUNDS_US: tuple[int, ...] = tuple(round(100 * 1.25**power) for power in range(64))
_LOWER_US = dict(zip(BOUNDS_US, (0, *BOUNDS_US[:-1]), strict=True))  # each bucket's lower bound


def bound_of(seconds: float) -> int:
    """The upper bound (µs) of the bucket a time falls in."""
    index = bisect.bisect_left(BOUNDS_US, seconds * 1_000_000)
    return BOUNDS_US[min(index, len(BOUNDS_US) - 1)]


def percentile(counts: Mapping[int, int], share: float) -> float | None:
    """The time (ms) below which `share` (0..1) of the requests fell, from how many fell in
    each bucket (keyed by its upper bound, µs): found inside its bucket by linear
    interpolation between the bucket's bounds, as if its requests were spread evenly across
    it. None when nothing was counted."""
    total = sum(counts.values())
    if total == 0:
        return None
    rank = share * total
    below = 0
    for bound in sorted(counts):
        count = counts[bound]
        if count and below + count >= rank:
            lower = _LOWER_US[bound]
            return (lower + (bound - lower) * (rank - below) / count) / 1000
        below += count
    return max(counts) / 1000
