"""A shop's own recommender in an experiment: the SmartCommerce API's `deep_learning` variant
runs once a model of that name is uploaded and deployed, serves its users and can be promoted;
a predictor is refused as a variant, saying why."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

from relevo.core.db import Database
from tests.errors import assert_error
from tests.experiments.experiment_api import create, exposures, running_body
from tests.recommend.shop import DemoShop, recommend
from tests.registry import model_files
from tests.registry.recommender_files import npz, shop_factors, upload

DEEP_LEARNING = [
    {"name": "control", "config": {"model": "default"}},
    {"name": "treatment", "config": {"algorithm": "deep_learning"}},
]


def test_uploading_a_model_named_deep_learning_makes_that_variant_run(
    client: TestClient, admin_headers: dict, app: FastAPI, database: Database, shop: DemoShop, trained: dict
) -> None:
    draft = create(client, admin_headers, running_body(variants=DEEP_LEARNING))
    [blocker] = draft["blockers"]
    assert "variant 'treatment': no algorithm 'deep_learning'" in blocker
    assert "upload and deploy a model named 'deep_learning'" in blocker
    assert "deep_learning" in assert_error(client.post("/api/v1/experiments/exp-1/start", headers=admin_headers), 409)

    upload(client, admin_headers, "deep_learning", ("factors.npz", npz(shop_factors(shop))))
    started = client.post("/api/v1/experiments/exp-1/start", headers=admin_headers)
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "running" and started.json()["blockers"] == []
    assert started.json()["serves"] == {"control": "default", "treatment": "deep_learning"}

    answers = [recommend(client, f"shopper-{number}", count=4) for number in range(12)]
    served = {answer["experiment"]["variant"]: answer["model"] for answer in answers}
    assert served["treatment"]["name"] == "deep_learning" and served["treatment"]["algorithm"] == "factors"
    assert served["control"]["name"] == "default"
    recorded = exposures(app, database, "exp-1")
    treated = [exposure for exposure in recorded if exposure.variant == "treatment"]
    assert len(recorded) == 12
    assert {exposure.model for exposure in treated} == {"deep_learning"}

    # Promoted, the shop's model serves everyone as the serving model's next version.
    stopped = client.post("/api/v1/experiments/exp-1/stop", params={"promote": "treatment"}, headers=admin_headers)
    assert stopped.status_code == 200, stopped.text
    after = recommend(client, "shopper-0", count=4)
    assert after["model"]["name"] == "default" and after["model"]["algorithm"] == "factors"
    assert "experiment" not in after


def test_a_variant_naming_an_uploaded_recommender_by_model_or_version_serves(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    upload(client, admin_headers, "shop-factors", ("factors.npz", npz(shop_factors(shop))))
    variants = [
        {"name": "control", "config": {"model": "default"}},
        {"name": "by-model", "config": {"model": "shop-factors"}},
        {"name": "by-version", "config": {"model_version": {"name": "shop-factors", "version": 1}}},
    ]
    allocation = {"control": 0.4, "by-model": 0.3, "by-version": 0.3}
    body = running_body(variants=variants, traffic_allocation=allocation)
    started = create(client, admin_headers, body, start="true")
    assert started["status"] == "running" and started["blockers"] == []


def test_a_predictor_is_refused_as_a_variant(
    client: TestClient, admin_headers: dict, shop: DemoShop, trained: dict
) -> None:
    config = model_files.config(features=["frequency", "recency_days"])
    upload(
        client, admin_headers, "spend", ("model.onnx", model_files.onnx_linear([1.0, 2.0])), [("config.json", config)]
    )
    for treatment in ({"model": "spend"}, {"model_version": {"name": "spend", "version": 1}}, {"algorithm": "spend"}):
        variants = [{"name": "control", "config": {"model": "default"}}, {"name": "treatment", "config": treatment}]
        experiment_id = f"with-{next(iter(treatment))}".replace("_", "-")
        draft = create(client, admin_headers, running_body(experiment_id, variants=variants))
        [blocker] = draft["blockers"]
        assert blocker == (
            "variant 'treatment': version 1 of 'spend' is a predictor (it answers /inference), not a recommender:"
            " it cannot serve a variant"
        )
        refused = client.post(f"/api/v1/experiments/{experiment_id}/start", headers=admin_headers)
        assert "is a predictor" in assert_error(refused, 409, "Experiment blocked")
