"""GET /api/v1/metrics/online on hand-made exposures, events and request statistics: every
figure checked against values worked out here (the delta method's interval by its formula,
percentiles by interpolating in the merged latency buckets); the query's mistakes refused
naming the field."""

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from scipy import stats
from sqlalchemy import update
from sqlalchemy.orm import Session

from relevo.catalog import service as catalog_service
from relevo.catalog.models import Product
from relevo.core.db import utcnow
from relevo.events import service as events_service
from relevo.events.service import EventRow
from relevo.exposures.models import Exposure
from relevo.performance.latency import BOUNDS_US
from relevo.performance.models import RequestStatistic
from relevo.performance.service import MAX_BUCKETS
from tests.errors import assert_error_mentioning

ONLINE = "/api/v1/metrics/online"
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
RECOMMEND = "GET /api/v1/recommendations/{user_id}"


def delta_interval(clicks: list[int], exposures: list[int]) -> tuple[float, float, float]:
    """sum(x)/sum(n) over users with the delta method's 95% interval, by its formula."""
    x, n = np.array(clicks, dtype=float), np.array(exposures, dtype=float)
    ratio = x.sum() / n.sum()
    variance = (x.var(ddof=1) - 2 * ratio * np.cov(x, n)[0, 1] + ratio**2 * n.var(ddof=1)) / (len(x) * n.mean() ** 2)
    half = stats.norm.ppf(0.975) * np.sqrt(variance)
    return ratio, ratio - half, ratio + half


def iso(moment: datetime) -> str:
    return moment.isoformat() + "Z"


@pytest.fixture
def start() -> datetime:
    """Three whole hours that ended at least an hour ago."""
    return utcnow().replace(minute=0, second=0, microsecond=0) - 5 * HOUR


def shown(session: Session, start: datetime) -> None:
    catalog_service.ensure_ids(session=session, external_ids={f"P{number}" for number in range(1, 10)})

    def exposure(name: str, at: timedelta, user: str, items: list[str], **fields: Any) -> Exposure:
        served_by = {"model": "default", "model_version": 1, "source": "model", "fallback": False} | fields
        return Exposure(
            recommendation_id=name, user_id=user, items=items, route="canonical", shown_at=start + at, **served_by
        )

    later = {"model_version": 2, "experiment_id": "exp", "variant": "treatment"}
    session.add_all(
        [
            exposure("e0", -30 * MINUTE, "u2", ["P9"]),  # before the range: attributes, is not counted
            exposure("e1", 10 * MINUTE, "u1", ["P1", "P2"]),
            exposure("e2", 20 * MINUTE, "u1", ["P2", "P3"], source="cache"),
            exposure("e3", 30 * MINUTE, "u2", ["P1"], source="fallback", fallback=True),
            exposure("e3b", 35 * MINUTE, "u2", ["P7"]),
            exposure("e4", HOUR + 10 * MINUTE, "u3", ["P4"], source="ranked_ahead"),
            exposure("e5", 15 * MINUTE, "u4", ["P5", "P6"], **later),
            exposure("e6", 2 * HOUR + 5 * MINUTE, "u5", ["P1"], **later),
        ]
    )

    def event(user: str, product: str, kind: str, at: timedelta, value: float | None = None, answer: str | None = None):
        return EventRow(None, user, product, kind, value, None, None, None, answer, start + at)

    events_service.store_rows(
        session=session,
        rows=[
            event("u1", "P1", "click", 22 * MINUTE),  # e1: e2 does not show P1
            event("u1", "P2", "click", 25 * MINUTE),  # e2: the latest that showed P2
            event("u1", "P3", "purchase", 50 * MINUTE, value=30.0),  # e2
            event("u2", "P9", "click", 40 * MINUTE),  # e0, before the range
            event("u2", "P8", "click", HOUR + 5 * MINUTE, answer="e3"),  # e3, by its id
            event("u3", "P4", "add_to_cart", HOUR + 20 * MINUTE),  # e4
            event("u3", "P4", "purchase", HOUR + 30 * MINUTE),  # e4, at the product's price
            event("u4", "P6", "click", 16 * MINUTE),  # e5
            event("u5", "P1", "click", 2 * HOUR + 10 * MINUTE),  # e6
            event("u5", "P1", "click", 4 * HOUR),  # e6, after the range but within the window
            event("u6", "P1", "click", 30 * MINUTE),  # nobody showed u6 anything
        ],
    )
    session.execute(update(Product).where(Product.external_id == "P4").values(price=12.5))


