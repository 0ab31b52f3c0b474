"""Where trained models live: a folder per artifact key ("name/version"), behind a small
interface so that another store (shared storage, an object store) can replace it."""

import re
import shutil
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}(/[0-9]{1,9})?$")


class ArtifactStore(Protocol):
    def directory(self, key: str) -> Path:
        """A local folder to write the artifact into (created, empty, when new)."""

    def find(self, key: str) -> Path:
        """The local folder holding a written artifact; FileNotFoundError if there is none."""

    def delete(self, key: str) -> None: ...


class LocalArtifactStore:
    """Artifacts in a folder. Every API server and worker must see the same folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def directory(self, key: str) -> Path:
        path = self.root / _checked(key)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def find(self, key: str) -> Path:
        path = self.root / _checked(key)
        if not path.is_dir():
            raise FileNotFoundError(f"no artifact {key!r} in {self.root}")
        return path

    def delete(self, key: str) -> None:
        shutil.rmtree(self.root / _checked(key), ignore_errors=True)


def _checked(key: str) -> str:
    # Keys come from model names a request chose: nothing may escape the root.
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"not an artifact key: {key!r}")
    return key
