"""The deployed version of each model name, loaded in this process and swapped for a new one
when a deploy (or rollback) happens anywhere: servers look for it every few seconds, so every
replica picks it up without a restart."""

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from relevo.core.caches import LockedCache
from relevo.core.db import Database
from relevo.core.errors import NotReady
from relevo.engine.base import Recommender
from relevo.registry import service as registry_service
from relevo.registry import version_files
from relevo.registry.version_files import RankedAhead
from relevo.storage.artifacts import ArtifactStore

logger = logging.getLogger("relevo.serving")


@dataclass(frozen=True)
class DeployedVersion:
    name: str
    version: int
    version_id: int
    algorithm: str
    recommender: Recommender
    left_out: sp.csr_matrix  # users × items the user bought or rated, in the model's vocabularies
    watermark: int  # the last event the model learned from
    popularity: np.ndarray  # per item, for users the model cannot say anything about
    ranked_ahead: RankedAhead | None  # each known user's list, ranked at training time

    def left_out_of(self, user_id: str) -> frozenset[str]:
        """What the user had bought or rated when the model was trained."""
        row = self.recommender.users.index(user_id)
        if row < 0:
            return frozenset()
        columns = self.left_out.indices[self.left_out.indptr[row] : self.left_out.indptr[row + 1]]
        return frozenset(self.recommender.items.lookup(columns).tolist())


class DeployedVersions:
    """Each model name's deployed version, loaded once per deploy; the `capacity` names used
    last are kept (a name no version was ever deployed under keeps nothing)."""

    def __init__(self, database: Database, store: ArtifactStore, refresh_seconds: float, capacity: int) -> None:
        self._database = database
        self._store = store
        self._refresh_seconds = refresh_seconds
        # name → (when the database was last asked, the version loaded or None)
        self._kept = LockedCache.lru(capacity)
        self._loading = threading.Lock()  # one load at a time, and no name loaded twice

    def get(self, name: str) -> DeployedVersion | None:
        """The deployed version (None if there is none), looking for a new deploy at most every
        `refresh_seconds`. Loading blocks: call from a worker thread."""
        if not self.needs_check(name):
            return self.cached(name)
        with self._loading:
            if self.needs_check(name):
                kept = self._kept.get(name)
                loaded = self._current(name, None if kept is None else kept[1])
                if loaded is None and kept is None:
                    return None  # any caller may send any name: nothing is kept for an unknown one
                self._kept.put(name, (time.monotonic(), loaded))
        return self.cached(name)

    def pinned(self, name: str, number: int) -> DeployedVersion:
        """One version of a model, deployed or not (an experiment's variant may name one):
        versions never change, so it is loaded once and kept like a name. Blocks."""
        key = (name, number)
        kept = self._kept.get(key)
        if kept is not None:
            return kept[1]
        with self._loading:
            kept = self._kept.get(key)
            if kept is None:
                with self._database.session(write=False) as session:
                    version = registry_service.get_or_raise(session=session, name=name, version=number)
                    version_id, algorithm, artifact = version.id, version.algorithm, version.artifact
                try:
                    kept = (time.monotonic(), self._load(name, version_id, number, algorithm, artifact or ""))
                except (OSError, ValueError, KeyError) as exc:
                    raise NotReady(
                        f"version {number} of {name!r} cannot be read ({exc})", error="Model unavailable"
                    ) from None
                self._kept.put(key, kept)
        return kept[1]

    def cached(self, name: str) -> DeployedVersion | None:
        """The version as last loaded, without looking for a newer one."""
        kept = self._kept.get(name)
        return None if kept is None else kept[1]

    def needs_check(self, name: str) -> bool:
        kept = self._kept.get(name)
        return kept is None or time.monotonic() - kept[0] >= self._refresh_seconds

    def __len__(self) -> int:
        """How many model names this process keeps."""
        return len(self._kept)

    def deployed_names(self) -> list[str]:
        """Every model name with a deployed version, from the database (for messages)."""
        with self._database.session(write=False) as session:
            return registry_service.deployed_names(session=session)

    def _current(self, name: str, loaded: DeployedVersion | None) -> DeployedVersion | None:
        with self._database.session(write=False) as session:
            version = registry_service.deployed(session=session, name=name)
            if version is None:
                return None
            version_id, number, algorithm, key = version.id, version.version, version.algorithm, version.artifact
        if loaded is not None and loaded.version_id == version_id:
            return loaded
        try:
            return self._load(name, version_id, number, algorithm, key)
        except (OSError, ValueError, KeyError) as exc:
            # Files missing or unreadable (say, a replica without the shared artifacts folder):
            # keep serving what is loaded, and say why when nothing is.
            logger.error("cannot load version %d of %r from %s: %s", number, name, key, exc)
            if loaded is not None:
                return loaded
            raise NotReady(
                f"version {number} of {name!r} is deployed but its files cannot be read ({exc}); "
                "check that RELEVO_ARTIFACTS_DIR is the folder training writes to",
                error="Model unavailable",
            ) from None

    def _load(self, name: str, version_id: int, number: int, algorithm: str, key: str) -> DeployedVersion:
        started = time.perf_counter()
        files = version_files.read(self._store, key)
        recommender = files.recommender
        logger.info(
            "serving %s version %d (%s), loaded in %.2f s", name, number, algorithm, time.perf_counter() - started
        )
        return DeployedVersion(
            name=name,
            version=number,
            version_id=version_id,
            algorithm=algorithm,
            recommender=recommender,
            left_out=files.left_out,
            watermark=int(files.manifest.get("watermark", 0)),
            popularity=np.asarray((recommender.history > 0).sum(axis=0), dtype=np.float32).ravel(),
            ranked_ahead=files.ranked_ahead,
        )