def timed(session: Session, start: datetime) -> None:
    def row(at: timedelta, route: str, bound: int, requests: int, milliseconds: float, **counts: int):
        return RequestStatistic(
            minute=start + at,
            route=route,
            latency_bound_us=bound,
            requests=requests,
            latency_ms=milliseconds,
            **{"errors": 0, "answers": 0, "cache_hits": 0} | counts,
        )

    session.add_all(
        [
            row(-MINUTE, RECOMMEND, BOUNDS_US[10], 50, 40.0, answers=50),  # before the range
            row(MINUTE, RECOMMEND, BOUNDS_US[10], 10, 8.0, answers=10, cache_hits=4),
            row(2 * MINUTE, RECOMMEND, BOUNDS_US[11], 10, 11.0, answers=10),
            row(HOUR + 5 * MINUTE, RECOMMEND, BOUNDS_US[20], 1, 4.0, errors=1),
            row(2 * HOUR, "POST /api/v1/events", BOUNDS_US[5], 3, 1.2),
            row(3 * HOUR, "POST /api/v1/events", BOUNDS_US[5], 7, 1.0),  # at `to`: after the range
        ]
    )


@pytest.fixture
def answer(client: TestClient, admin_headers: dict, session: Session, start: datetime) -> dict[str, Any]:
    shown(session, start)
    timed(session, start)
    session.commit()
    response = client.get(ONLINE, params={"from": iso(start), "to": iso(start + 3 * HOUR)}, headers=admin_headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_series_of_each_model_version_and_variant(answer: dict, start: datetime) -> None:
    assert (answer["from"], answer["to"], answer["bucket"]) == (iso(start), iso(start + 3 * HOUR), "hour")
    assert answer["catalog_products"] == 9  # P1 to P9
    outside, inside = answer["series"]
    assert {key: outside[key] for key in ("model", "model_version", "experiment_id", "variant")} == {
        "model": "default",
        "model_version": 1,
        "experiment_id": None,
        "variant": None,
    }
    assert [point["start"] for point in outside["points"]] == [iso(start + hours * HOUR) for hours in range(3)]
    first, second, third = outside["points"]
    # e1, e2 (u1), e3, e3b (u2): u1 clicked twice and bought once, u2 once by e3's id.
    assert {key: first[key] for key in ("exposures", "users", "clicks", "add_to_carts", "purchases", "revenue")} == {
        "exposures": 4,
        "users": 2,
        "clicks": 3,
        "add_to_carts": 0,
        "purchases": 1,
        "revenue": 30.0,
    }
    value, low, high = delta_interval([2, 1], [2, 2])
    assert first["click_through_rate"] == {"value": value, "low": pytest.approx(low), "high": pytest.approx(high)}
    value, low, high = delta_interval([1, 0], [2, 2])
    assert first["conversion_rate"] == {"value": value, "low": pytest.approx(low), "high": pytest.approx(high)}
    assert (first["cache_hit_rate"], first["fallback_share"]) == (1 / 4, 1 / 4)
    assert first["catalog_coverage"] == 4 / 9  # P1, P2, P3, P7
    # e4 (u3): one user, so no interval; the purchase at the product's price.
    assert (second["exposures"], second["add_to_carts"], second["purchases"], second["revenue"]) == (1, 1, 1, 12.5)
    assert second["click_through_rate"] == {"value": 0.0, "low": None, "high": None}
    assert second["conversion_rate"] == {"value": 1.0, "low": None, "high": None}
    assert (second["cache_hit_rate"], second["catalog_coverage"]) == (0.0, 1 / 9)
    assert third == {
        "start": iso(start + 2 * HOUR),
        "exposures": 0,
        "users": 0,
        "clicks": 0,
        "add_to_carts": 0,
        "purchases": 0,
        "revenue": 0.0,
        "click_through_rate": None,
        "conversion_rate": None,
        "cache_hit_rate": None,
        "fallback_share": None,
        "catalog_coverage": 0.0,
    }
    total = outside["total"]
    assert (total["exposures"], total["users"], total["clicks"], total["purchases"]) == (5, 3, 3, 2)
    value, low, high = delta_interval([2, 1, 0], [2, 2, 1])
    assert total["click_through_rate"] == {"value": value, "low": pytest.approx(low), "high": pytest.approx(high)}
    assert total["catalog_coverage"] == 5 / 9
    # The experiment's variant: e5 clicked once, e6 twice (once after the range, within the window).
    assert (inside["model_version"], inside["experiment_id"], inside["variant"]) == (2, "exp", "treatment")
    assert [point["clicks"] for point in inside["points"]] == [1, 0, 2]
    assert [point["exposures"] for point in inside["points"]] == [1, 0, 1]


def test_latency_per_route_from_merged_buckets(answer: dict) -> None:
    recommendations, events = answer["routes"]
    assert recommendations["route"] == RECOMMEND
    first, second, third = recommendations["points"]
    upper, above = BOUNDS_US[10] / 1000, BOUNDS_US[11] / 1000
    assert (first["requests"], first["errors"], first["answers"]) == (20, 0, 20)
    assert first["average_ms"] == pytest.approx(19.0 / 20)
    # 10 requests in the bucket up to `upper`, 10 in the next: the median is that bucket's top.
    assert first["p50_ms"] == pytest.approx(upper)
    assert first["p95_ms"] == pytest.approx(upper + (above - upper) * 9 / 10)
    assert first["p99_ms"] == pytest.approx(upper + (above - upper) * 9.8 / 10)
    assert first["cache_hit_rate"] == 4 / 20
    one_slow = (BOUNDS_US[19] + (BOUNDS_US[20] - BOUNDS_US[19]) * 0.5) / 1000
    assert (second["requests"], second["errors"], second["p50_ms"]) == (1, 1, pytest.approx(one_slow))
    assert second["cache_hit_rate"] is None  # no answer to a person
    assert third["requests"] == 0 and third["p50_ms"] is None and third["average_ms"] is None
    assert recommendations["total"]["requests"] == 21
    assert recommendations["total"]["average_ms"] == pytest.approx(23.0 / 21)
    assert events["route"] == "POST /api/v1/events"
    assert [point["requests"] for point in events["points"]] == [0, 0, 3]


def test_model_and_variant_choose_the_series(
    client: TestClient, admin_headers: dict, session: Session, start: datetime
) -> None:
    shown(session, start)
    session.commit()
    params = {"from": iso(start), "to": iso(start + 3 * HOUR), "bucket": "day"}

    chosen = client.get(ONLINE, params=params | {"model": "default", "variant": "treatment"}, headers=admin_headers)
    nothing = client.get(ONLINE, params=params | {"model": "other"}, headers=admin_headers)

    [series] = chosen.json()["series"]
    assert series["variant"] == "treatment"
    assert series["total"]["exposures"] == 2 and series["total"]["clicks"] == 3
    # A day bucket holds the whole range (or two, when it spans midnight).
    assert sum(point["exposures"] for point in series["points"]) == 2
    assert nothing.json()["series"] == []


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"from": "yesterday"}, 422, "from"),
        ({"to": "2026-13-01T00:00:00Z"}, 422, "to"),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, 400, "from"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, 400, "from"),
        ({"bucket": "week"}, 422, "bucket"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2021-01-01T00:00:00Z"}, 400, "from"),
        ({"from": "1969-12-31T00:00:00Z", "bucket": "day"}, 400, "from"),
        ({"to": "2999-01-01T00:00:00Z"}, 400, "to"),
        ({"to": "0001-01-01T00:00:00Z"}, 400, "to"),
        ({"model": "no such model"}, 422, "model"),
    ],
)
def test_a_bad_query_is_refused_naming_the_field(
    client: TestClient, admin_headers: dict, params: dict, status: int, field: str
) -> None:
    assert_error_mentioning(client.get(ONLINE, params=params, headers=admin_headers), status, field)


def test_too_many_buckets_names_the_limit(client: TestClient, admin_headers: dict) -> None:
    params = {"from": "2020-01-01T00:00:00Z", "to": "2020-03-01T00:00:00Z"}

    details = assert_error_mentioning(client.get(ONLINE, params=params, headers=admin_headers), 400, "from")

    assert f"at most {MAX_BUCKETS}" in details and "1440 buckets" in details


def test_by_default_the_last_day_by_the_hour(client: TestClient, admin_headers: dict) -> None:
    answer = client.get(ONLINE, headers=admin_headers).json()

    end = datetime.fromisoformat(answer["to"].rstrip("Z"))
    assert datetime.fromisoformat(answer["from"].rstrip("Z")) == end - timedelta(days=1)
    assert answer["bucket"] == "hour" and abs(end - utcnow()) < timedelta(minutes=1)
    assert answer["series"] == [] and answer["routes"] == []
