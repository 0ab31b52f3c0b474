"""What the experiments' API tests share: bodies, and reading exposures."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from relevo.core.db import Database
from relevo.exposures.models import Exposure

SEED_BODY = {
    "experiment_id": "rec_test_v1",
    "name": "Recommendation Algorithm Test",
    "variants": [
        {"name": "control", "config": {"algorithm": "collaborative"}},
        {"name": "treatment", "config": {"algorithm": "deep_learning"}},
    ],
    "traffic_allocation": {"control": 0.5, "treatment": 0.5},
    "success_metrics": ["click_through_rate", "conversion_rate"],
    "start_date": "2024-01-01T00:00:00Z",
    "end_date": "2024-01-14T23:59:59Z",
    "minimum_sample_size": 1000,
}


def running_body(experiment_id: str = "exp-1", **changes: Any) -> dict[str, Any]:
    """An experiment between yesterday and next week: the serving model against the popular
    model."""
    now = datetime.now(UTC)
    body = {
        "experiment_id": experiment_id,
        "name": "Hybrid against popularity",
        "variants": [
            {"name": "control", "config": {"model": "default"}},
            {"name": "treatment", "config": {"model": "popular-model"}},
        ],
        "traffic_allocation": {"control": 0.5, "treatment": 0.5},
        "success_metrics": ["click_through_rate", "revenue_per_user"],
        "start_date": (now - timedelta(days=1)).isoformat(),
        "end_date": (now + timedelta(days=7)).isoformat(),
        "minimum_sample_size": 5,
    }
    return {**body, **changes}


def create(client: TestClient, headers: dict, body: dict, **params: Any) -> dict[str, Any]:
    response = client.post("/api/v1/experiments", json=body, params=params, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def exposures(app: FastAPI, database: Database, experiment_id: str) -> list[Exposure]:
    app.state.exposures.flush()
    with database.session(write=False) as session:
        query = select(Exposure).where(Exposure.experiment_id == experiment_id).order_by(Exposure.id)
        return list(session.scalars(query))
