"""Reading the registry: every model with its versions, deployed version and aliases; one
version with its files and aliases; a file to download."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.core.config import Settings
from relevo.core.errors import NotFound, NotReady
from relevo.registry import aliases, files, service
from relevo.registry.files import DamagedFile
from relevo.registry.models import ModelAlias, ModelFile, ModelVersion, RegisteredModel


@dataclass(frozen=True)
class ModelOverview:
    model: RegisteredModel
    versions: int
    latest_version: int | None
    deployed_version: int | None
    aliases: dict[str, int]


@dataclass(frozen=True)
class VersionDetails:
    version: ModelVersion
    files: list[ModelFile]
    aliases: list[str]


def models(*, session: Session) -> list[ModelOverview]:
    counts = {
        name: (count, latest)
        for name, count, latest in session.execute(
            select(ModelVersion.name, func.count(), func.max(ModelVersion.version)).group_by(ModelVersion.name)
        )
    }
    deployed = service.deployed_versions(session=session)
    pointers: dict[str, dict[str, int]] = {}
    query = select(ModelAlias.name, ModelAlias.alias, ModelVersion.version).join(
        ModelVersion, ModelVersion.id == ModelAlias.version_id
    )
    for name, alias, number in session.execute(query):
        pointers.setdefault(name, {})[alias] = number
    return [
        ModelOverview(
            model=model,
            versions=counts.get(model.name, (0, None))[0],
            latest_version=counts.get(model.name, (0, None))[1],
            deployed_version=deployed.get(model.name),
            aliases=pointers.get(model.name, {}),
        )
        for model in session.scalars(select(RegisteredModel).order_by(RegisteredModel.name))
    ]


def model_or_raise(*, session: Session, name: str) -> ModelOverview:
    for overview in models(session=session):
        if overview.model.name == name:
            return overview
    raise NotFound(f"no model named {name!r}")


def details(*, session: Session, version: ModelVersion) -> VersionDetails:
    names = session.scalars(
        select(ModelAlias.alias).where(ModelAlias.version_id == version.id).order_by(ModelAlias.alias)
    )
    return VersionDetails(
        version=version, files=files.listed(session=session, version_id=version.id), aliases=list(names)
    )


def version_or_raise(*, session: Session, name: str, reference: str) -> VersionDetails:
    """A version by number or alias, with its files and aliases."""
    return details(session=session, version=aliases.resolve(session=session, name=name, reference=reference))


def model_file(version: VersionDetails) -> ModelFile | None:
    """The uploaded model file (None for a trained version, made of several files)."""
    return next((file for file in version.files if file.role == "model"), None)


def download(*, settings: Settings, version: VersionDetails, file_name: str | None) -> tuple[ModelFile, str]:
    """The file to send (the model file when `file_name` is None) and a local path to it whose
    SHA-256 has just been checked."""
    if file_name is None:
        chosen = model_file(version)
        if chosen is None:
            listed = ", ".join(file.name for file in version.files) or "none"
            raise NotFound(
                f"version {version.version.version} of {version.version.name!r} was trained by Relevo and has no "
                f"single model file; download its files one by one: {listed}"
            )
    else:
        chosen = next((file for file in version.files if file.name == file_name), None)
        if chosen is None:
            raise NotFound(f"file_name: version {version.version.version} has no file {file_name!r}")
    try:
        path = files.local_paths(store=files.store_for(settings), files=[chosen])[chosen.name]
    except DamagedFile as exc:
        raise NotReady(
            f"{exc}; restore the registry's files from a backup or upload the version again", error="File damaged"
        ) from None
    return chosen, str(path)
