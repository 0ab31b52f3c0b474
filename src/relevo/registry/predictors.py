"""Predictors: a stored model version that turns customer features into one number per
customer, loaded from its files whatever its format, and checked when it is uploaded.

Formats: ONNX (onnxruntime, CPU), scikit-learn saved with skops (loaded trusting only
trusted_types.py), Relevo's own arrays and manifest (the built-in customer_spend model), and
pickle or joblib only while RELEVO_ALLOW_PICKLE_MODELS is on, then as now: a stored pickle is
refused at load time once it is turned off. Every refusal is an InvalidArgument naming the
file and the problem.
"""

import json
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from relevo.core.config import Settings
from relevo.core.errors import InvalidArgument
from relevo.engine.customers import spend
from relevo.engine.customers.features import FEATURES, unknown_features
from relevo.registry.trusted_types import TRUSTED_TYPES

CONFIG_FILE = "artifacts/config.json"  # an uploaded version's config artifact
PICKLE_FORMATS = ("pickle", "joblib")
_ARTIFACTS = "artifacts/"
_ONNX_FLOATS = {"tensor(float)": np.float32, "tensor(double)": np.float64}


class Predictor(Protocol):
    inputs: tuple[str, ...]  # the customer features it takes, in column order

    def predict(self, features: np.ndarray) -> np.ndarray:
        """One prediction per row of `features` (customers × len(inputs), float64)."""
        ...


class OnnxPredictor:
    def __init__(self, session: Any, inputs: tuple[str, ...], file: str) -> None:
        self._session, self.inputs, self._file = session, inputs, file
        given = session.get_inputs()[0]
        self._input, self._dtype = given.name, _ONNX_FLOATS[given.type]
        self._output = session.get_outputs()[0].name
        batch = given.shape[0]
        # A model exported with a fixed batch of one is run a row at a time.
        self._rows = 1 if batch == 1 else None

    def predict(self, features: np.ndarray) -> np.ndarray:
        features = np.ascontiguousarray(features, dtype=self._dtype)
        if self._rows == 1 and len(features) != 1:
            return np.concatenate([self.predict(row[None, :]) for row in features]) if len(features) else np.zeros(0)
        try:
            (output,) = self._session.run([self._output], {self._input: features})
        except Exception as exc:  # onnxruntime raises its own classes, none exported as a base
            raise InvalidArgument(f"{self._file}: running the ONNX model failed ({_first_line(exc)})") from None
        return _one_per_row(np.asarray(output), len(features), self._file)


class EstimatorPredictor:
    """A scikit-learn estimator (or anything with `predict(X)`), from skops, pickle or joblib."""

    def __init__(self, estimator: Any, inputs: tuple[str, ...], file: str) -> None:
        self._estimator, self.inputs, self._file = estimator, inputs, file

    def predict(self, features: np.ndarray) -> np.ndarray:
        try:
            output = self._estimator.predict(np.asarray(features, dtype=np.float64))
        except Exception as exc:  # an uploaded estimator may raise anything on data it was not fitted for
            raise InvalidArgument(f"{self._file}: the model's predict failed ({_first_line(exc)})") from None
        return _one_per_row(np.asarray(output), len(features), self._file)


class RelevoPredictor:
    """Relevo's own customer_spend model."""

    def __init__(self, model: spend.CustomerSpend) -> None:
        self._model = model
        self.inputs = tuple(model.inputs)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.asarray(self._model.predict(features), dtype=np.float64).reshape(-1)


def load_predictor(
    *,
    file_format: str,
    algorithm: str,
    paths: Mapping[str, Path],
    config: dict[str, Any],
    settings: Settings,
) -> Predictor:
    """The predictor stored in `paths` (stored name → local file) in `file_format`; `config` is the
    version's config (an upload's config.json document)."""
    if file_format == "relevo":
        return _relevo(algorithm, paths)
    model_name, model_path = model_file(paths)
    inputs = feature_names(config, source=CONFIG_FILE)
    if file_format == "onnx":
        session = _onnx_session(model_name, model_path)
        _check_onnx(session, inputs, model_name)
        return OnnxPredictor(session, inputs, model_name)
    if file_format == "skops":
        return EstimatorPredictor(_skops(model_name, model_path), inputs, model_name)
    if file_format in PICKLE_FORMATS:
        return EstimatorPredictor(_unpickled(file_format, model_name, model_path, settings), inputs, model_name)
    raise InvalidArgument(f"{model_name}: format {file_format!r} cannot be a predictor (onnx, skops or relevo)")


