"""Uploading a model: its files received within the size limit under names checked and made
safe, its format told and checked by loading it, and a new immutable version registered with
its files in the content-addressed store, in the audit log, and deployed when asked."""

import json
import re
import tempfile
import unicodedata
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, BinaryIO, Protocol

from sqlalchemy.orm import Session

from relevo.accounts.callers import Caller
from relevo.accounts.scopes import Scope
from relevo.core.config import Settings
from relevo.core.errors import InvalidArgument, PermissionDenied, RelevoError, TooLarge
from relevo.registry import checks, files, service
from relevo.registry.audit import Action, record
from relevo.registry.formats import PICKLE_REFUSAL, UNSAFE, ModelFormat, detect
from relevo.registry.models import ModelVersion, VersionKind, VersionSource, VersionStatus

CONFIG = "config.json"  # the artifact that says what the model is (docs/registry.md)
MANIFEST = "manifest.json"  # Relevo's own manifest, for its .npz format
ARTIFACTS = "artifacts/"
MAX_ARTIFACTS = 32
MAX_CONFIG_BYTES = 1024 * 1024
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1024 * 1024


class UnsafeFormat(RelevoError):
    status_code = 415
    error = "Unsafe model format"


@dataclass(frozen=True)
class Incoming:
    """A file as the request sent it: its name and its content."""

    field: str  # "model_file" or "artifact_files"
    filename: str | None
    stream: BinaryIO


@dataclass(frozen=True)
class Received:
    field: str
    name: str  # the name it is stored under: "model.onnx", "artifacts/config.json"
    path: Path  # a local copy


@dataclass(frozen=True)
class Upload:
    model: Received
    artifacts: list[Received]
    config: dict[str, Any]
    format: ModelFormat
    kind: VersionKind

    def paths(self) -> dict[str, Path]:
        return {received.name: received.path for received in (self.model, *self.artifacts)}


class SentFile(Protocol):
    """A file of a multipart request, as the web framework hands it over."""

    filename: str | None
    file: BinaryIO


def version_number(given: str | None, *, field: str) -> int | None:
    """A version number sent as text ("1"); None when not sent (the next number)."""
    if given is None or not given.strip():
        return None
    text = given.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 2**31 - 1:
        raise InvalidArgument(f"{field}: {given!r} is not a version number; Relevo numbers versions 1, 2, 3, ...")
    return int(text)


def incoming(model_file: SentFile, artifact_files: Sequence[SentFile]) -> list[Incoming]:
    """The request's files, the model file first."""
    return [
        Incoming(field="model_file", filename=model_file.filename, stream=model_file.file),
        *(Incoming(field="artifact_files", filename=item.filename, stream=item.file) for item in artifact_files),
    ]


def safe_name(filename: str | None, *, field: str) -> str:
    """The file's name as Relevo stores it: refused if it tries to name a place (a path, `..`,
    a drive, NUL or control characters); otherwise anything but letters, digits, `.`, `_` and
    `-` becomes `_`."""
    # Clients may percent-encode a name (RFC 7578): "..%2Fx" and "a%00b" are what they decode to.
    given = urllib.parse.unquote(filename or "")
    if not given.strip():
        raise InvalidArgument(f"{field}: the file has no name")
    if any(unicodedata.category(character) == "Cc" for character in given):
        raise InvalidArgument(f"{field}: file name {given!r} holds NUL or control characters")
    pure = (PurePosixPath(given), PureWindowsPath(given))
    if any(path.is_absolute() or path.drive or len(path.parts) != 1 for path in pure) or given.strip(". ") == "":
        raise InvalidArgument(f"{field}: file name {given!r} is a path; send a plain file name such as model.onnx")
    name = _UNSAFE_NAME.sub("_", unicodedata.normalize("NFKC", given)).strip("._") or "file"
    return name[:200]


def receive(incoming: Sequence[Incoming], folder: Path, *, limit_bytes: int) -> tuple[Received, list[Received]]:
    """Copies the model file (first) and its artifacts into `folder`, refusing names that are
    paths, two artifacts of one name, and more than `limit_bytes` in all."""
    if len(incoming) - 1 > MAX_ARTIFACTS:
        raise InvalidArgument(f"artifact_files: at most {MAX_ARTIFACTS} files")
    received, total = [], 0
    for position, item in enumerate(incoming):
        name = safe_name(item.filename, field=item.field)
        if position:
            name = ARTIFACTS + name
        if any(earlier.name == name for earlier in received):
            raise InvalidArgument(f"{item.field}: two files are named {name.removeprefix(ARTIFACTS)!r}")
        path = folder / f"{position:03d}"
        with path.open("wb") as target:
            while chunk := item.stream.read(_CHUNK):
                total += len(chunk)
                if total > limit_bytes:
                    raise TooLarge(f"{item.field}: the files exceed the limit of {limit_bytes // (1024 * 1024)} MB")
                target.write(chunk)
        received.append(Received(field=item.field, name=name, path=path))
    return received[0], received[1:]


