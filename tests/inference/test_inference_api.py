"""Inference over HTTP: the model-serving API's GET /inference and the registry's batch predict
route, their answers, every error, who may call them, and predictors loaded once."""

import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sklearn.linear_model import LinearRegression
from sqlalchemy.orm import Session

from relevo.accounts.models import Account, Role
from relevo.core.config import Settings
from relevo.registry import aliases
from tests.errors import assert_error, assert_error_mentioning
from tests.inference.stored import add_purchases, expected, linear_onnx, store_version

MARCH_1 = {"purchase_date_id": "2024-03-01"}


@pytest.fixture
def predictor(session: Session, settings: Settings, tmp_path: Path) -> None:
    add_purchases(session)
    store_version(session, settings, tmp_path / "upload")


def infer(client: TestClient, headers: dict, **params: object):
    return client.get("/inference", params={"model_name": "spend", **params}, headers=headers)


@pytest.mark.usefixtures("predictor")
def test_inference_answers_the_prediction_for_a_customer_as_of_a_date(client: TestClient, admin_headers: dict) -> None:
    response = infer(client, admin_headers, model_version="1", customer_id=1, **MARCH_1)
    assert response.status_code == 200, response.text
    assert response.json() == {"prediction": pytest.approx(expected(60.0, 2))}
    assert infer(client, admin_headers, customer_id="U2", **MARCH_1).json()["prediction"] == pytest.approx(
        expected(5.0, 1)
    )
    # The purchase on 1 March counts from the next day on; a date with or without dashes.
    later = infer(client, admin_headers, customer_id="U2", purchase_date_id="20240302").json()
    assert later["prediction"] == pytest.approx(expected(45.0, 2))
    # A customer Relevo knows who never bought: every feature 0.
    assert infer(client, admin_headers, customer_id="3", **MARCH_1).json()["prediction"] == pytest.approx(1.0)


@pytest.mark.usefixtures("predictor")
def test_a_purchase_on_or_after_the_date_changes_nothing(
    client: TestClient, admin_headers: dict, session: Session
) -> None:
    before = infer(client, admin_headers, customer_id="1", **MARCH_1).json()
    client.post(
        "/api/v1/events",
        json=[
            {"user_id": "1", "product_id": "lamp", "event_type": "purchase", "timestamp": "2024-03-01T00:00:00Z"},
            {"user_id": "1", "product_id": "lamp", "event_type": "purchase", "timestamp": "2024-06-01T00:00:00Z"},
        ],
        headers=admin_headers,
    ).raise_for_status()
    assert infer(client, admin_headers, customer_id="1", **MARCH_1).json() == before
    after = infer(client, admin_headers, customer_id="1", purchase_date_id="2024-03-02").json()
    assert after["prediction"] == pytest.approx(expected(100.0, 3))


@pytest.mark.usefixtures("predictor")
def test_the_version_is_a_number_an_alias_or_the_deployed_one(
    client: TestClient, admin_headers: dict, session: Session, settings: Settings, tmp_path: Path
) -> None:
    second = store_version(
        session, settings, tmp_path / "second", model_file=("model.onnx", linear_onnx()), deploy=False
    )
    aliases.set_alias(session=session, name="spend", alias="challenger", version=second, actor=None)
    session.commit()
    for version in ("1", "2", "challenger", None):
        params = {"customer_id": "1", **MARCH_1} | ({"model_version": version} if version else {})
        response = infer(client, admin_headers, **params)
        assert response.status_code == 200, (version, response.text)
        assert response.json()["prediction"] == pytest.approx(expected(60.0, 2))


@pytest.mark.usefixtures("predictor")
def test_a_predictor_is_loaded_once_per_version(client: TestClient, app: FastAPI, admin_headers: dict) -> None:
    for customer in ("1", "U2", "3"):
        assert infer(client, admin_headers, customer_id=customer, **MARCH_1).status_code == 200
    assert len(app.state.predictors) == 1


@pytest.mark.usefixtures("predictor")
@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"model_name": "nothing", "customer_id": "1", **MARCH_1}, 404, ["model_name", "nothing"]),
        ({"model_version": "7", "customer_id": "1", **MARCH_1}, 404, ["no version 7"]),
        ({"model_version": "champion", "customer_id": "1", **MARCH_1}, 404, ["champion"]),
        ({"customer_id": "nobody", **MARCH_1}, 404, ["customer_id", "nobody"]),
        ({"customer_id": "1", "purchase_date_id": "2024-13-01"}, 422, ["purchase_date_id", "not a date"]),
        ({"customer_id": "1", "purchase_date_id": "yesterday"}, 422, ["purchase_date_id", "YYYY-MM-DD or YYYYMMDD"]),
        ({"customer_id": "1", "purchase_date_id": "1704067200"}, 422, ["purchase_date_id"]),
        ({"customer_id": "1"}, 422, ["purchase_date_id"]),
        ({"purchase_date_id": "2024-03-01"}, 422, ["customer_id"]),
    ],
)
def test_inference_errors_name_the_field(
    client: TestClient, admin_headers: dict, params: dict, status: int, words: list[str]
) -> None:
    assert_error_mentioning(infer(client, admin_headers, **params), status, *words)