def check_upload(
    *,
    file_format: str,
    paths: Mapping[str, Path],
    config: dict[str, Any] | None,
    settings: Settings,
) -> str:
    """Checks an uploaded predictor before it is stored: the features its config names are
    ones Relevo builds, an ONNX model takes one float input (as many columns as the features) and
    answers one number per row, a skops file holds only trusted types (and its estimator was
    fitted on as many columns); a pickle or joblib file is not opened (its code would run).
    A config without `features` is accepted (the registry keeps any model), and inference then
    refuses the version until it is uploaded with them. Returns a short description."""
    if file_format == "relevo":
        predictor = _relevo(str((config or {}).get("algorithm") or "customer_spend"), paths)
        return f"Relevo customer_spend model taking {_listed(predictor.inputs)}"
    model_name, model_path = model_file(paths)
    inputs = feature_names(config, source=CONFIG_FILE) if "features" in (config or {}) else None
    taking = f"taking {_listed(inputs)}" if inputs else f"with no `features` in {CONFIG_FILE}: not usable for inference"
    if file_format == "onnx":
        _check_onnx(_onnx_session(model_name, model_path), inputs, model_name)
        return f"ONNX predictor {taking}"
    if file_format == "skops":
        estimator = _skops(model_name, model_path)
        expected = getattr(estimator, "n_features_in_", None)
        if inputs and expected is not None and expected != len(inputs):
            raise InvalidArgument(
                f"{model_name}: the estimator was fitted on {expected} columns but {CONFIG_FILE} lists "
                f"{len(inputs)} features"
            )
        return f"scikit-learn {type(estimator).__name__} (skops) {taking}"
    if file_format in PICKLE_FORMATS:
        _refuse_pickle_unless_allowed(file_format, model_name, settings)
        return f"{file_format} model (not opened until it is used) {taking}"
    raise InvalidArgument(f"{model_name}: format {file_format!r} cannot be a predictor (onnx, skops or relevo)")


def model_file(paths: Mapping[str, Path]) -> tuple[str, Path]:
    """The stored model file: the one name not under artifacts/."""
    names = sorted(name for name in paths if not name.startswith(_ARTIFACTS))
    if len(names) != 1:
        raise InvalidArgument(f"model_file: the version holds {len(names)} model files ({', '.join(names)}), not one")
    return names[0], paths[names[0]]


def read_config(paths: Mapping[str, Path]) -> dict[str, Any] | None:
    """An uploaded version's config.json document, None without one."""
    path = paths.get(CONFIG_FILE)
    if path is None:
        return None
    try:
        document = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(f"{CONFIG_FILE}: not a JSON document ({exc})") from None
    if not isinstance(document, dict):
        raise InvalidArgument(f"{CONFIG_FILE}: must be a JSON object")
    return document


def feature_names(config: Mapping[str, Any] | None, *, source: str) -> tuple[str, ...]:
    """The customer features `config` declares (`features`, in column order), each one Relevo builds."""
    listed = (config or {}).get("features")
    if listed is None:
        raise InvalidArgument(
            f"{source}: a predictor must list the customer features it takes under `features` "
            f"(from {', '.join(FEATURES)})"
        )
    if not isinstance(listed, list) or not listed or not all(isinstance(name, str) for name in listed):
        raise InvalidArgument(f"{source}: `features` must be a non-empty list of feature names")
    if len(set(listed)) != len(listed):
        repeated = sorted({name for name in listed if listed.count(name) > 1})
        raise InvalidArgument(f"{source}: `features` lists {', '.join(repeated)} more than once")
    unknown = unknown_features(listed)
    if unknown:
        raise InvalidArgument(
            f"{source}: unknown customer features {', '.join(unknown)}; Relevo builds {', '.join(FEATURES)}"
        )
    return tuple(listed)


def _relevo(algorithm: str, paths: Mapping[str, Path]) -> RelevoPredictor:
    if algorithm != "customer_spend":
        raise InvalidArgument(f"algorithm: {algorithm!r} is a recommender, not a predictor of customer value")
    try:
        model, manifest = spend.load(_relevo_files(paths))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(f"manifest.json: not a readable customer_spend model ({_first_line(exc)})") from None
    if manifest.get("algorithm", "customer_spend") != "customer_spend":
        raise InvalidArgument(f"manifest.json: algorithm {manifest.get('algorithm')!r} is not customer_spend")
    unknown = unknown_features(list(model.inputs))
    if unknown:
        raise InvalidArgument(f"manifest.json: unknown customer features {', '.join(unknown)}")
    return RelevoPredictor(model)


def _relevo_files(paths: Mapping[str, Path]) -> dict[str, Path]:
    """Stored names as spend.load reads them: a trained version's are already; an upload's model
    file (`x.npz`) and `artifacts/manifest.json` are the arrays and the manifest."""
    files = dict(paths)
    for name, path in paths.items():
        if name.endswith(".npz") and "arrays.npz" not in files:
            files["arrays.npz"] = path
        if name == f"{_ARTIFACTS}manifest.json" and "manifest.json" not in files:
            files["manifest.json"] = path
    return files


