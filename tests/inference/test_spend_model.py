"""The built-in customer-spend model trained like the recommenders, through the train route:
a predictor version with holdout figures, deployed, answering inference."""

import random
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from relevo.core.db import utcnow
from relevo.demo import CUSTOMER_SPEND_MODEL
from relevo.events import service as events_service
from tests.errors import assert_error_mentioning
from tests.inference.stored import purchase

CUSTOMERS = 30
DAYS = 120


@pytest.fixture
def purchases(session: Session) -> None:
    """Customers who buy now and then over the last DAYS days, some far more than others."""
    rng = random.Random(5)
    now = utcnow()
    rows = []
    for customer in range(CUSTOMERS):
        for _ in range(rng.randint(1, 1 + customer // 3)):
            when = now - timedelta(days=rng.uniform(0, DAYS))
            rows.append(purchase(f"C{customer}", f"P{rng.randrange(5)}", when, round(rng.uniform(5, 80), 2)))
    events_service.store_rows(session=session, rows=rows)
    session.commit()


def train(client: TestClient, headers: dict, expect: str = "completed", **body: Any) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/models/{CUSTOMER_SPEND_MODEL}/train", json={"algorithm": "customer_spend", **body}, headers=headers
    )
    assert response.status_code == 202, response.text
    started = response.json()
    job = client.get(f"/api/v1/jobs/{started['job_id']}", headers=headers).json()
    assert job["status"] == expect, job
    return client.get(f"/api/v1/models/{CUSTOMER_SPEND_MODEL}/versions/{started['version']}", headers=headers).json()


@pytest.mark.usefixtures("purchases")
def test_customer_spend_trains_through_the_route_and_answers_inference(client: TestClient, admin_headers: dict) -> None:
    version = train(client, admin_headers, config={"horizon_days": 30})
    assert version["status"] == "deployed"
    assert version["algorithm"] == "customer_spend"
    assert (version["kind"], version["format"], version["source"]) == ("predictor", "relevo", "trained")
    metrics = version["metrics"]
    assert set(metrics) >= {"mae", "rmse", "total_ratio", "top_20_capture", "predicted_total", "actual_total"}
    assert metrics["customers"] > 0 and metrics["rmse"] >= metrics["mae"] >= 0
    assert 0 <= metrics["top_20_capture"] <= 1
    assert version["training"]["horizon_days"] == 30 and version["training"]["purchases"] > CUSTOMERS
    assert version["training"]["gate"]["reason"] == "the first version of this name"

    today = utcnow().date().isoformat()
    params = {"model_name": CUSTOMER_SPEND_MODEL, "model_version": "1", "customer_id": "C29", "purchase_date_id": today}
    response = client.get("/inference", params=params, headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["prediction"] >= 0
    batch = client.post(
        f"/api/v1/registry/models/{CUSTOMER_SPEND_MODEL}/versions/1/predict",
        json={"customer_ids": [f"C{index}" for index in range(CUSTOMERS)], "as_of": today},
        headers=admin_headers,
    ).json()
    assert len(batch["predictions"]) == CUSTOMERS and batch["unknown_customer_ids"] == []


@pytest.mark.usefixtures("purchases")
def test_later_versions_deploy_as_the_train_request_says(client: TestClient, admin_headers: dict) -> None:
    assert train(client, admin_headers)["status"] == "deployed"
    kept = train(client, admin_headers, deploy="never")
    assert kept["status"] == "ready" and kept["training"]["gate"]["reason"] == "deploy: never"
    gated = train(client, admin_headers)  # the same purchases: the same holdout RMSE as version 1
    assert gated["status"] == "deployed"
    assert gated["training"]["gate"]["reason"].startswith("holdout RMSE ")
    assert "against version 1's" in gated["training"]["gate"]["reason"]


@pytest.mark.usefixtures("purchases")
def test_a_history_shorter_than_the_horizon_trains_without_holdout_figures(
    client: TestClient, admin_headers: dict
) -> None:
    first = train(client, admin_headers, config={"horizon_days": 365})
    assert first["status"] == "deployed" and first["metrics"] == {}
    assert first["training"]["held_out_from"] is None
    again = train(client, admin_headers, config={"horizon_days": 365})
    assert again["status"] == "deployed"
    assert again["training"]["gate"]["reason"] == "no holdout RMSE to compare with the serving version's"


def test_training_without_purchases_fails_with_the_reason(client: TestClient, admin_headers: dict) -> None:
    version = train(client, admin_headers, expect="failed")
    assert version["status"] == "failed"
    assert "no purchases to train on" in version["error"]


def test_bad_settings_are_refused_naming_the_field(client: TestClient, admin_headers: dict) -> None:
    response = client.post(
        f"/api/v1/models/{CUSTOMER_SPEND_MODEL}/train",
        json={"algorithm": "customer_spend", "config": {"horizon_days": 0}},
        headers=admin_headers,
    )
    assert_error_mentioning(response, 400, "config.horizon_days")
    response = client.post(
        f"/api/v1/models/{CUSTOMER_SPEND_MODEL}/train",
        json={"algorithm": "customer_spend", "config": {"shoe_size": 3}},
        headers=admin_headers,
    )
    assert_error_mentioning(response, 400, "shoe_size")
