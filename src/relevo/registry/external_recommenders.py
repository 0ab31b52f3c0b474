"""Recommenders a shop trained elsewhere and uploaded (docs/registry.md, "Bring your own
recommender"): checked when they are uploaded, loaded from a version's verified files when they
serve. Two layouts: the shop's user and item factors (format "factors", an `.npz`), and an ONNX
model that scores every item for a user's interaction weights (format "onnx" whose config.json
says `"kind": "recommender"`)."""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from relevo.core.errors import InvalidArgument
from relevo.engine.algorithms.factors import ExternalFactors
from relevo.engine.base import Recommender
from relevo.engine.uploaded_factors import MAX_ID_LENGTH, MAX_ITEMS, LayoutError, read_layout
from relevo.registry.models import ModelVersion

FORMATS = ("factors", "onnx")
ARTIFACTS = "artifacts/"
# Where an ONNX recommender's item ids may come from, in this order: config.json's `item_ids`,
# then one of these artifacts (a JSON list of strings, or one id per line).
ITEM_ID_FILES = ("artifacts/item_ids.json", "artifacts/item_ids.txt")


def not_a_recommender(version: ModelVersion) -> str:
    """Why a version of another kind (a predictor) cannot rank products."""
    return (
        f"version {version.version} of {version.name!r} is a {version.kind} (it answers /inference), not a recommender"
    )


def load_recommender(
    *,
    file_format: str,
    paths: Mapping[str, Path],
    config: Mapping[str, Any],
) -> Recommender:
    """The recommender of an uploaded version: `paths` maps its stored file names (the model
    file, and `artifacts/<name>` for each artifact) to verified local paths, `config` is its
    config.json document. InvalidArgument naming the file and the problem."""
    if file_format not in FORMATS:
        raise InvalidArgument(
            f"format: {file_format!r} models are not recommenders; a recommender is uploaded as factors (.npz) or as"
            ' ONNX with "kind": "recommender" in config.json (docs/registry.md)'
        )
    name, path = _model_file(paths)
    kind = config.get("kind", "recommender" if file_format == "factors" else None)
    if kind != "recommender":
        raise InvalidArgument(
            f'config.json: "kind" is {kind!r}; a {file_format} model serves recommendations only with "kind":'
            ' "recommender" (a "predictor" answers /inference)'
        )
    if file_format == "factors":
        try:
            return read_layout(path)
        except LayoutError as exc:
            raise InvalidArgument(f"{name}: {exc}") from None
    item_ids = _item_ids(paths, config)
    # Imported here: onnxruntime is loaded by the processes that serve an ONNX model only.
    from relevo.registry.onnx_recommender import OnnxLayoutError, OnnxScorer

    try:
        return OnnxScorer.load(path, item_ids)
    except OnnxLayoutError as exc:
        raise InvalidArgument(f"{name}: {exc}") from None


def check_upload(
    *,
    file_format: str,
    paths: Mapping[str, Path],
    config: Mapping[str, Any],
) -> dict[str, Any]:
    """Loads an upload as it will serve (InvalidArgument as `load_recommender`); a short
    description of it for the version's record."""
    model = load_recommender(file_format=file_format, paths=paths, config=config)
    if isinstance(model, ExternalFactors):
        return {
            "users": len(model.users),
            "items": len(model.items),
            "factors": int(model.item_factors.shape[1]),
            "item_popularity": model.item_popularity is not None,
        }
    return {"items": len(model.items)}


def fallback_popularity(recommender: Recommender) -> np.ndarray:
    """Per item, what serves users the model can say nothing of (no events at all): the
    uploaded `item_popularity` when there is one, else the model's own answer for an empty
    history (the average user's, for factors) as positive ranks, best highest."""
    uploaded = getattr(recommender, "item_popularity", None)
    if uploaded is not None and (uploaded > 0).any():
        return np.asarray(uploaded, dtype=np.float32)
    count = len(recommender.items)
    empty = sp.csr_matrix((1, count), dtype=np.float32)
    best, _ = recommender.recommend_indices(np.array([-1], dtype=np.int32), count, histories=empty)
    ranked = best[0][best[0] >= 0]
    popularity = np.zeros(count, dtype=np.float32)
    popularity[ranked] = np.arange(len(ranked), 0, -1, dtype=np.float32)
    return popularity


def _model_file(paths: Mapping[str, Path]) -> tuple[str, Path]:
    models = [name for name in paths if not name.startswith(ARTIFACTS)]
    if len(models) != 1:
        raise InvalidArgument(f"model_file: a version has one model file; found {len(models)}")
    return models[0], paths[models[0]]


def _item_ids(paths: Mapping[str, Path], config: Mapping[str, Any]) -> list[str]:
    """The ONNX recommender's item ids, in its columns' order; InvalidArgument naming where."""
    if "item_ids" in config:
        return _checked_ids(config["item_ids"], "config.json: item_ids")
    for name in ITEM_ID_FILES:
        if name in paths:
            text = _text(paths[name], name)
            if name.endswith(".json"):
                try:
                    ids = json.loads(text)
                except ValueError as exc:
                    raise InvalidArgument(f"{name}: not JSON ({exc})") from None
            else:
                ids = text.splitlines()
                if ids and ids[-1] == "":
                    ids.pop()
            return _checked_ids(ids, name)
    raise InvalidArgument(
        'item_ids: an ONNX recommender needs its item ids, in its columns\' order: "item_ids" in config.json, '
        "or an artifact item_ids.json (a JSON list) or item_ids.txt (one per line)"
    )


def _text(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument(f"{name}: not UTF-8 text") from None


def _checked_ids(ids: Any, where: str) -> list[str]:
    if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
        raise InvalidArgument(f"{where}: must be a list of strings (product ids)")
    if not ids:
        raise InvalidArgument(f"{where}: empty; there must be at least one item")
    if len(ids) > MAX_ITEMS:
        raise InvalidArgument(f"{where}: {len(ids):,} ids; at most {MAX_ITEMS:,}")
    seen: set[str] = set()
    for position, item in enumerate(ids):
        if not item or len(item) > MAX_ID_LENGTH:
            raise InvalidArgument(f"{where}: the id at position {position} is empty or over {MAX_ID_LENGTH} characters")
        if item in seen:
            raise InvalidArgument(f"{where}: the id {item!r} appears more than once")
        seen.add(item)
    return ids