def test_a_recommender_is_not_a_predictor(
    client: TestClient, admin_headers: dict, session: Session, settings: Settings, tmp_path: Path
) -> None:
    add_purchases(session)
    store_version(session, settings, tmp_path, name="spend", kind="recommender")
    details = assert_error(infer(client, admin_headers, customer_id="1", **MARCH_1), 409)
    assert (
        details
        == "model 'spend' version 1 is a recommender, not a predictor: it recommends products, it does not predict"
    )


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"kind": "predictor"}, ["artifacts/config.json", "features"]),
        (
            {"kind": "predictor", "features": ["total_spend", "shoe_size"]},
            ["unknown customer features shoe_size", "recency_days"],
        ),
    ],
    ids=["no features", "unknown feature"],
)
def test_a_predictor_whose_inputs_relevo_cannot_build_answers_409(
    client: TestClient,
    admin_headers: dict,
    session: Session,
    settings: Settings,
    tmp_path: Path,
    config: dict,
    words: list[str],
) -> None:
    add_purchases(session)
    store_version(session, settings, tmp_path, config=config)
    assert_error_mentioning(infer(client, admin_headers, customer_id="1", **MARCH_1), 409, "cannot be used", *words)


def test_a_stored_pickle_is_refused_while_pickles_are_not_allowed(
    client: TestClient, admin_headers: dict, session: Session, settings: Settings, tmp_path: Path
) -> None:
    add_purchases(session)
    model = LinearRegression().fit([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]], [1.0, 3.0, 5.0])
    store_version(session, settings, tmp_path, model_file=("Model_0.pkl", pickle.dumps(model)), file_format="pickle")
    details = assert_error(infer(client, admin_headers, customer_id="1", **MARCH_1), 409)
    assert "pickle files can run any code" in details and "RELEVO_ALLOW_PICKLE_MODELS=true" in details


def test_a_pickle_loads_when_the_operator_allows_pickles(
    session: Session, settings: Settings, database, tmp_path: Path, auth: Callable, make_account: Callable
) -> None:
    from relevo.server.app import create_app

    add_purchases(session)
    model = LinearRegression().fit([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]], [1.0, 3.0, 5.0])
    store_version(session, settings, tmp_path, model_file=("Model_0.pkl", pickle.dumps(model)), file_format="pickle")
    allowing = settings.model_copy(update={"allow_pickle_models": True})
    with TestClient(create_app(allowing, database=database), raise_server_exceptions=False) as client:
        response = infer(client, auth(make_account(Role.viewer)), customer_id="1", **MARCH_1)
    assert response.status_code == 200, response.text
    assert response.json()["prediction"] == pytest.approx(float(model.predict([[60.0, 2.0]])[0]))


@pytest.mark.usefixtures("predictor")
def test_inference_needs_a_token_with_the_read_scope(
    client: TestClient, auth: Callable, make_account: Callable[..., Account]
) -> None:
    assert_error(client.get("/inference", params={"model_name": "spend", "customer_id": "1", **MARCH_1}), 401)
    assert_error(infer(client, auth(make_account(Role.service)), customer_id="1", **MARCH_1), 403)
    assert infer(client, auth(make_account(Role.viewer)), customer_id="1", **MARCH_1).status_code == 200


# The batch route


def predict(client: TestClient, headers: dict, body: dict, version: str = "1", name: str = "spend"):
    return client.post(f"/api/v1/registry/models/{name}/versions/{version}/predict", json=body, headers=headers)


@pytest.mark.usefixtures("predictor")
def test_predict_answers_each_known_customer_and_lists_the_unknown(client: TestClient, admin_headers: dict) -> None:
    body = {"customer_ids": ["U2", 1, "ghost", "3", "U2"], "as_of": "2024-03-01"}
    response = predict(client, admin_headers, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model"] == "spend" and answer["version"] == 1 and answer["as_of"] == "2024-03-01"
    assert [row["customer_id"] for row in answer["predictions"]] == ["U2", "1", "3"]
    assert [row["prediction"] for row in answer["predictions"]] == pytest.approx(
        [expected(5.0, 1), expected(60.0, 2), 1.0]
    )
    assert answer["unknown_customer_ids"] == ["ghost"]
    everyone_unknown = predict(client, admin_headers, {"customer_ids": ["ghost"], "as_of": "20240301"}).json()
    assert everyone_unknown["predictions"] == [] and everyone_unknown["unknown_customer_ids"] == ["ghost"]


@pytest.mark.usefixtures("predictor")
@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"customer_ids": [], "as_of": "2024-03-01"}, ["customer_ids"]),
        ({"customer_ids": [str(i) for i in range(10_001)], "as_of": "2024-03-01"}, ["customer_ids", "10000"]),
        ({"customer_ids": ["1"], "as_of": "March"}, ["as_of", "YYYY-MM-DD"]),
        ({"customer_ids": ["1"]}, ["as_of"]),
        ({"customer_ids": [""], "as_of": "2024-03-01"}, ["customer_ids.0"]),
    ],
)
def test_bad_predict_requests_name_the_field(
    client: TestClient, admin_headers: dict, body: dict, words: list[str]
) -> None:
    assert_error_mentioning(predict(client, admin_headers, body), 422, *words)


@pytest.mark.usefixtures("predictor")
def test_predict_refuses_unknown_models_and_versions(client: TestClient, admin_headers: dict) -> None:
    body = {"customer_ids": ["1"], "as_of": "2024-03-01"}
    assert_error_mentioning(predict(client, admin_headers, body, name="nothing"), 404, "nothing")
    assert_error_mentioning(predict(client, admin_headers, body, version="9"), 404, "no version 9")
    assert_error_mentioning(predict(client, admin_headers, body, version="staging"), 404, "staging")


@pytest.mark.usefixtures("predictor")
def test_predict_needs_a_token_with_the_read_scope(
    client: TestClient, auth: Callable, make_account: Callable[..., Account]
) -> None:
    body = {"customer_ids": ["1"], "as_of": "2024-03-01"}
    assert_error(client.post("/api/v1/registry/models/spend/versions/1/predict", json=body), 401)
    assert_error(predict(client, auth(make_account(Role.service)), body), 403)
    assert predict(client, auth(make_account(Role.viewer)), body).status_code == 200
