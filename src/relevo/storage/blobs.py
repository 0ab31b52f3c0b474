"""The registry's files, addressed by their SHA-256: a file is stored once, under a path made
from its hash alone (never a name from a request), and its hash is checked again every time it
is read. In a local folder by default, or in any fsspec file system (an object store such as
S3) that several machines share, read through a local copy."""

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024


class ChecksumMismatch(Exception):
    """A stored file's content no longer has the hash it was stored under."""


@dataclass(frozen=True)
class Blob:
    sha256: str
    size: int


class BlobStore(Protocol):
    def put(self, source: Path) -> Blob:
        """Stores the file's content (once: storing the same content again changes nothing)."""

    def local_path(self, sha256: str) -> Path:
        """A local file with this content, its hash checked now: ChecksumMismatch when it differs,
        FileNotFoundError when there is no such content."""

    def open(self, sha256: str) -> BinaryIO:
        """The content as a stream, for downloads (checked as `local_path` does)."""

    def delete(self, sha256: str) -> None: ...


def open_store(url: str | None, folder: Path) -> BlobStore:
    """The store at `url` (an fsspec URL), or in `folder` when there is none."""
    if not url:
        return LocalBlobStore(folder)
    return FsspecBlobStore(url, cache=folder / "cache")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def relative_path(sha256: str) -> str:
    """Where a content lives under the store's root: "blobs/ab/abcdef…"."""
    if not _SHA256.match(sha256):
        raise ValueError(f"not a SHA-256 digest: {sha256!r}")
    return f"blobs/{sha256[:2]}/{sha256}"


def _checked(path: Path, sha256: str) -> Path:
    found = sha256_of(path)
    if found != sha256:
        raise ChecksumMismatch(f"the file stored as {sha256} now has the SHA-256 {found}: it was changed or damaged")
    return path


class LocalBlobStore:
    """Contents in a local folder (or a shared one every server and worker mounts)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, source: Path) -> Blob:
        sha256, size = sha256_of(source), source.stat().st_size
        target = self.root / relative_path(sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Copied under another name first, then renamed: a reader never sees half a file.
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as partial, source.open("rb") as stream:
                shutil.copyfileobj(stream, partial, _CHUNK)
            os.replace(partial.name, target)
        return Blob(sha256=sha256, size=size)

    def local_path(self, sha256: str) -> Path:
        path = self.root / relative_path(sha256)
        if not path.is_file():
            raise FileNotFoundError(f"no stored file {sha256} in {self.root}")
        return _checked(path, sha256)

    def open(self, sha256: str) -> BinaryIO:
        return self.local_path(sha256).open("rb")

    def delete(self, sha256: str) -> None:
        (self.root / relative_path(sha256)).unlink(missing_ok=True)


class FsspecBlobStore:
    """Contents in an fsspec file system at `url`; each read goes through a local copy in
    `cache`, checked against its hash (downloaded again when it does not match)."""

    def __init__(self, url: str, cache: Path) -> None:
        import fsspec  # only installations that configure an object store pay for it

        self.filesystem, self.root = fsspec.core.url_to_fs(url)
        self.root = self.root.rstrip("/")
        self.cache = LocalBlobStore(cache)

    def _remote(self, sha256: str) -> str:
        return f"{self.root}/{relative_path(sha256)}"

    def put(self, source: Path) -> Blob:
        blob = self.cache.put(source)
        remote = self._remote(blob.sha256)
        if not self.filesystem.exists(remote):
            self.filesystem.makedirs(remote.rsplit("/", 1)[0], exist_ok=True)
            self.filesystem.put_file(str(source), remote)
        return blob

    def local_path(self, sha256: str) -> Path:
        try:
            return self.cache.local_path(sha256)
        except (FileNotFoundError, ChecksumMismatch):
            pass
        remote = self._remote(sha256)
        if not self.filesystem.exists(remote):
            raise FileNotFoundError(f"no stored file {sha256} at {self.root}")
        target = self.cache.root / relative_path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as partial:
            self.filesystem.get_file(remote, partial.name)
        os.replace(partial.name, target)
        return _checked(target, sha256)

    def open(self, sha256: str) -> BinaryIO:
        return self.local_path(sha256).open("rb")

    def delete(self, sha256: str) -> None:
        self.cache.delete(sha256)
        remote = self._remote(sha256)
        if self.filesystem.exists(remote):
            self.filesystem.rm_file(remote)
