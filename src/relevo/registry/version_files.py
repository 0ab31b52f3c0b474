"""What a trained recommender version is made of, written and read here alone: the model (the
engine's artifact: arrays and manifest), what each user bought or rated (left out of their
answers), and each known user's list ranked ahead at training time. Written into a staging
folder that the registry's file store then takes in (registry/files.py); read back from the
files the store has checked."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from relevo.engine import artifacts
from relevo.engine.base import Recommender, sparse_arrays, sparse_from_arrays

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


def write(
    directory: Path,
    *,
    recommender: Recommender,
    extra: dict[str, Any],
    left_out: sp.csr_matrix,
    ranked_ahead: RankedAhead | None,
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if ranked_ahead is not None:
        arrays = {name: getattr(ranked_ahead, name) for name in ("items", "scores", "top", "sources")}
        np.savez(directory / _RANKED_AHEAD, **{name: array for name, array in arrays.items() if array is not None})
    np.savez(directory / _LEFT_OUT, **sparse_arrays("bought", left_out))
    artifacts.save(recommender, directory, extra=extra)


def read(paths: Mapping[str, Path]) -> VersionFiles:
    """The version from its files (by name); OSError, ValueError or KeyError when they are missing
    or unreadable."""
    recommender, manifest = artifacts.load_files(manifest=paths[artifacts.MANIFEST], arrays=paths[artifacts.ARRAYS])
    with np.load(paths[_LEFT_OUT], allow_pickle=False) as stored:
        left_out = sparse_from_arrays("bought", {name: stored[name] for name in stored.files})
    ranked_ahead = None
    if _RANKED_AHEAD in paths:
        with np.load(paths[_RANKED_AHEAD], allow_pickle=False) as stored:
            ranked_ahead = RankedAhead(**{name: stored[name] for name in stored.files})
    return VersionFiles(recommender=recommender, manifest=manifest, left_out=left_out, ranked_ahead=ranked_ahead)
