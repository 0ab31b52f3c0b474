"""Request statistics: each process adds up its requests per minute, route and latency bucket
and adds them into shared rows; the rows of minutes past the retention are deleted."""

from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import func, select

from relevo import migrations
from relevo.core.db import Database, utcnow
from relevo.performance.latency import BOUNDS_US, bound_of, percentile
from relevo.performance.models import RequestStatistic
from relevo.performance.requests import RequestStatistics
from tests.served import wait_until


def added_up(database: Database) -> dict[tuple[str, int], list[float]]:
    """Per route and latency bound, the counts of every minute added up."""
    found: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0.0])
    with database.session(write=False) as session:
        for row in session.scalars(select(RequestStatistic)):
            counts = found[row.route, row.latency_bound_us]
            for index, value in enumerate((row.requests, row.errors, row.answers, row.cache_hits, row.latency_ms)):
                counts[index] += value
    return dict(found)


def test_two_processes_add_into_the_same_rows(database: Database) -> None:
    for process in (RequestStatistics(database), RequestStatistics(database)):
        process.observe("GET /api/v1/popular", 200, 0.0012, "cache")
        process.observe("GET /api/v1/popular", 200, 0.0012, "model")
        process.observe("GET /api/v1/popular", 503, 0.5, None)
        process.flush()

    assert added_up(database) == {
        ("GET /api/v1/popular", bound_of(0.0012)): [4, 0, 4, 2, pytest.approx(4 * 1.2)],
        ("GET /api/v1/popular", bound_of(0.5)): [2, 2, 0, 0, pytest.approx(2 * 500.0)],
    }


def test_rows_past_the_retention_are_deleted(database: Database) -> None:
    now = utcnow().replace(second=0, microsecond=0)
    with database.transaction() as session:
        for age in (timedelta(days=31), timedelta(days=29)):
            session.add(RequestStatistic(minute=now - age, route="GET /x", latency_bound_us=100, requests=1))

    RequestStatistics(database, retention_days=30).prune()

    with database.session(write=False) as session:
        assert list(session.scalars(select(RequestStatistic.minute))) == [now - timedelta(days=29)]


@pytest.fixture
def own_database(empty_database_url: str) -> Iterator[Database]:
    """A database with an engine of its own, as a server has (not one shared connection)."""
    database = Database(empty_database_url)
    migrations.upgrade(database.engine)
    yield database
    database.dispose()


def test_a_process_writes_its_counts_by_itself(own_database: Database) -> None:
    statistics = RequestStatistics(own_database)
    statistics.observe("GET /api/v1/popular", 200, 0.003, None)

    def written() -> int:
        with own_database.session(write=False) as session:
            return session.scalar(select(func.coalesce(func.sum(RequestStatistic.requests), 0)))

    wait_until(lambda: written() == 1, seconds=10, what="the request statistics written")
    statistics.observe("GET /api/v1/popular", 200, 0.003, None)
    statistics.close()  # writes what is left
    assert written() == 2


def test_a_time_falls_in_the_bucket_up_to_its_bound() -> None:
    assert bound_of(0) == BOUNDS_US[0] == 100
    assert bound_of(BOUNDS_US[5] / 1e6) == BOUNDS_US[5]
    assert bound_of(BOUNDS_US[5] / 1e6 + 1e-6) == BOUNDS_US[6]
    assert bound_of(3600) == BOUNDS_US[-1]  # beyond the last bound: counted in the last bucket
    assert all(high / low == pytest.approx(1.25, abs=0.01) for low, high in pairwise(BOUNDS_US[8:]))


def test_a_percentile_interpolates_inside_its_bucket() -> None:
    low, high = BOUNDS_US[3], BOUNDS_US[4]
    # Four requests in the bucket above `low`: the median is halfway through it.
    assert percentile({high: 4}, 0.5) == pytest.approx((low + (high - low) / 2) / 1000)
    # One fast request, three in a slower bucket: the fastest quarter ends at the first's bound.
    assert percentile({BOUNDS_US[0]: 1, high: 3}, 0.25) == pytest.approx(BOUNDS_US[0] / 1000)
    assert percentile({BOUNDS_US[0]: 1, high: 3}, 1.0) == pytest.approx(high / 1000)
    assert percentile({}, 0.5) is None
    assert percentile({high: 0}, 0.5) is None
