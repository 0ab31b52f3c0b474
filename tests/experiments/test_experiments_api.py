"""Creating and running experiments: the SmartCommerce API's body as it is documented, every
validation error naming its field, a draft that becomes runnable when its model appears, the
life of an experiment (start, pause, stop, delete), promotion and rollback, the planner."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.errors import assert_error, assert_error_mentioning
from tests.experiments.experiment_api import SEED_BODY, create, running_body
from tests.recommend.shop import DemoShop, recommend, train


def test_the_smartcommerce_body_is_taken_as_documented_and_says_what_blocks_it(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    response = client.post("/api/ab-test/create/", json=SEED_BODY, headers=admin_headers)

    assert response.status_code == 201, response.text
    experiment = response.json()
    assert experiment["experiment_id"] == "rec_test_v1" and experiment["status"] == "draft"
    assert experiment["traffic_allocation"] == {"control": 0.5, "treatment": 0.5}
    assert experiment["start_date"] == "2024-01-01T00:00:00Z" and experiment["end_date"] == "2024-01-14T23:59:59Z"
    waits, blocker = experiment["blockers"]
    assert waits == "variant 'control': no version of 'als' is deployed yet (trained when it starts)"
    assert "variant 'treatment': no algorithm 'deep_learning'" in blocker
    assert "als" in blocker and "hybrid_ensemble" in blocker and "deployed models: default" in blocker
    assert experiment["variants"][0] == {"name": "control", "config": {"algorithm": "collaborative"}, "baseline": True}
    again = client.post("/api/ab-test/create/", json=SEED_BODY, headers=admin_headers)
    assert "rec_test_v1" in assert_error(again, 409)


def invalid(**changes: Any) -> dict[str, Any]:
    return {**running_body(), **changes}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (invalid(traffic_allocation={"control": 0.6, "treatment": 0.5}), "sum to 1"),
        (invalid(traffic_allocation={"control": 0.5, "other": 0.5}), "missing treatment"),
        (invalid(traffic_allocation={"control": 1.5, "treatment": -0.5}), "traffic_allocation.control"),
        (invalid(variants=[{"name": "control", "config": {"model": "default"}}]), "variants"),
        (
            invalid(
                variants=[{"name": "control", "config": {"model": "a"}}, {"name": "control", "config": {"model": "b"}}]
            ),
            "unique",
        ),
        (
            invalid(
                variants=[{"name": "a", "config": {"model": "a"}}, {"name": "b", "config": {"model": "b"}}],
                traffic_allocation={"a": 0.5, "b": 0.5},
            ),
            "control",
        ),
        (invalid(end_date="2020-01-01T00:00:00Z"), "end_date"),
        (invalid(success_metrics=["happiness"]), "success_metrics"),
        (invalid(minimum_sample_size=0), "minimum_sample_size"),
        (
            invalid(variants=[{"name": "control", "config": {}}, {"name": "treatment", "config": {"model": "x"}}]),
            "exactly one of algorithm, model and model_version",
        ),
        (invalid(experiment_id="no spaces allowed"), "experiment_id"),
    ],
)
def test_every_invalid_body_is_refused_naming_the_field(
    client: TestClient, admin_headers: dict, body: dict, named: str
) -> None:
    for path in ("/api/v1/experiments", "/api/ab-test/create/"):
        assert_error_mentioning(client.post(path, json=body, headers=admin_headers), 422, named)


def test_a_draft_becomes_runnable_when_its_model_is_deployed(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    draft = create(client, admin_headers, running_body())
    assert draft["status"] == "draft"
    assert "model 'popular-model' has no deployed version" in draft["blockers"][0]
    refused = client.post("/api/v1/experiments/exp-1/start", headers=admin_headers)
    assert "popular-model" in assert_error(refused, 409, "Experiment blocked")

    train(client, admin_headers, name="popular-model", algorithm="popular")
    started = client.post("/api/v1/experiments/exp-1/start", headers=admin_headers).json()

    assert started["status"] == "running" and started["blockers"] == []
    assert started["serves"] == {"control": "default", "treatment": "popular-model"}


def test_an_algorithm_no_model_serves_yet_is_trained_when_the_experiment_starts(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    variants = [
        {"name": "control", "config": {"algorithm": "hybrid_ensemble"}},
        {"name": "treatment", "config": {"algorithm": "collaborative", "count": 3}},
    ]
    started = create(client, admin_headers, running_body(variants=variants), start="true")

    job = started["jobs"]["treatment"]
    assert client.get(f"/api/v1/jobs/{job}", headers=admin_headers).json()["status"] == "completed"
    now = client.get("/api/v1/experiments/exp-1", headers=admin_headers).json()
    assert now["serves"] == {"control": "default", "treatment": "als"} and now["blockers"] == []
    answers = [recommend(client, f"shopper-{number}") for number in range(30)]
    treated = [answer for answer in answers if answer["experiment"]["variant"] == "treatment"]
    assert treated and all(answer["model"]["name"] == "als" and len(answer["items"]) == 3 for answer in treated)


def test_an_experiment_runs_pauses_and_stops_and_only_a_draft_changes(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    train(client, admin_headers, name="popular-model", algorithm="popular")
    create(client, admin_headers, running_body())
    url = "/api/v1/experiments/exp-1"
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    changed = client.patch(
        url, json={"traffic_allocation": {"control": 0.2, "treatment": 0.8}, "end_date": later}, headers=admin_headers
    )
    assert changed.status_code == 200 and changed.json()["traffic_allocation"]["treatment"] == 0.8

    assert client.post(f"{url}/start", headers=admin_headers).json()["status"] == "running"
    assert_error(client.patch(url, json={"end_date": later}, headers=admin_headers), 409)
    assert "stop it" in assert_error(client.delete(url, headers=admin_headers), 409)
    assert "experiment" in recommend(client, "someone")
    assert client.post(f"{url}/pause", headers=admin_headers).json()["status"] == "paused"
    assert "experiment" not in recommend(client, "someone")
    assert client.post(f"{url}/stop", headers=admin_headers).json()["status"] == "stopped"
    assert_error(client.post(f"{url}/start", headers=admin_headers), 409)
    assert client.delete(url, headers=admin_headers).status_code == 204
    assert_error(client.get(url, headers=admin_headers), 404)


def test_an_experiment_before_its_start_date_is_scheduled_and_serves_nobody(
    client: TestClient, admin_headers: dict, trained: dict
) -> None:
    train(client, admin_headers, name="popular-model", algorithm="popular")
    now = datetime.now(UTC)
    body = running_body(
        start_date=(now + timedelta(days=1)).isoformat(), end_date=(now + timedelta(days=2)).isoformat()
    )

    assert create(client, admin_headers, body, start="true")["status"] == "scheduled"
    assert "experiment" not in recommend(client, "someone")


def test_stopping_can_promote_a_variant_and_rollback_undoes_it(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    train(client, admin_headers, name="popular-model", algorithm="popular")
    create(client, admin_headers, running_body(), start="true")

    stopped = client.post("/api/v1/experiments/exp-1/stop", params={"promote": "treatment"}, headers=admin_headers)

    assert stopped.status_code == 200, stopped.text
    promoted = stopped.json()["promoted"]
    assert promoted == {"variant": "treatment", "model": "default", "version": 2, "from": "popular-model/1"}
    assert recommend(client, "U000001")["model"] == {"name": "default", "version": 2, "algorithm": "popular"}
    client.post("/api/v1/models/default/rollback", headers=admin_headers)
    assert recommend(client, "U000001")["model"]["version"] == 1
    nobody = client.post("/api/v1/experiments/exp-1/stop", params={"promote": "winner"}, headers=admin_headers)
    assert_error(nobody, 409)


def test_the_planner_says_how_many_users_each_variant_needs(client: TestClient, admin_headers: dict) -> None:
    url = "/api/v1/experiments/plan"
    planned = client.get(url, params={"baseline_rate": 0.1, "minimum_detectable_effect": 0.05}, headers=admin_headers)

    assert planned.status_code == 200, planned.text
    assert 57_000 < planned.json()["users_per_variant"] < 58_500
    assert_error_mentioning(client.get(url, params={"baseline_rate": 1.5}, headers=admin_headers), 422, "baseline_rate")
    too_big = client.get(url, params={"baseline_rate": 0.9, "minimum_detectable_effect": 0.5}, headers=admin_headers)
    assert_error(too_big, 400)
