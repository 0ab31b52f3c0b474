"""Predictors uploaded through the model-serving API's /upload_model, checked on the way in and
answering /inference: ONNX, skops, and Relevo's own customer-spend files."""

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io
from fastapi.testclient import TestClient
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sqlalchemy.orm import Session

from relevo.engine.customers import spend
from relevo.engine.customers.features import PurchaseHistory
from tests.errors import assert_error_mentioning
from tests.inference.stored import FEATURES, add_purchases, expected, linear_onnx
from tests.registry.test_registry_api import upload

CONFIG = json.dumps({"kind": "predictor", "features": FEATURES}).encode()
ASKED = {"model_name": "spend", "customer_id": "1", "purchase_date_id": "2024-03-01"}


@pytest.fixture
def purchases(session: Session) -> None:
    add_purchases(session)
    session.commit()


def fitted(estimator):
    rng = np.random.default_rng(1)
    features = rng.random((300, 2)) * [100, 5]
    return estimator.fit(features, features @ np.array([2.0, 10.0]) + 1.0)


@pytest.mark.usefixtures("purchases")
def test_an_uploaded_onnx_predictor_answers_inference(client: TestClient, admin_headers: dict) -> None:
    sent = upload(client, admin_headers, model=("model.onnx", linear_onnx()), artifacts=[("config.json", CONFIG)])
    assert sent.status_code == 201, sent.text
    answer = client.get("/inference", params={**ASKED, "model_version": "1"}, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"prediction": pytest.approx(expected(60.0, 2))}


@pytest.mark.usefixtures("purchases")
@pytest.mark.parametrize(
    "estimator",
    [LinearRegression(), HistGradientBoostingRegressor(max_iter=30)],
    ids=lambda estimator: type(estimator).__name__,
)
def test_an_uploaded_skops_predictor_answers_as_the_estimator(
    client: TestClient, admin_headers: dict, estimator
) -> None:
    model = fitted(estimator)
    sent = upload(
        client, admin_headers, model=("model.skops", skops.io.dumps(model)), artifacts=[("config.json", CONFIG)]
    )
    assert sent.status_code == 201, sent.text
    answer = client.get("/inference", params={**ASKED, "model_version": "1"}, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["prediction"] == pytest.approx(float(model.predict([[60.0, 2.0]])[0]))


def test_an_upload_naming_unknown_features_is_refused_with_the_known_ones(
    client: TestClient, admin_headers: dict
) -> None:
    config = json.dumps({"kind": "predictor", "features": ["total_spend", "shoe_size"]}).encode()
    sent = upload(client, admin_headers, model=("model.onnx", linear_onnx()), artifacts=[("config.json", config)])
    assert_error_mentioning(sent, 400, "unknown customer features shoe_size", "recency_days", "config.json")


def test_an_onnx_upload_wider_than_its_features_is_refused(client: TestClient, admin_headers: dict) -> None:
    sent = upload(
        client, admin_headers, model=("model.onnx", linear_onnx(width=3)), artifacts=[("config.json", CONFIG)]
    )
    assert_error_mentioning(sent, 400, "model.onnx", "[batch, 3]", "lists 2 features")


def test_a_skops_upload_holding_an_untrusted_type_is_refused(client: TestClient, admin_headers: dict) -> None:
    model = make_pipeline(FunctionTransformer(func=os.system), fitted(LinearRegression()))
    sent = upload(
        client, admin_headers, model=("model.skops", skops.io.dumps(model)), artifacts=[("config.json", CONFIG)]
    )
    assert_error_mentioning(sent, 400, "model.skops", "does not trust", f"{os.system.__module__}.system")


@pytest.mark.usefixtures("purchases")
def test_relevo_s_own_customer_spend_files_upload_and_answer(
    client: TestClient, admin_headers: dict, tmp_path: Path
) -> None:
    history = PurchaseHistory(
        customer=np.array([0, 0, 1], dtype=np.int32),
        day=np.array([19000, 19030, 19020], dtype=np.int32),
        amount=np.array([10.0, 20.0, 5.0]),
        category=np.full(3, -1, dtype=np.int32),
        categories=(),
        customers=2,
    )
    model = spend.CustomerSpend(spend.CustomerSpend.make_config({})).fit(history, 19100, seed=0)
    spend.save(model, tmp_path, {})
    sent = upload(
        client,
        admin_headers,
        model=("arrays.npz", (tmp_path / "arrays.npz").read_bytes()),
        artifacts=[("manifest.json", (tmp_path / "manifest.json").read_bytes())],
        deployment=True,
    )
    assert sent.status_code == 201, sent.text
    answer = client.get("/inference", params=ASKED, headers=admin_headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["prediction"] >= 0


def test_zip_is_not_read_as_skops_without_its_schema(client: TestClient, admin_headers: dict) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a model")
    sent = upload(client, admin_headers, model=("model.skops", buffer.getvalue()), artifacts=[("config.json", CONFIG)])
    assert_error_mentioning(sent, 400, "model.skops")
