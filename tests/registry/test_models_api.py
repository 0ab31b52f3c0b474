"""The models API: training as a job, versions with metrics and a data watermark, explicit
deploys, rollback and archiving (the deploy gate: test_deploy_gate.py)."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.accounts.models import Account, Role
from relevo.events.models import Event
from relevo.registry import gate
from tests.errors import assert_error, assert_error_mentioning
from tests.recommend.shop import DemoShop, recommend, train

MODELS = "/api/v1/models"
METRICS = {"precision", "recall", "ndcg", "map", "mrr", "hit_rate", "coverage"}
JOB_STATUS_FIELDS = {
    "job_id",
    "status",
    "message",
    "created_at",
    "started_at",
    "completed_at",
    "total_users",
    "processed_users",
    "failed_users",
    "error",
}


def deploy(client: TestClient, headers: dict, version: int, name: str = "default") -> dict[str, Any]:
    response = client.post(f"{MODELS}/{name}/versions/{version}/deploy", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_training_starts_a_job_whose_status_reads_in_the_background_jobs_api_shape(
    client: TestClient, admin_headers: dict, shop: DemoShop
) -> None:
    response = client.post(f"{MODELS}/default/train", json={"algorithm": "item_knn"}, headers=admin_headers)

    assert response.status_code == 202, response.text
    started = response.json()
    assert started["status"] == "pending"
    assert (started["name"], started["version"], started["algorithm"]) == ("default", 1, "item_knn")
    job = client.get(f"/job-status/{started['job_id']}", headers=admin_headers).json()
    assert set(job) >= JOB_STATUS_FIELDS
    assert job["status"] == "completed", job
    assert job["started_at"] and job["completed_at"] and job["error"] is None
    assert "version 1" in job["message"] and "deployed" in job["message"]
    assert client.get(f"/api/v1/jobs/{started['job_id']}", headers=admin_headers).json() == job
    listed = client.get("/api/v1/jobs", headers=admin_headers).json()
    assert started["job_id"] in [other["job_id"] for other in listed]


def test_a_trained_version_keeps_config_metrics_training_figures_and_watermark(
    client: TestClient, admin_headers: dict, shop: DemoShop, session: Session
) -> None:
    version = train(client, admin_headers, algorithm="item_knn", config={"neighbours": 30})

    assert version["status"] == "deployed"
    assert version["config"] == {"neighbours": 30}
    assert set(version["metrics"]) >= METRICS
    assert all(0.0 <= version["metrics"][metric] <= 1.0 for metric in METRICS)
    assert version["metrics"]["ndcg"] > 0
    events = session.scalar(select(func.count()).select_from(Event))
    assert version["training"]["events"] == events
    assert 0 < version["training"]["held_out_events"] < events
    assert version["training"]["items"] == len(shop.products)
    assert version["watermark"] == session.scalar(select(func.max(Event.id)))
    assert version["trained_at"] and version["deployed_at"]


def test_every_algorithm_trains_and_serves(client: TestClient, admin_headers: dict, shop: DemoShop) -> None:
    for algorithm in ("popular", "cooccurrence", "item_knn", "content", "als", "bpr", "ease", "hybrid"):
        version = train(client, admin_headers, name=algorithm, algorithm=algorithm)
        assert version["status"] == "deployed", version
        answer = recommend(client, "U000001", model=algorithm)
        assert answer["model"] == {"name": algorithm, "version": 1, "algorithm": algorithm}
        assert answer["items"], algorithm


def test_deploy_never_and_always_override_the_gate(client: TestClient, admin_headers: dict, trained: dict) -> None:
    assert train(client, admin_headers, deploy="never")["status"] == "ready"
    assert train(client, admin_headers, deploy="always", algorithm="popular")["status"] == "deployed"
    assert recommend(client, "U000001")["model"] == {"name": "default", "version": 3, "algorithm": "popular"}


def test_deploy_and_rollback_switch_what_serves_without_a_restart(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    train(client, admin_headers, algorithm="item_knn", deploy="never")
    assert recommend(client, "U000001")["model"]["version"] == 1

    assert deploy(client, admin_headers, 2)["status"] == "deployed"
    assert recommend(client, "U000001")["model"] == {"name": "default", "version": 2, "algorithm": "item_knn"}

    rolled_back = client.post(f"{MODELS}/default/rollback", headers=admin_headers)
    assert rolled_back.status_code == 200, rolled_back.text
    assert rolled_back.json()["version"] == 1
    assert recommend(client, "U000001")["model"]["version"] == 1
    metrics = client.get(f"{MODELS}/default/metrics", headers=admin_headers).json()
    assert (metrics["version"], metrics["status"]) == (1, "deployed")


def test_rollback_needs_an_earlier_deployed_version(client: TestClient, admin_headers: dict, trained: dict) -> None:
    assert_error_mentioning(client.post(f"{MODELS}/default/rollback", headers=admin_headers), 409, "roll back")
    assert_error(client.post(f"{MODELS}/nothing/rollback", headers=admin_headers), 404)


def test_archived_versions_cannot_serve_and_the_serving_one_cannot_be_archived(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    train(client, admin_headers, deploy="never")

    assert_error_mentioning(client.delete(f"{MODELS}/default/versions/1", headers=admin_headers), 409, "deployed")
    archived = client.delete(f"{MODELS}/default/versions/2", headers=admin_headers)
    assert archived.status_code == 200 and archived.json()["status"] == "archived"
    assert_error_mentioning(client.post(f"{MODELS}/default/versions/2/deploy", headers=admin_headers), 409, "archived")
    assert_error(client.get(f"{MODELS}/default/versions/9", headers=admin_headers), 404)


def test_models_list_names_with_their_counts_and_deployed_version(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    train(client, admin_headers, name="experiment", algorithm="popular", deploy="never")

    listed = {model["name"]: model for model in client.get(MODELS, headers=admin_headers).json()}
    assert listed["default"]["versions"] == 1 and listed["default"]["deployed"]["version"] == 1
    assert listed["experiment"]["versions"] == 1 and listed["experiment"]["deployed"] is None


def test_versions_page_newest_first_with_a_cursor(client: TestClient, admin_headers: dict, shop: DemoShop) -> None:
    for _ in range(3):
        train(client, admin_headers, algorithm="popular", deploy="never")

    first = client.get(f"{MODELS}/default/versions", params={"limit": 2}, headers=admin_headers).json()
    second = client.get(
        f"{MODELS}/default/versions", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin_headers
    ).json()
    assert [v["version"] for v in first["items"]] + [v["version"] for v in second["items"]] == [3, 2, 1]
    assert second["next_cursor"] is None


def test_training_without_events_fails_with_the_reason(client: TestClient, admin_headers: dict) -> None:
    version = train(client, admin_headers, expect="failed", algorithm="popular")

    assert version["status"] == "failed"
    assert "no events" in version["error"]
    job = client.get(f"/job-status/{version['job_id']}", headers=admin_headers).json()
    assert "no events" in job["error"]
    assert_error(client.get(f"{MODELS}/default/metrics", headers=admin_headers), 404)


def test_a_failure_while_marking_the_version_ready_marks_it_failed(
    client: TestClient, admin_headers: dict, shop: DemoShop, monkeypatch
) -> None:
    """The last step (ready, gate, deploy) runs in its own transaction; a failure there must not
    leave the version in training for ever. The fault is injected: nothing real fails there on demand."""

    def broken_gate(**_: Any) -> gate.Verdict:
        raise RuntimeError("the gate broke")

    monkeypatch.setattr(gate, "decide", broken_gate)
    version = train(client, admin_headers, expect="failed", algorithm="popular")

    assert version["status"] == "failed"
    assert "the gate broke" in version["error"]


def test_an_absurd_rating_does_not_stop_training(client: TestClient, admin_headers: dict, shop: DemoShop) -> None:
    """1e308 is a valid JSON number and is stored as sent; it reaches the engine as the largest
    float32, and weighs as the highest rating."""
    event = {"user_id": "U000001", "product_id": shop.products[0].external_id, "event_type": "rating", "value": 1e308}
    assert client.post("/api/v1/events", json=[event], headers=admin_headers).status_code == 201

    assert train(client, admin_headers, algorithm="als")["status"] == "deployed"


def test_bad_training_requests_name_the_field(client: TestClient, admin_headers: dict) -> None:
    def post(body: dict, name: str = "default") -> Any:
        return client.post(f"{MODELS}/{name}/train", json=body, headers=admin_headers)

    assert_error_mentioning(post({"algorithm": "deep-magic"}), 400, "algorithm", "deep-magic")
    assert_error_mentioning(post({"algorithm": "als", "config": {"colour": 1}}), 400, "config", "colour")
    assert_error_mentioning(post({"algorithm": "als", "config": {"factors": -3}}), 400, "config", "factors")
    assert_error_mentioning(post({"deploy": "sometimes"}), 422, "deploy")
    assert_error_mentioning(post({}, name="bad name!"), 422, "name")
    assert client.get(MODELS, headers=admin_headers).json() == []


@pytest.mark.parametrize("role", [Role.viewer, Role.owner, Role.service])
def test_only_model_managers_train_deploy_and_roll_back_the_shared_models(
    client: TestClient, make_account: Callable[..., Account], auth: Callable, trained: dict, role: Role
) -> None:
    headers = auth(make_account(role))

    for method, path in [
        ("POST", f"{MODELS}/default/train"),
        ("POST", f"{MODELS}/default/versions/1/deploy"),
        ("POST", f"{MODELS}/default/rollback"),
        ("DELETE", f"{MODELS}/default/versions/1"),
        ("POST", "/api/enhanced-train/"),
    ]:
        assert "models:manage" in assert_error(client.request(method, path, json={}, headers=headers), 403)
    assert_error(client.post(f"{MODELS}/default/train", json={}), 401)
    if role != Role.service:
        assert client.get(f"{MODELS}/default/versions", headers=headers).status_code == 200


def test_a_key_made_for_managing_models_trains_and_deploys(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    made = client.post(
        "/api/v1/api-keys", json={"name": "ml pipeline", "scopes": ["models:manage", "read"]}, headers=admin_headers
    )
    headers = {"Authorization": f"Bearer {made.json()['key']}"}

    version = train(client, headers, algorithm="popular", deploy="never")

    assert version["status"] == "ready"
    deployed = client.post(f"{MODELS}/default/versions/{version['version']}/deploy", headers=headers)
    assert deployed.status_code == 200, deployed.text
    assert client.post(f"{MODELS}/default/rollback", headers=headers).status_code == 200
