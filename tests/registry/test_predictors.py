"""Predictors loaded from their files in every format, and checked at upload: models built
here (ONNX graphs, scikit-learn estimators saved with skops, pickles) and every refusal."""

import json
import os
import pickle
from pathlib import Path

import joblib
import numpy as np
import onnx
import pytest
import skops.io
from onnx import TensorProto, helper, numpy_helper
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from relevo.core.config import Settings
from relevo.core.errors import InvalidArgument
from relevo.engine.customers import spend
from relevo.engine.customers.features import FEATURES, PurchaseHistory
from relevo.registry import predictors

FEATURE_NAMES = ["frequency", "recency_days", "total_spend"]
CONFIG = {"kind": "predictor", "features": FEATURE_NAMES}
WEIGHTS = np.array([2.0, -0.5, 0.1])
BIAS = 3.0
ROWS = np.array([[1.0, 10.0, 100.0], [0.0, 0.0, 0.0], [4.0, 2.0, 50.0]])


def stored(folder: Path, model_name: str, model: bytes, config: dict | None = CONFIG) -> dict[str, Path]:
    """A version's files as the file store hands them: the model file and its config artifact."""
    (folder / "artifacts").mkdir(parents=True, exist_ok=True)
    paths = {model_name: folder / model_name}
    paths[model_name].write_bytes(model)
    if config is not None:
        paths["artifacts/config.json"] = folder / "artifacts" / "config.json"
        paths["artifacts/config.json"].write_text(json.dumps(config))
    return paths


