"""The deployed version of each model name, loaded in this process and swapped for a new one
when a deploy (or rollback) happens anywhere: servers look for it every few seconds, so every
replica picks it up without a restart."""

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sqlalchemy.orm import Session

from relevo.core.caches import LockedCache
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.errors import Conflict, InvalidArgument, NotReady
from relevo.engine.base import Recommender
from relevo.engine.events import LEFT_OUT_TYPES
from relevo.events import service as events_service
from relevo.registry import external_recommenders, files, version_files
from relevo.registry import service as registry_service
from relevo.registry.files import DamagedFile
from relevo.registry.models import ModelVersion, VersionKind, VersionSource
from relevo.registry.version_files import RankedAhead

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

    def __init__(self, database: Database, settings: Settings, refresh_seconds: float, capacity: int) -> None:
        self._database = database
        self._settings = settings
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
                try:
                    with self._database.session(write=False) as session:
                        version = registry_service.get_or_raise(session=session, name=name, version=number)
                        kept = (time.monotonic(), self._load(session, version))
                except (OSError, ValueError, KeyError, DamagedFile) as exc:
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
            if loaded is not None and loaded.version_id == version.id:
                return loaded
            number = version.version
            try:
                return self._load(session, version)
            except (OSError, ValueError, KeyError, DamagedFile) as exc:
                # Files missing, damaged or unreadable (say, a replica without the shared
                # registry folder): keep serving what is loaded, and say why when nothing is.
                logger.error("cannot load version %d of %r: %s", number, name, exc)
                if loaded is not None:
                    return loaded
                raise NotReady(
                    f"version {number} of {name!r} is deployed but its files cannot be read ({exc}); "
                    "check that RELEVO_ARTIFACTS_DIR (or RELEVO_REGISTRY_URL) is where training writes to",
                    error="Model unavailable",
                ) from None

    def _load(self, session: Session, version: ModelVersion) -> DeployedVersion:
        """The version's files, each checked against its SHA-256, loaded. A predictor is refused:
        it answers /inference, not lists of products."""
        if version.kind != VersionKind.recommender:
            raise Conflict(
                f"{external_recommenders.not_a_recommender(version)}: it cannot serve recommendations; deploy a"
                " recommender under this name, or ask for another model"
            )
        started = time.perf_counter()
        paths = files.version_paths(session=session, settings=self._settings, version=version)
        if version.source == VersionSource.uploaded and version.format in external_recommenders.FORMATS:
            loaded = _uploaded(session, version, paths)
        else:
            loaded = _trained(version, paths)
        logger.info(
            "serving %s version %d (%s), loaded in %.2f s",
            version.name,
            version.version,
            version.algorithm,
            time.perf_counter() - started,
        )
        return loaded


def _trained(version: ModelVersion, paths: Mapping[str, Path]) -> DeployedVersion:
    loaded = version_files.read(paths)
    recommender = loaded.recommender
    return DeployedVersion(
        name=version.name,
        version=version.version,
        version_id=version.id,
        algorithm=version.algorithm,
        recommender=recommender,
        left_out=loaded.left_out,
        watermark=int(loaded.manifest.get("watermark", 0)),
        popularity=np.asarray((recommender.history > 0).sum(axis=0), dtype=np.float32).ravel(),
        ranked_ahead=loaded.ranked_ahead,
    )


def _uploaded(session: Session, version: ModelVersion, paths: Mapping[str, Path]) -> DeployedVersion:
    """A recommender trained elsewhere (docs/registry.md). None of the shop's events in Relevo
    was learned here, so every event of a user counts as since training (watermark 0), and no
    list was ranked ahead; what the users it knows bought or rated is read now, to leave out."""
    try:
        recommender = external_recommenders.load_recommender(
            file_format=version.format, paths=paths, config=version.config or {}
        )
    except InvalidArgument as exc:  # checked at upload: here, the files changed or Relevo did
        raise ValueError(exc.details) from None
    return DeployedVersion(
        name=version.name,
        version=version.version,
        version_id=version.id,
        algorithm=version.algorithm,
        recommender=recommender,
        left_out=_bought_or_rated(session, recommender),
        watermark=0,
        popularity=external_recommenders.fallback_popularity(recommender),
        ranked_ahead=None,
    )


def _bought_or_rated(session: Session, recommender: Recommender) -> sp.csr_matrix:
    """Users × items of the model: 1 where the user bought or rated the item."""
    shape = (len(recommender.users), len(recommender.items))
    if not len(recommender.users):
        return sp.csr_matrix(shape, dtype=np.float32)
    rows, columns = [np.zeros(0, dtype=np.int32)], [np.zeros(0, dtype=np.int32)]
    for pairs in events_service.user_products_of_types(session=session, event_types=LEFT_OUT_TYPES):
        users = recommender.users.indices(user for user, _ in pairs)
        items = recommender.items.indices(item for _, item in pairs)
        known = (users >= 0) & (items >= 0)
        rows.append(users[known])
        columns.append(items[known])
    rows, columns = np.concatenate(rows), np.concatenate(columns)
    matrix = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=shape)
    matrix.data[:] = 1.0  # an item bought twice is left out once
    return matrix
