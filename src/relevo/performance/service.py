"""Online metrics: what the shop's recommendations did, read from the database (exposures, the
outcomes attributed to them, request statistics), so the figures are those of every server
process on every machine. Two views: the SmartCommerce API's current figures, and the
canonical time series per model version and experiment variant."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from relevo.catalog import service as catalog_service
from relevo.core.errors import InvalidArgument
from relevo.exposures.attribution import Shown, attributed
from relevo.exposures.models import Exposure
from relevo.performance import traffic
from relevo.performance.series import TOTAL, Point, SeriesKey, Sums, added_up
from relevo.performance.traffic import Traffic, TrafficSums

Bucket = Literal["hour", "day"]
BUCKET_SECONDS: dict[str, int] = {"hour": 3600, "day": 86400}
DEFAULT_RANGE: dict[str, timedelta] = {"hour": timedelta(days=1), "day": timedelta(days=7)}
MAX_BUCKETS = 1000
_EPOCH = datetime(1970, 1, 1)
_LATEST_AHEAD = timedelta(days=1)  # how far ahead of now `to` may be
_DAY, _HOUR = timedelta(days=1), timedelta(hours=1)


@dataclass(frozen=True)
class CurrentFigures:
    """The SmartCommerce API's performance metrics (docs/api.md defines each)."""

    total_requests: int
    average_latency_ms: float
    cache_hit_rate: float
    active_users: int
    served_last_hour: int
    clicks_last_hour: int
    served_last_day: int
    clicks_last_day: int


def current(*, session: Session, now: datetime, attribution: timedelta) -> CurrentFigures:
    """The last 24 hours' requests (every route but probes and scrapes) and answers served to a
    person, the last hour's answers, and the clicks attributed to those answers."""
    day_ago, hour_ago = now - _DAY, now - _HOUR
    requests = traffic.since(session=session, start=day_ago)
    served_hour = clicks_hour = served_day = clicks_day = 0
    users = set()
    for shown in _attributed(session, start=day_ago, end=now, attribution=attribution):
        served_day += 1
        clicks_day += shown.click
        users.add(shown.user_id)
        if shown.shown_at >= hour_ago:
            served_hour += 1
            clicks_hour += shown.click
    return CurrentFigures(
        total_requests=requests.requests,
        average_latency_ms=requests.latency_ms / requests.requests if requests.requests else 0.0,
        cache_hit_rate=requests.cache_hits / requests.answers if requests.answers else 0.0,
        active_users=len(users),
        served_last_hour=served_hour,
        clicks_last_hour=clicks_hour,
        served_last_day=served_day,
        clicks_last_day=clicks_day,
    )