def linear_onnx(width: int = 3, flat: bool = False, element=TensorProto.FLOAT, batch="batch") -> bytes:
    """y = x · WEIGHTS + BIAS as an ONNX graph: input [batch, width], output [batch, 1] (or
    [batch] when flat)."""
    initializers = [
        numpy_helper.from_array(np.resize(WEIGHTS, (width, 1)).astype(np.float32), "weights"),
        numpy_helper.from_array(np.array([BIAS], dtype=np.float32), "bias"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "flat_shape"),
    ]
    nodes = [
        helper.make_node("Cast", ["x"], ["x32"], to=TensorProto.FLOAT),
        helper.make_node("MatMul", ["x32", "weights"], ["product"]),
        helper.make_node("Add", ["product", "bias"], ["y"]),
    ]
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 1])
    if flat:
        nodes.append(helper.make_node("Reshape", ["y", "flat_shape"], ["flat"]))
        output = helper.make_tensor_value_info("flat", TensorProto.FLOAT, [batch])
    inputs = [helper.make_tensor_value_info("x", element, [batch, width])]
    model = helper.make_model(
        helper.make_graph(nodes, "linear", inputs, [output], initializers),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def load(settings: Settings, paths: dict[str, Path], file_format: str, config: dict | None = CONFIG):
    return predictors.load_predictor(
        file_format=file_format, algorithm=file_format, paths=paths, config=config or {}, settings=settings
    )


def refusal(call) -> str:
    with pytest.raises(InvalidArgument) as raised:
        call()
    return raised.value.details


def fitted(estimator):
    rng = np.random.default_rng(0)
    features = rng.random((200, 3)) * [5, 60, 300]
    return estimator.fit(features, features @ WEIGHTS + BIAS)


def expected_linear() -> np.ndarray:
    return ROWS @ WEIGHTS + BIAS


# ONNX


@pytest.mark.parametrize("flat", [False, True], ids=["batch-by-1", "batch"])
@pytest.mark.parametrize("element", [TensorProto.FLOAT, TensorProto.DOUBLE], ids=["float", "double"])
def test_an_onnx_model_predicts_one_number_per_customer(tmp_path: Path, settings: Settings, flat, element) -> None:
    paths = stored(tmp_path, "model.onnx", linear_onnx(flat=flat, element=element))
    predictor = load(settings, paths, "onnx")
    assert predictor.inputs == tuple(FEATURE_NAMES)
    predicted = predictor.predict(ROWS)
    assert predicted.shape == (3,) and predicted.dtype == np.float64
    np.testing.assert_allclose(predicted, expected_linear(), rtol=1e-5)
    assert predictor.predict(np.zeros((0, 3))).shape == (0,)
    assert "ONNX predictor taking 3 customer features" in predictors.check_upload(
        file_format="onnx", paths=paths, config=CONFIG, settings=settings
    )


def test_an_onnx_model_with_a_batch_of_one_runs_a_customer_at_a_time(tmp_path: Path, settings: Settings) -> None:
    predictor = load(settings, stored(tmp_path, "model.onnx", linear_onnx(batch=1)), "onnx")
    np.testing.assert_allclose(predictor.predict(ROWS), expected_linear(), rtol=1e-5)


def test_an_onnx_model_of_another_width_is_refused(tmp_path: Path, settings: Settings) -> None:
    paths = stored(tmp_path, "model.onnx", linear_onnx(width=4))
    details = refusal(
        lambda: predictors.check_upload(file_format="onnx", paths=paths, config=CONFIG, settings=settings)
    )
    assert details.startswith("model.onnx: input 'x' has shape [batch, 4]")
    assert "lists 3 features" in details
    assert "model.onnx" in refusal(lambda: load(settings, paths, "onnx"))


def test_an_onnx_model_whose_weights_live_in_another_file_is_refused(tmp_path: Path, settings: Settings) -> None:
    model = onnx.load_from_string(linear_onnx())
    onnx.external_data_helper.convert_model_to_external_data(
        model, all_tensors_to_one_file=True, location="../../outside.bin", size_threshold=0
    )
    paths = stored(tmp_path, "model.onnx", model.SerializeToString())
    details = refusal(lambda: load(settings, paths, "onnx"))
    assert details.startswith("model.onnx: weights stored outside the model file")


def test_a_file_that_is_not_onnx_is_refused(tmp_path: Path, settings: Settings) -> None:
    paths = stored(tmp_path, "model.onnx", b"not a model at all")
    assert refusal(lambda: load(settings, paths, "onnx")).startswith("model.onnx: not an ONNX model")


# skops


@pytest.mark.parametrize(
    "estimator",
    [
        LinearRegression(),
        GradientBoostingRegressor(n_estimators=20, random_state=0),
        HistGradientBoostingRegressor(max_iter=20, random_state=0),
        RandomForestRegressor(n_estimators=5, random_state=0),
        make_pipeline(StandardScaler(), LinearRegression()),
    ],
    ids=lambda estimator: type(estimator).__name__,
)
def test_a_scikit_learn_regressor_saved_with_skops_predicts_as_it_did(
    tmp_path: Path, settings: Settings, estimator
) -> None:
    model = fitted(estimator)
    paths = stored(tmp_path, "model.skops", skops.io.dumps(model))
    predictor = load(settings, paths, "skops")
    assert predictor.inputs == tuple(FEATURE_NAMES)
    np.testing.assert_allclose(predictor.predict(ROWS), model.predict(ROWS))
    described = predictors.check_upload(file_format="skops", paths=paths, config=CONFIG, settings=settings)
    assert described.startswith(f"scikit-learn {type(model).__name__} (skops) taking 3 customer features")


def test_a_skops_file_holding_an_untrusted_type_is_refused_unloaded(tmp_path: Path, settings: Settings) -> None:
    # Never fitted nor run: the file merely names os.system, as a malicious one would.
    model = make_pipeline(FunctionTransformer(func=os.system), fitted(LinearRegression()))
    paths = stored(tmp_path, "model.skops", skops.io.dumps(model))
    for call in (
        lambda: load(settings, paths, "skops"),
        lambda: predictors.check_upload(file_format="skops", paths=paths, config=CONFIG, settings=settings),
    ):
        details = refusal(call)
        assert details.startswith("model.skops: holds types Relevo does not trust")
        assert f"{os.system.__module__}.system" in details


def test_a_skops_estimator_fitted_on_other_columns_is_refused_at_upload(tmp_path: Path, settings: Settings) -> None:
    paths = stored(tmp_path, "model.skops", skops.io.dumps(fitted(LinearRegression())))
    config = {"features": ["frequency", "recency_days"]}
    details = refusal(
        lambda: predictors.check_upload(file_format="skops", paths=paths, config=config, settings=settings)
    )
    assert details == "model.skops: the estimator was fitted on 3 columns but artifacts/config.json lists 2 features"


def test_a_file_that_is_not_skops_is_refused(tmp_path: Path, settings: Settings) -> None:
    paths = stored(tmp_path, "model.skops", b"PK but not really")
    assert refusal(lambda: load(settings, paths, "skops")).startswith("model.skops: not a skops file")


# The config's features


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"features": ["frequency", "shoe_size", "mood"]}, "unknown customer features shoe_size, mood; Relevo builds"),
        ({"features": []}, "`features` must be a non-empty list of feature names"),
        ({"features": "frequency"}, "`features` must be a non-empty list of feature names"),
        ({"features": ["frequency", "frequency"]}, "`features` lists frequency more than once"),
    ],
)
def test_a_config_whose_features_relevo_cannot_build_is_refused(
    tmp_path: Path, settings: Settings, config: dict, problem: str
) -> None:
    paths = stored(tmp_path, "model.onnx", linear_onnx(), config)
    details = refusal(
        lambda: predictors.check_upload(file_format="onnx", paths=paths, config=config, settings=settings)
    )
    assert details.startswith(f"artifacts/config.json: {problem}")
    if "unknown" in problem:
        assert ", ".join(FEATURES) in details  # the documented set
    assert refusal(lambda: load(settings, paths, "onnx", config)).startswith("artifacts/config.json: ")


