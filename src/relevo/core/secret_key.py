"""The development signing key: made once per data directory, kept in a file only its owner reads."""

import contextlib
import logging
import os
import secrets
from pathlib import Path

logger = logging.getLogger("relevo.config")

FILE_NAME = "secret_key"
MIN_LENGTH = 32


def development_secret_key(data_dir: Path) -> str:
    """The key kept in `data_dir`, made at random if there is none yet. Every process on the
    data directory (each server worker, each command, the next start) reads the same key, so
    tokens stay valid across them. Raises ValueError saying what to do when it cannot."""
    path = (data_dir / FILE_NAME).resolve()
    try:
        key = _read(path) if path.exists() else _create(path)
    except OSError as exc:
        raise ValueError(
            f"no development secret key can be kept in {path} ({exc.strerror or exc}): set RELEVO_SECRET_KEY"
        ) from None
    logger.warning(
        "RELEVO_SECRET_KEY is not set: tokens are signed with the development key in %s "
        "(set RELEVO_SECRET_KEY for anything but development; RELEVO_ENV=production requires it)",
        path,
    )
    return key


def _create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written in full under another name, then linked into place: a process starting at the same
    # time finds either no key or a whole one, and whichever link comes second leaves the first.
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process's key came first: it is read
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ValueError(f"{path} may be read by other users (mode {mode:o}): chmod 600 it, or set RELEVO_SECRET_KEY")
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_LENGTH:
        raise ValueError(
            f"{path} holds no usable key (under {MIN_LENGTH} characters): delete it for a new one, "
            "or set RELEVO_SECRET_KEY"
        )
    return key
