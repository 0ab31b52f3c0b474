"""Checking an uploaded model by loading it, before it is registered: a file that would fail
when served or asked for a prediction is refused at upload, with what is wrong."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from relevo.core.config import Settings
from relevo.core.errors import InvalidArgument
from relevo.registry import external_recommenders, predictors
from relevo.registry.formats import ModelFormat
from relevo.registry.models import VersionKind


def check(
    *,
    kind: VersionKind,
    file_format: ModelFormat,
    paths: Mapping[str, Path],
    config: dict[str, Any],
    settings: Settings,
) -> dict[str, Any]:
    """A short description of the loaded model (its inputs, sizes); InvalidArgument naming the
    file and the problem when it does not load as its kind and format say."""
    model_name, model_path = next(iter(paths.items()))
    if kind == VersionKind.predictor:
        return {"predictor": predictors.check_upload(format=file_format, paths=paths, config=config, settings=settings)}
    if file_format in (ModelFormat.factors, ModelFormat.onnx):
        return external_recommenders.check_upload(format=file_format, paths=paths, config=config)
    if file_format in (ModelFormat.factors, ModelFormat.relevo):
        return _npz_arrays(model_name, model_path)
    if file_format == ModelFormat.onnx:
        return _onnx(model_name, model_path)
    return {}


def _npz_arrays(name: str, path: Path) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as stored:
            shapes = {array: list(stored[array].shape) for array in stored.files}
    except (ValueError, OSError, EOFError) as exc:
        raise InvalidArgument(f"model_file: {name!r} does not load as .npz without pickle ({exc})") from None
    return {"arrays": shapes}


def _onnx(name: str, path: Path) -> dict[str, Any]:
    import onnxruntime  # loaded by the servers that serve ONNX models only

    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for every kind of bad model
        raise InvalidArgument(f"model_file: {name!r} does not load as ONNX ({exc})") from None
    return {
        "inputs": [{"name": node.name, "shape": node.shape, "type": node.type} for node in session.get_inputs()],
        "outputs": [{"name": node.name, "shape": node.shape, "type": node.type} for node in session.get_outputs()],
    }