def test_a_predictor_without_features_is_stored_but_never_loaded(tmp_path: Path, settings: Settings) -> None:
    """The registry keeps any model; inference needs to know its inputs."""
    for config in (None, {"kind": "predictor"}):
        paths = stored(tmp_path / str(bool(config)), "model.onnx", linear_onnx(), config)
        described = predictors.check_upload(file_format="onnx", paths=paths, config=config, settings=settings)
        assert described == "ONNX predictor with no `features` in artifacts/config.json: not usable for inference"
        details = refusal(lambda paths=paths, config=config: load(settings, paths, "onnx", config))
        assert details.startswith("artifacts/config.json: a predictor must list the customer features it takes")
    assert predictors.read_config(paths) == {"kind": "predictor"}


def test_the_config_artifact_is_read_as_a_json_object(tmp_path: Path) -> None:
    paths = stored(tmp_path, "model.onnx", linear_onnx())
    assert predictors.read_config(paths) == CONFIG
    paths["artifacts/config.json"].write_text("[1, 2]")
    assert refusal(lambda: predictors.read_config(paths)) == "artifacts/config.json: must be a JSON object"
    paths["artifacts/config.json"].write_text("{nope")
    assert refusal(lambda: predictors.read_config(paths)).startswith("artifacts/config.json: not a JSON document")


# pickle and joblib


@pytest.mark.parametrize("file_format", ["pickle", "joblib"])
def test_pickle_and_joblib_are_refused_unless_the_operator_allows_them(
    tmp_path: Path, settings: Settings, file_format: str
) -> None:
    model = fitted(LinearRegression())
    file = tmp_path / "Model_0.pkl"
    if file_format == "joblib":
        joblib.dump(model, file)
    else:
        file.write_bytes(pickle.dumps(model))
    paths = stored(tmp_path, "Model_0.pkl", file.read_bytes())
    for call in (
        lambda: load(settings, paths, file_format),
        lambda: predictors.check_upload(file_format=file_format, paths=paths, config=CONFIG, settings=settings),
    ):
        details = refusal(call)
        assert details.startswith(f"Model_0.pkl: {file_format} files can run any code when loaded")
        assert "RELEVO_ALLOW_PICKLE_MODELS=true" in details
    allowed = settings.model_copy(update={"allow_pickle_models": True})
    np.testing.assert_allclose(load(allowed, paths, file_format).predict(ROWS), model.predict(ROWS))
    assert "not opened" in predictors.check_upload(
        file_format=file_format, paths=paths, config=CONFIG, settings=allowed
    )


# Relevo's own


def test_relevo_s_customer_spend_model_loads_from_its_arrays_and_manifest(tmp_path: Path, settings: Settings) -> None:
    history = PurchaseHistory(
        customer=np.array([0, 0, 1], dtype=np.int32),
        day=np.array([100, 130, 120], dtype=np.int32),
        amount=np.array([10.0, 20.0, 5.0]),
        category=np.array([-1, -1, -1], dtype=np.int32),
        categories=(),
        customers=2,
    )
    model = spend.CustomerSpend(spend.CustomerSpend.make_config({})).fit(history, 200, seed=0)
    spend.save(model, tmp_path, {})
    paths = {"arrays.npz": tmp_path / "arrays.npz", "manifest.json": tmp_path / "manifest.json"}
    predictor = predictors.load_predictor(
        file_format="relevo", algorithm="customer_spend", paths=paths, config={}, settings=settings
    )
    assert predictor.inputs == tuple(model.inputs)
    features = np.ones((2, len(model.inputs)))
    np.testing.assert_allclose(predictor.predict(features), model.predict(features))
    details = refusal(
        lambda: predictors.load_predictor(
            file_format="relevo", algorithm="hybrid", paths=paths, config={}, settings=settings
        )
    )
    assert details == "algorithm: 'hybrid' is a recommender, not a predictor of customer value"


def test_a_format_that_cannot_predict_is_refused(tmp_path: Path, settings: Settings) -> None:
    paths = stored(tmp_path, "factors.npz", b"")
    details = refusal(lambda: load(settings, paths, "factors"))
    assert details == "factors.npz: format 'factors' cannot be a predictor (onnx, skops or relevo)"
