"""Model artifacts: a folder with `arrays.npz` (every learned array, loaded without pickle)
and `manifest.json` (algorithm, configuration and its hash, library versions, and whatever
the trainer adds: data watermark, metrics)."""

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from relevo.engine.algorithms import recommender_class
from relevo.engine.base import Recommender

ARRAYS = "arrays.npz"
MANIFEST = "manifest.json"
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "implicit")


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def save(recommender: Recommender, directory: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Writes the recommender to `directory` (created if needed); returns the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays = recommender.to_arrays()
    objects = [name for name, value in arrays.items() if value.dtype == object]
    if objects:
        raise TypeError(f"arrays of Python objects cannot be saved without pickle: {objects}")
    np.savez(directory / ARRAYS, **arrays)
    config = recommender.config_dict()
    manifest = {
        "algorithm": recommender.algorithm,
        "config": config,
        "config_hash": config_hash(config),
        "users": len(recommender.users),
        "items": len(recommender.items),
        "libraries": library_versions(),
        **(extra or {}),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    return manifest


def load(directory: Path) -> tuple[Recommender, dict[str, Any]]:
    """The recommender saved in `directory`, and its manifest."""
    return load_files(manifest=directory / MANIFEST, arrays=directory / ARRAYS)


def load_files(*, manifest: Path, arrays: Path) -> tuple[Recommender, dict[str, Any]]:
    """The recommender saved as these two files (wherever the store keeps them), and its manifest."""
    document = json.loads(manifest.read_text())
    cls = recommender_class(document["algorithm"])
    with np.load(arrays, allow_pickle=False) as stored:
        learned = {name: stored[name] for name in stored.files}
    return cls.from_arrays(cls.make_config(document["config"]), learned), document


def library_versions() -> dict[str, str]:
    """The versions of Python and the libraries a model's arrays come from, as manifests record them."""
    return {"python": platform.python_version(), **_versions()}


def _versions() -> dict[str, str]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
