"""A version's files: taken into the content-addressed store (storage/blobs.py) and recorded by
name and SHA-256, read back as local paths whose hash has just been checked, and deleted from
the store once no version uses them. The one place that knows where a version's files are."""

import logging
import re
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.core.config import Settings
from relevo.registry.models import ModelFile, ModelVersion
from relevo.storage.blobs import BlobStore, ChecksumMismatch, open_store

logger = logging.getLogger("relevo.registry")
_LEGACY_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}/[0-9]{1,9}$")


class DamagedFile(Exception):
    """A version's file is missing from the store or no longer has its recorded SHA-256."""


def store_for(settings: Settings) -> BlobStore:
    return open_store(settings.registry_url, settings.resolved_artifacts_dir)


def add(
    *, session: Session, store: BlobStore, version: ModelVersion, files: Iterable[tuple[str, str, Path]]
) -> list[ModelFile]:
    """Stores each (name, role, local file) and records it as the version's."""
    rows = []
    for name, role, path in files:
        blob = store.put(path)
        rows.append(ModelFile(version_id=version.id, role=role, name=name, sha256=blob.sha256, size=blob.size))
    session.add_all(rows)
    session.flush()
    return rows


def add_folder(*, session: Session, store: BlobStore, version: ModelVersion, folder: Path) -> list[ModelFile]:
    """Stores every file a training wrote into `folder` (flat) as the version's."""
    return add(
        session=session,
        store=store,
        version=version,
        files=[(path.name, "trained", path) for path in sorted(folder.iterdir()) if path.is_file()],
    )


def listed(*, session: Session, version_id: int) -> list[ModelFile]:
    return list(session.scalars(select(ModelFile).where(ModelFile.version_id == version_id).order_by(ModelFile.id)))


def local_paths(*, store: BlobStore, files: Iterable[ModelFile], legacy: Path | None = None) -> dict[str, Path]:
    """Each file's name → a local path whose content has just been checked against its SHA-256
    (DamagedFile when one is missing or differs). `legacy`: the folder of a version trained
    before files were recorded by hash, read as it is (it has nothing to check against)."""
    paths = {}
    for file in files:
        try:
            paths[file.name] = store.local_path(file.sha256)
        except (FileNotFoundError, ChecksumMismatch) as exc:
            raise DamagedFile(f"{file.name}: {exc}") from None
    if not paths and legacy is not None:
        paths = {path.name: path for path in legacy.iterdir() if path.is_file()}
    return paths


def version_paths(*, session: Session, settings: Settings, version: ModelVersion) -> dict[str, Path]:
    """The version's files as checked local paths (see local_paths)."""
    legacy = _legacy_folder(settings.resolved_artifacts_dir, version.artifact) if version.artifact else None
    return local_paths(store=store_for(settings), files=listed(session=session, version_id=version.id), legacy=legacy)


def _legacy_folder(root: Path, key: str) -> Path | None:
    """The folder "name/version" a version trained before migration 0013 was written to."""
    if not _LEGACY_KEY.match(key) or ".." in key:
        return None
    folder = root / key
    return folder if folder.is_dir() else None


def unused(*, session: Session, sha256s: Iterable[str]) -> list[str]:
    """Those of these contents that no version's file uses any more."""
    wanted = set(sha256s)
    if not wanted:
        return []
    used = set(session.scalars(select(ModelFile.sha256).where(ModelFile.sha256.in_(wanted))))
    return sorted(wanted - used)


def delete_contents(store: BlobStore, sha256s: Iterable[str]) -> None:
    """Deletes contents from the store (after the transaction that stopped using them committed)."""
    for sha256 in sha256s:
        try:
            store.delete(sha256)
        except OSError as exc:  # left behind, harmlessly: nothing refers to it
            logger.warning("could not delete stored file %s: %s", sha256, exc)
