"""The deployed model of each name, loaded in this process and swapped for a new one when a
deploy (or rollback) happens anywhere: servers look for it every few seconds, so every
replica picks it up without a restart."""

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from relevo.core.db import Database
from relevo.core.errors import NotReady
from relevo.engine import artifacts
from relevo.engine.base import Recommender, sparse_from_arrays
from relevo.registry import service as registry_service
from relevo.registry.training import BOUGHT, RANKED_AHEAD

logger = logging.getLogger("relevo.serving")


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: int
    version_id: int
    algorithm: str
    recommender: Recommender
    bought: sp.csr_matrix  # users × items the user bought or rated, in the model's vocabularies
    watermark: int  # the last event the model learned from
    popularity: np.ndarray  # per item, for users the model cannot say anything about
    # Each known user's best items less what they bought (indices, -1 padded) and scores,
    # ranked at training time.
    precomputed: tuple[np.ndarray, np.ndarray] | None = None


class DeployedModels:
    """Each model name's deployed version, loaded once per deploy."""

    def __init__(self, database: Database, artifacts_dir: Path, refresh_seconds: float) -> None:
        self._database = database
        self._artifacts_dir = artifacts_dir
        self._refresh_seconds = refresh_seconds
        self._served: dict[str, ServedModel | None] = {}
        self._checked: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> ServedModel | None:
        """The deployed model (None if there is none), looking for a new deploy at most every
        `refresh_seconds`. Loading blocks: call from a worker thread."""
        now = time.monotonic()
        if now - self._checked.get(name, -np.inf) < self._refresh_seconds:
            return self._served.get(name)
        with self._lock:
            if now - self._checked.get(name, -np.inf) >= self._refresh_seconds:
                served = self._current(name)
                if served is None and name not in self._served:
                    # Nothing was ever deployed under this name: nothing is kept for it, since any
                    # caller may send any name (each is looked up again, at the cost of a query).
                    return None
                self._served[name] = served
                self._checked[name] = time.monotonic()
        return self._served.get(name)

    def __len__(self) -> int:
        """How many model names this process keeps."""
        return len(self._served)

    def cached(self, name: str) -> ServedModel | None:
        """The model as last loaded, without looking for a newer one."""
        return self._served.get(name)

    def needs_check(self, name: str) -> bool:
        return time.monotonic() - self._checked.get(name, -np.inf) >= self._refresh_seconds

    def _current(self, name: str) -> ServedModel | None:
        with self._database.session(write=False) as session:
            version = registry_service.deployed(session=session, name=name)
            if version is None:
                return None
            key = (version.id, version.version, version.algorithm, version.artifact)
        loaded = self._served.get(name)
        if loaded is not None and loaded.version_id == key[0]:
            return loaded
        try:
            return self._load(name, *key)
        except (OSError, ValueError, KeyError) as exc:
            # Files missing or unreadable (say, a replica without the shared artifacts folder):
            # keep serving what is loaded, and say why when nothing is.
            logger.error("cannot load version %d of %r from %s: %s", key[1], name, key[3], exc)
            if loaded is not None:
                return loaded
            raise NotReady(
                f"version {key[1]} of {name!r} is deployed but its files cannot be read ({exc}); "
                "check that RELEVO_ARTIFACTS_DIR is the folder training writes to",
                error="Model unavailable",
            ) from None

    def _load(self, name: str, version_id: int, number: int, algorithm: str, artifact: str) -> ServedModel:
        directory = self._artifacts_dir / artifact
        started = time.perf_counter()
        recommender, manifest = artifacts.load(directory)
        with np.load(directory / BOUGHT, allow_pickle=False) as stored:
            bought = sparse_from_arrays("bought", {key: stored[key] for key in stored.files})
        precomputed = None
        if (directory / RANKED_AHEAD).exists():
            with np.load(directory / RANKED_AHEAD, allow_pickle=False) as stored:
                precomputed = (stored["items"], stored["scores"])
        seconds = time.perf_counter() - started
        logger.info("serving %s version %d (%s), loaded in %.2f s", name, number, algorithm, seconds)
        return ServedModel(
            name=name,
            version=number,
            version_id=version_id,
            algorithm=algorithm,
            recommender=recommender,
            bought=bought,
            watermark=int(manifest.get("watermark", 0)),
            popularity=np.asarray((recommender.history > 0).sum(axis=0), dtype=np.float32).ravel(),
            precomputed=precomputed,
        )
