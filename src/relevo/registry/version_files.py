"""What a trained version leaves on disk, written and read here alone: the model (the engine's
artifact: arrays and manifest), what each user bought or rated (left out of their answers),
and each known user's list ranked ahead at training time. Through the artifact store, under
the version's key ("name/version")."""

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from relevo.core.config import Settings
from relevo.engine import artifacts
from relevo.engine.base import Recommender, sparse_arrays, sparse_from_arrays
from relevo.storage.artifacts import ArtifactStore, LocalArtifactStore

_LEFT_OUT = "bought.npz"
# A new name since lists stopped holding bought items, so older versions' lists are not read as such.
_RANKED_AHEAD = "ranked_ahead.npz"


@dataclass(frozen=True)
class RankedAhead:
    """Each known user's best items (rows by the model's user index; item indices, -1 padded)
    and their scores, less what the user bought or rated, ranked at training time; and why
    (engine/explain.py), which versions trained before reasons were kept lack."""

    items: np.ndarray  # users × count, int32
    scores: np.ndarray  # users × count, float32
    top: np.ndarray | None = None  # users × count, int8: the explain.PART_CODES of each item's largest part
    sources: np.ndarray | None = None  # users × count, int32: the user's item behind it, -1 for none


@dataclass(frozen=True)
class VersionFiles:
    recommender: Recommender
    manifest: dict[str, Any]
    left_out: sp.csr_matrix  # users × items the user bought or rated, in the model's vocabularies
    ranked_ahead: RankedAhead | None


def store_for(settings: Settings) -> ArtifactStore:
    return LocalArtifactStore(settings.resolved_artifacts_dir)


def write(
    store: ArtifactStore,
    key: str,
    *,
    recommender: Recommender,
    extra: dict[str, Any],
    left_out: sp.csr_matrix,
    ranked_ahead: RankedAhead | None,
) -> None:
    directory = store.directory(key)
    if ranked_ahead is not None:
        arrays = {name: getattr(ranked_ahead, name) for name in ("items", "scores", "top", "sources")}
        np.savez(directory / _RANKED_AHEAD, **{name: array for name, array in arrays.items() if array is not None})
    np.savez(directory / _LEFT_OUT, **sparse_arrays("bought", left_out))
    artifacts.save(recommender, directory, extra=extra)


def read(store: ArtifactStore, key: str) -> VersionFiles:
    """The version's files; OSError, ValueError or KeyError when they are missing or unreadable."""
    directory = store.find(key)
    recommender, manifest = artifacts.load(directory)
    with np.load(directory / _LEFT_OUT, allow_pickle=False) as stored:
        left_out = sparse_from_arrays("bought", {name: stored[name] for name in stored.files})
    ranked_ahead = None
    if (directory / _RANKED_AHEAD).exists():
        with np.load(directory / _RANKED_AHEAD, allow_pickle=False) as stored:
            ranked_ahead = RankedAhead(**{name: stored[name] for name in stored.files})
    return VersionFiles(recommender=recommender, manifest=manifest, left_out=left_out, ranked_ahead=ranked_ahead)


def delete(store: ArtifactStore, key: str) -> None:
    store.delete(key)
