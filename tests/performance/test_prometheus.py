"""What /metrics says of answers, exposures, attributed clicks, jobs and deployed versions, in
one process (tests/performance/test_served_metrics.py runs several)."""

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.jobs.models import Job
from tests.recommend.shop import DemoShop, recommend, train


def samples(client: TestClient) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics: (name, labels) → value."""
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_answers_by_source_time_per_algorithm_and_exposures(
    client: TestClient, app: FastAPI, trained: dict, shop: DemoShop
) -> None:
    user = sorted({event.user_id for event in shop.events})[0]
    before = samples(client)

    recommend(client, user)
    recommend(client, user)  # the same question: the kept answer
    recommend(client, "never-seen-before")
    app.state.exposures.flush()
    after = samples(client)

    def added(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    answers = {
        source: added("relevo_answers_total", route="canonical", source=source)
        for source in ("cache", "ranked_ahead", "model", "fallback")
    }
    assert answers == {"cache": 1, "ranked_ahead": 1, "model": 0, "fallback": 1}
    assert added("relevo_answer_duration_seconds_count", route="canonical", algorithm="hybrid") == 3
    assert added("relevo_exposures_total", route="canonical") == 3


def test_jobs_and_deployed_versions_are_the_database_s(
    client: TestClient, admin_headers: dict, trained: dict, session: Session
) -> None:
    second = train(client, admin_headers, deploy="always")

    found = samples(client)

    assert value(found, "relevo_model_deployed_version", model="default") == second["version"] == 2
    completed = session.scalar(select(func.count()).select_from(Job).where(Job.status == "completed"))
    assert value(found, "relevo_jobs", kind="train", status="completed") == completed == 2
    assert value(found, "relevo_jobs", kind="generate", status="running") == 0


def test_clicks_that_name_their_answer_are_counted_once_stored(client: TestClient, admin_headers: dict) -> None:
    before = value(samples(client), "relevo_recommendation_clicks_total")
    named = {"user_id": "u1", "product_id": "p1", "event_type": "click", "recommendation_id": "r1"}
    events = [
        named | {"event_id": "click-1"},
        named | {"event_id": "click-1"},  # the same event again: stored once
        named,
        named | {"event_type": "view"},
        named | {"recommendation_id": None},
    ]

    response = client.post("/api/v1/events", json=events, headers=admin_headers)
    again = client.post("/api/v1/events", json=events[0], headers=admin_headers)

    assert response.json()["stored"] == 4 and again.json()["stored"] == 0
    assert value(samples(client), "relevo_recommendation_clicks_total") - before == 2
