"""Routes of the registry: every model, trained or uploaded, with its versions, files, aliases,
deploy, rollback, archive and delete, and the audit log."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Path, Query, UploadFile, status
from fastapi.responses import FileResponse

from relevo.api.deps import AdminCaller, LimitedRoute, ModelManager, ReaderCaller, SessionDep, SettingsDep
from relevo.core.pagination import Page
from relevo.registry import aliases, audit, files, listing, service, uploads
from relevo.registry.aliases import ALIAS
from relevo.registry.schemas import (
    MODEL_NAME,
    AliasRead,
    AliasUpdate,
    RegisteredModelRead,
    RegistryChangeRead,
    RegistryVersionRead,
)

router = APIRouter(prefix="/api/v1/registry", tags=["registry"], route_class=LimitedRoute)
MODEL_UPLOAD_PATHS = ("/api/v1/registry/models/", "/upload_model")  # allowed RELEVO_MAX_MODEL_UPLOAD_MB

Name = Annotated[str, Path(pattern=MODEL_NAME, description="Letters, digits, _ . -")]
Reference = Annotated[str, Path(max_length=64, description="A version number or an alias")]
AliasName = Annotated[str, Path(pattern=ALIAS, description="A letter, then letters, digits, _ and -")]
ModelFileForm = Annotated[UploadFile, File(description="The model: .onnx, .skops or .npz (docs/registry.md)")]
ArtifactForms = Annotated[list[UploadFile], File(description="Artifacts; config.json says what the model is")]


def _read(details: listing.VersionDetails) -> RegistryVersionRead:
    return RegistryVersionRead.of(details.version, details.files, details.aliases)


def _overview(overview: listing.ModelOverview) -> RegisteredModelRead:
    model = overview.model
    return RegisteredModelRead(
        id=model.id,
        name=model.name,
        description=model.description,
        created_at=model.created_at,
        versions=overview.versions,
        latest_version=overview.latest_version,
        deployed_version=overview.deployed_version,
        aliases=overview.aliases,
    )


@router.get("/models", response_model=list[RegisteredModelRead])
def list_models(_: ReaderCaller, session: SessionDep) -> list[RegisteredModelRead]:
    return [_overview(overview) for overview in listing.models(session=session)]


@router.get("/models/{name}", response_model=RegisteredModelRead)
def read_model(name: Name, _: ReaderCaller, session: SessionDep) -> RegisteredModelRead:
    return _overview(listing.model_or_raise(session=session, name=name))


@router.get("/models/{name}/versions", response_model=Page[RegistryVersionRead])
def list_versions(
    name: Name,
    _: ReaderCaller,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page:
    versions, next_cursor = service.list_versions(session=session, name=name, limit=limit, cursor=cursor)
    return Page(
        items=[_read(listing.details(session=session, version=version)) for version in versions],
        next_cursor=next_cursor,
    )


@router.post("/models/{name}/versions", response_model=RegistryVersionRead, status_code=status.HTTP_201_CREATED)
def upload(
    name: Name,
    model_file: ModelFileForm,
    caller: ModelManager,
    session: SessionDep,
    settings: SettingsDep,
    artifact_files: ArtifactForms = (),
    description: Annotated[str | None, Form(max_length=10_000)] = None,
    version: Annotated[int | None, Form(ge=1, le=2**31 - 1, description="The number; the next one if unset")] = None,
    deploy: Annotated[bool, Form(description="Deploy it at once")] = False,
) -> RegistryVersionRead:
    """Registers a new, immutable version from the uploaded files (409 if the number exists)."""
    uploaded = uploads.register(
        session=session,
        settings=settings,
        caller=caller,
        name=name,
        number=version,
        description=description,
        incoming=uploads.incoming(model_file, artifact_files),
        deploy=deploy,
    )
    return _read(listing.details(session=session, version=uploaded))


@router.get("/models/{name}/versions/{reference}", response_model=RegistryVersionRead)
def read_version(name: Name, reference: Reference, _: ReaderCaller, session: SessionDep) -> RegistryVersionRead:
    return _read(listing.version_or_raise(session=session, name=name, reference=reference))


@router.get("/models/{name}/versions/{reference}/download", response_class=FileResponse)
def download(
    name: Name,
    reference: Reference,
    _: ModelManager,
    session: SessionDep,
    settings: SettingsDep,
    file_name: Annotated[
        str | None,
        Query(alias="file", max_length=255, description="artifacts/config.json, ...; the model file if unset"),
    ] = None,
) -> FileResponse:
    """One file of a version, its SHA-256 checked before it is sent (503 if it no longer matches)."""
    details = listing.version_or_raise(session=session, name=name, reference=reference)
    chosen, path = listing.download(settings=settings, version=details, file_name=file_name)
    return FileResponse(path, filename=chosen.name.rsplit("/", 1)[-1], headers={"X-Content-SHA256": chosen.sha256})


@router.post("/models/{name}/versions/{reference}/deploy", response_model=RegistryVersionRead)
def deploy(name: Name, reference: Reference, caller: ModelManager, session: SessionDep) -> RegistryVersionRead:
    chosen = aliases.resolve(session=session, name=name, reference=reference)
    return _read(
        listing.details(session=session, version=service.deploy(session=session, version=chosen, actor=caller.id))
    )


@router.post("/models/{name}/rollback", response_model=RegistryVersionRead)
def rollback(name: Name, caller: ModelManager, session: SessionDep) -> RegistryVersionRead:
    return _read(
        listing.details(session=session, version=service.rollback(session=session, name=name, actor=caller.id))
    )


@router.post("/models/{name}/versions/{reference}/archive", response_model=RegistryVersionRead)
def archive(name: Name, reference: Reference, caller: ModelManager, session: SessionDep) -> RegistryVersionRead:
    chosen = aliases.resolve(session=session, name=name, reference=reference)
    return _read(
        listing.details(session=session, version=service.archive(session=session, version=chosen, actor=caller.id))
    )


@router.delete("/models/{name}/versions/{reference}", status_code=status.HTTP_204_NO_CONTENT)
def delete(
    name: Name,
    reference: Reference,
    caller: ModelManager,
    session: SessionDep,
    settings: SettingsDep,
    tasks: BackgroundTasks,
) -> None:
    """Deletes a version that does not serve, with its aliases; its files leave the store once
    no other version uses them."""
    chosen = aliases.resolve(session=session, name=name, reference=reference)
    unused = files.unused(session=session, sha256s=service.delete(session=session, version=chosen, actor=caller.id))
    # After the response: the delete is committed by then.
    tasks.add_task(files.delete_contents, files.store_for(settings), unused)


@router.get("/models/{name}/aliases", response_model=list[AliasRead])
def list_aliases(name: Name, _: ReaderCaller, session: SessionDep) -> list[AliasRead]:
    return [
        AliasRead(
            name=name,
            alias=alias.alias,
            version=version.version,
            updated_by=alias.updated_by,
            updated_at=alias.updated_at,
        )
        for alias, version in aliases.listed(session=session, name=name)
    ]


@router.put("/models/{name}/aliases/{alias}", response_model=AliasRead)
def set_alias(name: Name, alias: AliasName, body: AliasUpdate, caller: ModelManager, session: SessionDep) -> AliasRead:
    """Points the alias at a version (made, or moved from the version it named)."""
    version = service.get_or_raise(session=session, name=name, version=body.version)
    moved = aliases.set_alias(session=session, name=name, alias=alias, version=version, actor=caller.id)
    return AliasRead(
        name=name, alias=alias, version=version.version, updated_by=moved.updated_by, updated_at=moved.updated_at
    )


@router.delete("/models/{name}/aliases/{alias}", status_code=status.HTTP_204_NO_CONTENT)
def delete_alias(name: Name, alias: AliasName, caller: ModelManager, session: SessionDep) -> None:
    aliases.delete_alias(session=session, name=name, alias=alias, actor=caller.id)


@router.get("/audit", response_model=Page[RegistryChangeRead])
def audit_log(
    _: AdminCaller,
    session: SessionDep,
    name: Annotated[str | None, Query(pattern=MODEL_NAME, description="One model's changes")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page:
    """Every change to the registry, newest first: who (account_id), what and when."""
    changes, next_cursor = audit.list_changes(session=session, name=name, limit=limit, cursor=cursor)
    return Page(items=[RegistryChangeRead.from_model(change) for change in changes], next_cursor=next_cursor)
