"""Request statistics read back: per route and time bucket, requests, errors, the average time
to answer and its percentiles (from the latency buckets merged over the bucket's minutes and
every process), and the share of answers kept from an earlier request."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.orm import Session

from relevo.performance.latency import percentile
from relevo.performance.models import RequestStatistic
from relevo.performance.series import TOTAL

_COUNTS = ("requests", "errors", "answers", "cache_hits", "latency_ms")


@dataclass(frozen=True)
class Traffic:
    requests: int
    errors: int  # answered 5xx
    average_ms: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    answers: int  # requests that served a person recommendations
    cache_hit_rate: float | None  # the share of those answers kept from an earlier request


@dataclass
class TrafficSums:
    requests: int = 0
    errors: int = 0
    answers: int = 0
    cache_hits: int = 0
    latency_ms: float = 0.0
    histogram: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # bucket bound (µs) → requests

    def add(self, bound: int, requests: int, errors: int, answers: int, cache_hits: int, latency_ms: float) -> None:
        self.requests += requests
        self.errors += errors
        self.answers += answers
        self.cache_hits += cache_hits
        self.latency_ms += latency_ms
        self.histogram[bound] += requests

    def traffic(self) -> Traffic:
        return Traffic(
            requests=self.requests,
            errors=self.errors,
            average_ms=self.latency_ms / self.requests if self.requests else None,
            p50_ms=percentile(self.histogram, 0.50),
            p95_ms=percentile(self.histogram, 0.95),
            p99_ms=percentile(self.histogram, 0.99),
            answers=self.answers,
            cache_hit_rate=self.cache_hits / self.answers if self.answers else None,
        )


def by_route(
    *, session: Session, start: datetime, end: datetime, bucket_seconds: int
) -> dict[str, dict[int, TrafficSums]]:
    """Per route, per bucket number (the bucket's start in seconds since the epoch, divided by
    `bucket_seconds`) and TOTAL, the sums of the minutes from `start` to `end`. The database
    adds up the minutes of each bucket: a few rows per route and bucket come back."""
    number = _bucket_number(session, bucket_seconds)
    query = (
        select(
            RequestStatistic.route,
            number,
            RequestStatistic.latency_bound_us,
            *(func.sum(getattr(RequestStatistic, name)) for name in _COUNTS),
        )
        .where(RequestStatistic.minute >= start, RequestStatistic.minute < end)
        .group_by(RequestStatistic.route, number, RequestStatistic.latency_bound_us)
    )
    sums: dict[str, dict[int, TrafficSums]] = defaultdict(lambda: defaultdict(TrafficSums))
    for route, bucket, bound, *counts in session.execute(query):
        sums[route][int(bucket)].add(bound, *counts)
        sums[route][TOTAL].add(bound, *counts)
    return sums


def since(*, session: Session, start: datetime) -> TrafficSums:
    """Every route's requests from `start` on, added up (without the latency histogram)."""
    query = select(*(func.coalesce(func.sum(getattr(RequestStatistic, name)), 0) for name in _COUNTS)).where(
        RequestStatistic.minute >= start
    )
    requests, errors, answers, cache_hits, latency_ms = session.execute(query).one()
    return TrafficSums(int(requests), int(errors), int(answers), int(cache_hits), float(latency_ms))


def _bucket_number(session: Session, seconds: int) -> Any:
    """The SQL of a minute's bucket number: whole `seconds` since the epoch (UTC)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", RequestStatistic.minute) // seconds
    return cast(func.strftime("%s", RequestStatistic.minute), Integer) // seconds
