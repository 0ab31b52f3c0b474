"""Bounded training: settings past their bounds are refused naming the field, a training that
would not fit in memory is refused with the estimate (by the API, and by the job on the
machine that runs it); nothing is created for a refused training."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.engine.algorithms import recommender_class
from relevo.engine.memory import training_bytes
from relevo.job_kinds import HANDLERS
from relevo.jobs import runner
from relevo.jobs.models import Job
from relevo.registry import service as registry_service
from relevo.registry import sizing
from relevo.registry.models import ModelVersion
from tests.errors import assert_error, assert_error_mentioning
from tests.recommend.shop import DemoShop

TRAIN = "/api/v1/models/default/train"
LARGE = {"algorithm": "als", "config": {"embedding_dim": 1024}}
MIB = 2**20


def memory_between_small_and_large(session: Session, settings: Settings) -> int:
    """MiB in which popularity fits and a 1,024-factor ALS does not, on the data stored now
    (its estimated size depends on the ids the database has handed out)."""
    size = sizing.data_size(session=session)

    def needs(algorithm: str, config: dict) -> int:
        engine_config = recommender_class(algorithm).make_config(config)
        return training_bytes(algorithm, engine_config, size, ranked_ahead=settings.precompute_count)

    small, large = needs("popular", {}), needs(LARGE["algorithm"], LARGE["config"])
    assert large - small > 2 * MIB
    return small // MIB + 1


def created(session: Session) -> tuple[int, int]:
    return session.scalar(select(func.count()).select_from(ModelVersion)), session.scalar(
        select(func.count()).select_from(Job)
    )


def test_settings_past_their_bounds_are_refused_naming_the_field(
    client: TestClient, admin_headers: dict, session: Session
) -> None:
    post = lambda body: client.post(TRAIN, json=body, headers=admin_headers)  # noqa: E731

    assert_error_mentioning(post({"algorithm": "als", "config": {"epochs": 1001}}), 400, "config.epochs: at most 1000")
    assert_error_mentioning(post({"algorithm": "bpr", "config": {"embedding_dim": 2048}}), 400, "config.embedding_dim")
    assert_error_mentioning(post({"algorithm": "item_knn", "config": {"neighbours": 10**6}}), 400, "config.neighbours")
    hybrid = {"algorithm": "hybrid", "config": {"components": {"als": {"epochs": 10**4}}}}
    assert_error_mentioning(post(hybrid), 400, "config.components.als.epochs: at most 1000")
    assert_error_mentioning(post({"algorithm": "als", "config": {"epochs": 2.5}}), 400, "whole number")
    smartcommerce = client.post("/api/enhanced-train/", json={"config": {"epochs": 5000}}, headers=admin_headers)
    assert_error_mentioning(smartcommerce, 422, "epochs")
    assert created(session) == (0, 0)


def test_a_training_that_would_not_fit_in_memory_is_refused_with_the_estimate(
    client: TestClient, admin_headers: dict, settings: Settings, session: Session, shop: DemoShop
) -> None:
    settings.train_memory_mb = memory_between_small_and_large(session, settings)

    details = assert_error(client.post(TRAIN, json=LARGE, headers=admin_headers), 422, "Too large")

    assert "needs about" in details and f"of memory, more than the {settings.train_memory_mb} MiB" in details, details
    assert created(session) == (0, 0)
    assert client.post(TRAIN, json={"algorithm": "popular"}, headers=admin_headers).status_code == 202


def test_the_job_checks_again_on_the_machine_that_runs_it(
    settings: Settings, database: Database, session: Session, shop: DemoShop
) -> None:
    version, job = registry_service.start_training(
        session=session,
        settings=settings,
        name="default",
        algorithm="als",
        config=LARGE["config"],
        params={},
        created_by=None,
    )
    session.commit()
    # The worker that takes the job has less to spare.
    settings.train_memory_mb = memory_between_small_and_large(session, settings)

    runner.run(database, settings, job.id, handlers=HANDLERS)

    session.expire_all()
    assert session.get(Job, job.id).status == "failed" and "needs about" in session.get(Job, job.id).error
    assert session.get(ModelVersion, version.id).status == "failed"


@pytest.mark.parametrize("path", ["/api/v1/models/default/train", "/api/enhanced-train/"])
def test_a_training_on_datasets_that_do_not_exist_is_refused_at_once(
    client: TestClient, admin_headers: dict, path: str
) -> None:
    response = client.post(
        path, json={"algorithm": "popular", "dataset_ids": [999_999, 888_888]}, headers=admin_headers
    )

    assert response.status_code == 400, response.text
    assert response.json()["details"] == "dataset_ids: no dataset has the id 888888, 999999"
    assert client.get("/api/v1/jobs", headers=admin_headers).json() == []
