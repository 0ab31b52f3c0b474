"""The SmartCommerce API's performance metrics against known traffic: N answers served to a
person, M clicks attributed to them, requests counted and timed; the same figures whichever of
two server processes answered (two apps on one database), and nothing but experiments' answers
recorded with RELEVO_ONLINE_METRICS off."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.exposures.models import Exposure
from relevo.performance.models import RequestStatistic
from relevo.performance.requests import NOT_COUNTED
from relevo.server.app import create_app
from tests.experiments.experiment_api import create, running_body
from tests.recommend.shop import DemoShop, recommend, train

PERFORMANCE = "/api/performance-metrics/"


@pytest.fixture
def known_users(shop: DemoShop) -> list[str]:
    """Users the model learned, without events since: their answers are their own, not shared."""
    return sorted({event.user_id for event in shop.events})[:4]


@pytest.fixture
def second_app(settings: Settings, database: Database, trained: dict) -> Iterator[FastAPI]:
    """Another server process on the same database, started after training: only the test's
    own traffic goes through it."""
    yield create_app(settings, database=database)


def figures(client: TestClient, headers: dict) -> dict[str, Any]:
    response = client.get(PERFORMANCE, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def click(client: TestClient, headers: dict, user: str, product: str, kind: str = "click", **fields: Any) -> None:
    event = {"user_id": user, "product_id": product, "event_type": kind, **fields}
    assert client.post("/api/v1/events", json=event, headers=headers).status_code == 201


def latency_sums(client: TestClient) -> tuple[float, float]:
    """Prometheus' total seconds and count of the requests the statistics count (not probes)."""
    total = count = 0.0
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.labels.get("route") in NOT_COUNTED:
                continue
            if sample.name == "relevo_http_request_duration_seconds_sum":
                total += sample.value
            elif sample.name == "relevo_http_request_duration_seconds_count":
                count += sample.value
    return total, count


def test_each_figure_against_known_traffic(
    second_app: FastAPI, admin_headers: dict, session: Session, known_users: list[str]
) -> None:
    first, second, third, fourth = known_users
    # Shown two hours ago: in the day's figures, not the last hour's.
    earlier = Exposure(
        recommendation_id="earlier-answer",
        user_id="earlier-shopper",
        items=["P000001", "P000002"],
        route="canonical",
        source="model",
        fallback=False,
        shown_at=utcnow() - timedelta(hours=2),
    )
    session.add(earlier)
    session.commit()
    with TestClient(second_app) as client:
        seconds_before, requests_before = latency_sums(client)
        answers = {
            "canonical": recommend(client, first, count=5),
            "again": recommend(client, first, count=5),  # the same question: the kept answer
            "smartcommerce": client.get(f"/api/recommendations/{second}/", params={"count": 5}).json(),
            "background_jobs": client.get(f"/recommendations/{third}", params={"count": 5}).json(),
            "purchases": client.get("/recommendations", params={"user_id": fourth}).json(),
        }
        canonical = [item["product_id"] for item in answers["canonical"]["items"]]
        smartcommerce = [str(item["product_id"]) for item in answers["smartcommerce"]["recommendations"]]
        background_jobs = [item["product_id"] for item in answers["background_jobs"]]
        not_shown = next(f"P{number:06d}" for number in range(1, 200) if f"P{number:06d}" not in background_jobs)
        # Attributed: by the answer's id (whatever the product), within the window on a product
        # shown, and two hours late on the earlier answer's product.
        click(client, admin_headers, first, not_shown, recommendation_id=answers["canonical"]["recommendation_id"])
        click(client, admin_headers, second, smartcommerce[2])
        click(client, admin_headers, "earlier-shopper", "P000002")
        # Not attributed: a product not shown, a shopper never served, and not a click.
        click(client, admin_headers, third, not_shown)
        click(client, admin_headers, "never-served", canonical[0])
        click(client, admin_headers, third, background_jobs[0], kind="add_to_cart")
        seconds_after, requests_after = latency_sums(client)

        found = figures(client, admin_headers)

    assert found["realtime"] == {"recommendations_served_last_hour": 5, "clicks_last_hour": 2, "ctr_last_hour": 2 / 5}
    assert found["daily"] == {"recommendations_served": 6, "recommendation_clicks": 3, "click_through_rate": 3 / 6}
    performance = found["performance"]
    # 5 answers and 6 events; the /metrics scrapes are not the shop's traffic.
    assert performance["total_requests"] == 11 == requests_after - requests_before
    assert performance["average_latency_ms"] == pytest.approx(1000 * (seconds_after - seconds_before) / 11, rel=1e-6)
    assert performance["cache_hit_rate"] == 1 / 5
    assert performance["active_users"] == 5  # four shoppers now, one two hours ago


def test_figures_are_every_process_s(
    app: FastAPI, client: TestClient, second_app: FastAPI, admin_headers: dict, known_users: list[str]
) -> None:
    with TestClient(second_app) as second:
        for user in known_users[:2]:
            recommend(client, user)
        for user in known_users[2:]:
            recommend(second, user)
        answer = recommend(second, known_users[3])  # kept
        product = answer["items"][0]["product_id"]
        click(client, admin_headers, known_users[3], product)
        # The first process writes within a second; here, as it would then.
        app.state.exposures.flush()
        app.state.request_statistics.flush()

        from_second = figures(second, admin_headers)
        second_app.state.request_statistics.flush()
        from_first = figures(client, admin_headers)

    assert from_second["daily"] == {"recommendations_served": 5, "recommendation_clicks": 1, "click_through_rate": 0.2}
    assert from_second["performance"]["active_users"] == 4
    # Either process reads the same figures; the first one's also counts the second's read.
    assert from_first["daily"] == from_second["daily"]
    assert from_first["performance"]["total_requests"] == from_second["performance"]["total_requests"] + 1
    assert from_first["performance"]["cache_hit_rate"] == from_second["performance"]["cache_hit_rate"]


def test_with_online_metrics_off_only_experiments_answers_are_recorded(
    settings: Settings, database: Database, trained: dict, admin_headers: dict, client: TestClient, session: Session
) -> None:
    train(client, admin_headers, name="popular-model", algorithm="popular")
    create(client, admin_headers, running_body())  # a draft: it serves nobody yet
    off = create_app(settings.model_copy(update={"online_metrics": False}), database=database)
    with TestClient(off) as server:
        recommend(server, "outside")
        assert server.post("/api/v1/experiments/exp-1/start", headers=admin_headers).status_code == 200
        inside = recommend(server, "inside")  # every user is in the running experiment
        found = figures(server, admin_headers)

    assert off.state.request_statistics is None
    assert session.scalar(select(func.count()).select_from(RequestStatistic)) == 0
    recorded = session.execute(select(Exposure.user_id, Exposure.experiment_id)).all()
    assert recorded == [("inside", "exp-1")]
    assert inside["experiment"]["id"] == "exp-1"
    assert found["daily"]["recommendations_served"] == 1
    assert found["performance"]["total_requests"] == 0