def read_config(artifacts: Sequence[Received]) -> dict[str, Any]:
    """The upload's config.json (or Relevo's manifest.json) document; {} when there is none."""
    for wanted in (CONFIG, MANIFEST):
        for artifact in artifacts:
            if artifact.name.lower() == ARTIFACTS + wanted:
                if artifact.path.stat().st_size > MAX_CONFIG_BYTES:
                    raise InvalidArgument(f"artifact_files: {wanted} is over {MAX_CONFIG_BYTES // 1024} KB")
                try:
                    document = json.loads(artifact.path.read_text(encoding="utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise InvalidArgument(f"artifact_files: {wanted} is not valid JSON ({exc})") from None
                if not isinstance(document, dict):
                    raise InvalidArgument(f"artifact_files: {wanted} must hold a JSON object")
                return document
    return {}


def classify(model: Received, config: dict[str, Any]) -> tuple[ModelFormat, VersionKind]:
    file_format = detect(model.path, model.name, field=model.field)
    if file_format == ModelFormat.factors and config.get("algorithm"):
        file_format = ModelFormat.relevo  # Relevo's own arrays, with the manifest that says what they are
    default = VersionKind.recommender if file_format == ModelFormat.factors else VersionKind.predictor
    kind = config.get("kind", default)
    if kind not in set(VersionKind):
        raise InvalidArgument(f"artifact_files: config.json's kind must be 'recommender' or 'predictor', not {kind!r}")
    return file_format, VersionKind(kind)


def allow_format(file_format: ModelFormat, *, caller: Caller, settings: Settings, name: str) -> None:
    """Pickle and joblib files only when the operator allowed them, and then only from admins."""
    if file_format not in UNSAFE:
        return
    if not settings.allow_pickle_models:
        raise UnsafeFormat(PICKLE_REFUSAL.format(field="model_file", name=name, format=file_format))
    if not caller.may(Scope.admin):
        raise PermissionDenied(f"model_file: only admins may upload {file_format} files, which run code when loaded")


def register(
    *,
    session: Session,
    settings: Settings,
    caller: Caller,
    name: str,
    number: int | None,
    description: str | None,
    incoming: Sequence[Incoming],
    deploy: bool,
) -> ModelVersion:
    """Registers a new version of `name` from the uploaded files (the model file first)."""
    with tempfile.TemporaryDirectory(prefix=".upload-", dir=_staging(settings)) as folder:
        model, artifacts = receive(incoming, Path(folder), limit_bytes=settings.max_model_upload_bytes)
        config = read_config(artifacts)
        file_format, kind = classify(model, config)
        allow_format(file_format, caller=caller, settings=settings, name=model.name)
        upload = Upload(model=model, artifacts=artifacts, config=config, format=file_format, kind=kind)
        checked = checks.check(
            kind=kind, file_format=file_format, paths=upload.paths(), config=config, settings=settings
        )
        version = service.create_version(
            session=session,
            name=name,
            algorithm=str(config.get("algorithm") or file_format),
            config=config,
            created_by=caller.id,
            number=number,
            source=VersionSource.uploaded,
            kind=kind,
            file_format=file_format,
            description=description,
        )
        stored = files.add(
            session=session,
            store=files.store_for(settings),
            version=version,
            files=[
                (received.name, "model" if received is model else "artifact", received.path)
                for received in (model, *artifacts)
            ],
        )
    if description is not None:
        service.model_or_create(session=session, name=name, created_by=caller.id).description = description
    version.status = VersionStatus.ready
    version.training = {"uploaded": checked}
    session.flush()
    record(
        session=session,
        account_id=caller.id,
        action=Action.upload,
        name=name,
        version=version.version,
        details={"format": file_format, "kind": kind, "files": {file.name: file.sha256 for file in stored}},
    )
    if deploy:
        service.deploy(session=session, version=version, actor=caller.id)
    return version


def _staging(settings: Settings) -> Path:
    folder = settings.resolved_artifacts_dir
    folder.mkdir(parents=True, exist_ok=True)
    return folder