def _onnx_session(name: str, path: Path) -> Any:
    import onnx
    import onnxruntime

    try:
        # The graph alone, to see where its weights live before onnxruntime reads any.
        graph = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and onnx's own
        raise InvalidArgument(f"{name}: not an ONNX model ({_first_line(exc)})") from None
    external = [tensor.name for tensor in graph.graph.initializer if tensor.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        # External data names a file path of its own choosing: a way out of the version's folder.
        raise InvalidArgument(f"{name}: weights stored outside the model file ({', '.join(external[:5])}); embed them")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # small models, many requests: threads of the server's own
    options.inter_op_num_threads = 1
    try:
        return onnxruntime.InferenceSession(
            graph.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's exception classes share no exported base
        raise InvalidArgument(f"{name}: onnxruntime cannot load the model ({_first_line(exc)})") from None


def _check_onnx(session: Any, inputs: Sequence[str] | None, name: str) -> None:
    """One float input [batch, len(inputs)] (any width when `inputs` is None), and a first output
    of one number per row."""
    given = session.get_inputs()
    if len(given) != 1:
        raise InvalidArgument(f"{name}: the model takes {len(given)} inputs; a predictor takes one, [batch, features]")
    tensor = given[0]
    if tensor.type not in _ONNX_FLOATS:
        raise InvalidArgument(f"{name}: input {tensor.name!r} is {tensor.type}; a predictor takes float or double")
    if len(tensor.shape) != 2:
        raise InvalidArgument(
            f"{name}: input {tensor.name!r} has shape {_shape(tensor.shape)}; it must be [batch, features]"
        )
    if inputs is not None and tensor.shape[1] != len(inputs):
        raise InvalidArgument(
            f"{name}: input {tensor.name!r} has shape {_shape(tensor.shape)}, but {CONFIG_FILE} lists "
            f"{len(inputs)} features: it must be [batch, {len(inputs)}]"
        )
    output = session.get_outputs()[0]
    shape = list(output.shape or [])
    one_column = len(shape) == 2 and (shape[1] == 1 or not isinstance(shape[1], int))
    if shape and len(shape) != 1 and not one_column:
        raise InvalidArgument(
            f"{name}: output {output.name!r} has shape {_shape(shape)}; it must be [batch] or [batch, 1]"
        )


def _skops(name: str, path: Path) -> Any:
    import skops.io

    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # zipfile, JSON and skops' own errors alike: not a skops file
        raise InvalidArgument(f"{name}: not a skops file ({_first_line(exc)})") from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise InvalidArgument(
            f"{name}: holds types Relevo does not trust, {', '.join(refused)}; only scikit-learn regressors, "
            "pipelines and their transformers load"
        )
    try:
        estimator = skops.io.load(path, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # whatever the file's contents make skops raise
        raise InvalidArgument(f"{name}: skops cannot load the model ({_first_line(exc)})") from None
    if not callable(getattr(estimator, "predict", None)):
        raise InvalidArgument(f"{name}: holds a {type(estimator).__name__}, which has no predict")
    return estimator


def _refuse_pickle_unless_allowed(file_format: str, name: str, settings: Settings) -> None:
    if not settings.allow_pickle_models:
        raise InvalidArgument(
            f"{name}: {file_format} files can run any code when loaded, so this server refuses them; "
            "an operator may allow them with RELEVO_ALLOW_PICKLE_MODELS=true (then only admins upload them)"
        )


def _unpickled(file_format: str, name: str, path: Path, settings: Settings) -> Any:
    _refuse_pickle_unless_allowed(file_format, name, settings)
    try:
        if file_format == "joblib":
            import joblib

            estimator = joblib.load(path)
        else:
            with path.open("rb") as stream:
                estimator = pickle.load(stream)  # allowed by the operator, see above
    except Exception as exc:  # unpickling raises whatever the file's code raises
        raise InvalidArgument(f"{name}: the {file_format} file cannot be loaded ({_first_line(exc)})") from None
    if not callable(getattr(estimator, "predict", None)):
        raise InvalidArgument(f"{name}: holds a {type(estimator).__name__}, which has no predict")
    return estimator


def _one_per_row(output: np.ndarray, rows: int, name: str) -> np.ndarray:
    if output.size != rows or (output.ndim == 2 and output.shape[1] != 1) or output.ndim > 2:
        raise InvalidArgument(f"{name}: the model answered shape {list(output.shape)} for {rows} customers")
    return output.astype(np.float64).reshape(-1)


def _listed(inputs: Sequence[str]) -> str:
    return f"{len(inputs)} customer feature{'s' if len(inputs) != 1 else ''}: {', '.join(inputs)}"


def _shape(shape: Sequence[Any]) -> str:
    return "[" + ", ".join("?" if dim is None else str(dim) for dim in shape) + "]"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
