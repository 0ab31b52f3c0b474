"""Checking an uploaded model by loading it, before it is registered: a file that would fail
when served or asked for a prediction is refused at upload, with what is wrong."""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from relevo.core.config import Settings
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
    file and the problem when it does not load as its kind and format say. `paths`: the model
    file first, then the artifacts."""
    if kind == VersionKind.predictor:
        described = predictors.check_upload(file_format=file_format, paths=paths, config=config, settings=settings)
        return {"predictor": described}
    return external_recommenders.check_upload(file_format=file_format, paths=paths, config=config)
