"""The content-addressed store on its own, against both backends (a local folder, and an fsspec
file system), and a version's files as the registry records and reads them."""

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from relevo.core.config import Settings
from relevo.registry import files, service
from relevo.registry.files import DamagedFile
from relevo.storage.blobs import BlobStore, ChecksumMismatch, FsspecBlobStore, LocalBlobStore, relative_path, sha256_of


@pytest.fixture(params=["local", "fsspec"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "store")
    return FsspecBlobStore(f"file://{tmp_path / 'remote'}", cache=tmp_path / "cache")


def written(tmp_path: Path, content: bytes, name: str = "source") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_a_content_is_stored_once_under_its_hash_and_read_back_checked(store: BlobStore, tmp_path: Path) -> None:
    source = written(tmp_path, b"the model")
    blob = store.put(source)
    again = store.put(written(tmp_path, b"the model", "copy"))

    assert blob == again and blob.sha256 == sha256_of(source) and blob.size == 9
    assert store.local_path(blob.sha256).read_bytes() == b"the model"
    with store.open(blob.sha256) as stream:
        assert stream.read() == b"the model"


def test_a_changed_content_is_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "store")
    blob = store.put(written(tmp_path, b"the model"))
    (tmp_path / "store" / relative_path(blob.sha256)).write_bytes(b"another model")

    with pytest.raises(ChecksumMismatch, match=blob.sha256):
        store.local_path(blob.sha256)


def test_a_damaged_local_copy_of_an_object_store_is_fetched_again(tmp_path: Path) -> None:
    store = FsspecBlobStore(f"file://{tmp_path / 'remote'}", cache=tmp_path / "cache")
    blob = store.put(written(tmp_path, b"the model"))
    (tmp_path / "cache" / relative_path(blob.sha256)).write_bytes(b"damaged")

    assert store.local_path(blob.sha256).read_bytes() == b"the model"
    (tmp_path / "remote" / relative_path(blob.sha256)).write_bytes(b"damaged at the source")
    (tmp_path / "cache" / relative_path(blob.sha256)).unlink()
    with pytest.raises(ChecksumMismatch):
        store.local_path(blob.sha256)


def test_deleted_contents_are_gone(store: BlobStore, tmp_path: Path) -> None:
    blob = store.put(written(tmp_path, b"the model"))
    store.delete(blob.sha256)

    with pytest.raises(FileNotFoundError):
        store.local_path(blob.sha256)


def test_only_digests_make_paths() -> None:
    for wrong in ("../../etc/passwd", "ab", "A" * 64, "g" * 64):
        with pytest.raises(ValueError):
            relative_path(wrong)


def test_a_version_reads_its_recorded_files_or_its_folder_from_before_hashes(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    version = service.create_version(session=session, name="m", algorithm="popular", config={}, created_by=None)
    store = files.store_for(settings)
    folder = tmp_path / "staged"
    folder.mkdir()
    written(folder, b"{}", "manifest.json")
    written(folder, b"arrays", "arrays.npz")
    files.add_folder(session=session, store=store, version=version, folder=folder)

    paths = files.version_paths(session=session, settings=settings, version=version)
    assert {name: path.read_bytes() for name, path in paths.items()} == {
        "arrays.npz": b"arrays",
        "manifest.json": b"{}",
    }

    legacy = service.create_version(session=session, name="m", algorithm="popular", config={}, created_by=None)
    legacy.artifact = "m/2"
    (settings.resolved_artifacts_dir / "m" / "2").mkdir(parents=True)
    written(settings.resolved_artifacts_dir / "m" / "2", b"{}", "manifest.json")
    assert set(files.version_paths(session=session, settings=settings, version=legacy)) == {"manifest.json"}

    (settings.resolved_artifacts_dir / relative_path(sha256_of(folder / "arrays.npz"))).unlink()
    with pytest.raises(DamagedFile, match=r"arrays\.npz"):
        files.version_paths(session=session, settings=settings, version=version)
