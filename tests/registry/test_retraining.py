"""Periodic retraining: due after enough new events or enough time, with the deployed
version's algorithm and config, never twice at once."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.job_kinds import HANDLERS
from relevo.jobs.executor import LocalExecutor
from relevo.jobs.models import Job
from relevo.registry.models import ModelVersion
from relevo.registry.retraining import reason_to_retrain, retrain_if_due
from tests.recommend.shop import DemoShop, train


def post_views(client: TestClient, headers: dict, count: int) -> None:
    events = [{"user_id": f"new-{n}", "product_id": "P000001", "event_type": "view"} for n in range(count)]
    assert client.post("/api/v1/events", json=events, headers=headers).status_code < 300


def reason(database: Database, settings: Settings) -> str | None:
    with database.session(write=False) as session:
        return reason_to_retrain(session=session, settings=settings, name="default")


def test_nothing_is_due_when_retraining_is_off(
    client: TestClient, admin_headers: dict, trained: dict, database: Database, settings: Settings
) -> None:
    post_views(client, admin_headers, 50)
    assert reason(database, settings) is None


def test_enough_new_events_make_retraining_due(
    client: TestClient, admin_headers: dict, trained: dict, database: Database, settings: Settings
) -> None:
    settings = settings.model_copy(update={"retrain_min_new_events": 20})
    post_views(client, admin_headers, 19)
    assert reason(database, settings) is None

    post_views(client, admin_headers, 1)
    assert reason(database, settings) == "20 new events"


def test_an_old_training_makes_retraining_due(
    trained: dict, database: Database, settings: Settings, session: Session
) -> None:
    settings = settings.model_copy(update={"retrain_interval_minutes": 60})
    assert reason(database, settings) is None

    session.execute(update(ModelVersion).values(trained_at=utcnow() - timedelta(minutes=61)))
    session.commit()
    assert "60 minutes" in reason(database, settings)


def test_retraining_trains_the_deployed_algorithm_again_through_the_gate(
    client: TestClient, admin_headers: dict, shop: DemoShop, database: Database, settings: Settings
) -> None:
    train(client, admin_headers, algorithm="item_knn", config={"neighbours": 20})
    settings = settings.model_copy(update={"retrain_min_new_events": 5})
    post_views(client, admin_headers, 5)

    job_id = retrain_if_due(database, settings, LocalExecutor(database, settings, HANDLERS))

    assert job_id is not None
    job = client.get(f"/job-status/{job_id}", headers=admin_headers).json()
    assert job["status"] == "completed", job
    second = client.get("/api/v1/models/default/versions/2", headers=admin_headers).json()
    assert (second["algorithm"], second["config"]) == ("item_knn", {"neighbours": 20})
    assert second["status"] in ("deployed", "ready")
    assert reason(database, settings) is None  # the new version learned from those events
    assert retrain_if_due(database, settings, LocalExecutor(database, settings, HANDLERS)) is None


def test_no_second_training_starts_while_one_is_under_way(
    client: TestClient, admin_headers: dict, shop: DemoShop, database: Database, settings: Settings
) -> None:
    settings = settings.model_copy(update={"retrain_min_new_events": 1})
    started = client.post("/api/v1/models/default/train", json={"algorithm": "popular"}, headers=admin_headers)
    assert started.status_code == 202
    with database.transaction() as session:  # pretend it is still running
        session.execute(update(ModelVersion).values(status="training"))
        session.execute(update(Job).values(status="running"))
    assert reason(database, settings) is None