@dataclass(frozen=True)
class OnlineQuery:
    start: datetime  # naive UTC, included
    end: datetime  # naive UTC, excluded
    bucket: Bucket
    model: str | None = None  # only answers of this model (by name)
    variant: str | None = None  # only answers of this experiment variant

    @property
    def bucket_seconds(self) -> int:
        return BUCKET_SECONDS[self.bucket]

    def numbers(self) -> range:
        """The buckets' numbers (whole bucket lengths since the epoch, UTC): from the bucket
        holding `start` to the one holding the last instant before `end`."""
        size = self.bucket_seconds
        return range(_seconds(self.start) // size, -(-_seconds(self.end) // size))

    def start_of(self, number: int) -> datetime:
        return _EPOCH + timedelta(seconds=number * self.bucket_seconds)


def online_query(
    *,
    start: datetime | None,
    end: datetime | None,
    bucket: Bucket,
    model: str | None,
    variant: str | None,
    now: datetime,
) -> OnlineQuery:
    """The query as asked, its defaults filled in (to: now; from: a day before `to` by the
    hour, a week by the day); a range the wrong way round, out of bounds or of too many
    buckets is refused naming the field."""
    end = end or now
    if end > now + _LATEST_AHEAD:
        raise InvalidArgument(f"to: must be at most a day ahead of now ({now.isoformat()}Z)")
    if end <= _EPOCH:
        raise InvalidArgument("to: must be after 1970-01-01")
    start = start or max(end - DEFAULT_RANGE[bucket], _EPOCH)
    if start < _EPOCH:
        raise InvalidArgument("from: must be 1970-01-01 or later")
    if start >= end:
        raise InvalidArgument(f"from: must be before to ({start.isoformat()}Z is not before {end.isoformat()}Z)")
    query = OnlineQuery(start, end, bucket, model, variant)
    if len(query.numbers()) > MAX_BUCKETS:
        raise InvalidArgument(
            f"from: from {start.isoformat()}Z to {end.isoformat()}Z makes {len(query.numbers())} buckets "
            f"(bucket={bucket}); at most {MAX_BUCKETS}: narrow the range or take longer buckets"
        )
    return query


@dataclass(frozen=True)
class Series:
    key: SeriesKey
    total: Point  # over the whole range
    points: list[tuple[datetime, Point]]  # each bucket's start and figures, every bucket of the range


@dataclass(frozen=True)
class RouteSeries:
    route: str  # "GET /api/v1/recommendations/{user_id}"
    total: Traffic
    points: list[tuple[datetime, Traffic]]


@dataclass(frozen=True)
class OnlineMetrics:
    query: OnlineQuery
    attribution: timedelta
    catalog_products: int  # what coverage is a share of: the products offered now
    series: list[Series]
    routes: list[RouteSeries]


def online(*, session: Session, query: OnlineQuery, attribution: timedelta) -> OnlineMetrics:
    """The answers served from `query.start` to `query.end` and what they earned, per series
    and bucket; the requests to each route, per bucket (to the minute)."""
    size = query.bucket_seconds

    def chosen() -> Iterator[tuple[SeriesKey, int, Shown]]:
        for shown in _attributed(session, start=query.start, end=query.end, attribution=attribution):
            if (query.model is None or shown.model == query.model) and (
                query.variant is None or shown.variant == query.variant
            ):
                key = SeriesKey(shown.model, shown.model_version, shown.experiment_id, shown.variant)
                yield key, _seconds(shown.shown_at) // size, shown

    sums = added_up(chosen())
    catalog = catalog_service.count_offered(session=session)
    numbers = query.numbers()
    series = [
        Series(
            key,
            by_bucket[TOTAL].point(catalog),
            [(query.start_of(n), (by_bucket[n] if n in by_bucket else Sums()).point(catalog)) for n in numbers],
        )
        for key, by_bucket in sorted(sums.items(), key=lambda item: _order(item[0]))
    ]
    requests = traffic.by_route(session=session, start=query.start, end=query.end, bucket_seconds=size)
    routes = [
        RouteSeries(
            route,
            by_bucket[TOTAL].traffic(),
            [(query.start_of(n), (by_bucket[n] if n in by_bucket else TrafficSums()).traffic()) for n in numbers],
        )
        for route, by_bucket in sorted(requests.items())
    ]
    return OnlineMetrics(query, attribution, catalog, series, routes)


def _attributed(session: Session, *, start: datetime, end: datetime, attribution: timedelta) -> Iterator[Shown]:
    """The answers shown from `start` to `end`, each with the outcomes attributed to it. Every
    answer shown within the attribution window around the range takes part in attributing,
    so that an event counts for the answer it would count for whatever the range (the latest
    that showed the product, or the one it names); outcomes later than the window after `end`
    are left out, so that a past range's figures stay as they are."""
    where = [Exposure.shown_at >= start - attribution, Exposure.shown_at < end + attribution]
    for shown in attributed(session=session, where=where, window=attribution, until=end + attribution):
        if start <= shown.shown_at < end:
            yield shown


def _seconds(at: datetime) -> int:
    return int((at - _EPOCH).total_seconds())


def _order(key: SeriesKey) -> list[tuple[bool, str]]:
    """Series in order of model, version, experiment, variant; answers outside experiments first."""
    return [(part is not None, f"{part:>12}" if isinstance(part, int) else part or "") for part in key]
