"""Routes of the models API: train, list versions, deploy, roll back, metrics."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, status

from relevo.api.deps import ExecutorDep, LimitedRoute, ModelManager, ReaderCaller, SessionDep, SettingsDep
from relevo.core.fields import DbId
from relevo.core.pagination import Page
from relevo.registry import service
from relevo.registry.schemas import MODEL_NAME, ModelSummary, ModelVersionRead, TrainingStarted, TrainRequest

router = APIRouter(prefix="/api/v1/models", tags=["models"], route_class=LimitedRoute)
Name = Annotated[str, Path(pattern=MODEL_NAME, description="Letters, digits, _ . -")]


@router.get("", response_model=list[ModelSummary])
def list_models(_: ReaderCaller, session: SessionDep) -> list[ModelSummary]:
    return [
        ModelSummary(name=name, versions=count, deployed=ModelVersionRead.from_model(live) if live else None)
        for name, count, live in service.list_models(session=session)
    ]


@router.post("/{name}/train", response_model=TrainingStarted, status_code=status.HTTP_202_ACCEPTED)
def train(
    name: Name,
    body: TrainRequest,
    caller: ModelManager,
    session: SessionDep,
    settings: SettingsDep,
    executor: ExecutorDep,
    tasks: BackgroundTasks,
) -> TrainingStarted:
    params = body.model_dump(include={"dataset_ids", "deploy", "evaluation", "seed"})
    version, job = service.start_training(
        session=session,
        settings=settings,
        name=name,
        algorithm=body.algorithm,
        config=body.config,
        params=params,
        created_by=caller.id,
    )
    tasks.add_task(executor.submit, job.id)  # after the response: the job is committed by then
    return TrainingStarted(
        job_id=job.id, status=job.status, name=name, version=version.version, algorithm=version.algorithm
    )


@router.get("/{name}/versions", response_model=Page[ModelVersionRead])
def list_versions(
    name: Name,
    _: ReaderCaller,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page:
    versions, next_cursor = service.list_versions(session=session, name=name, limit=limit, cursor=cursor)
    return Page(items=[ModelVersionRead.from_model(version) for version in versions], next_cursor=next_cursor)


@router.get("/{name}/versions/{version}", response_model=ModelVersionRead)
def read_version(name: Name, version: DbId, _: ReaderCaller, session: SessionDep) -> ModelVersionRead:
    return ModelVersionRead.from_model(service.get_or_raise(session=session, name=name, version=version))


@router.post("/{name}/versions/{version}/deploy", response_model=ModelVersionRead)
def deploy(name: Name, version: DbId, caller: ModelManager, session: SessionDep) -> ModelVersionRead:
    chosen = service.get_or_raise(session=session, name=name, version=version)
    return ModelVersionRead.from_model(service.deploy(session=session, version=chosen, actor=caller.id))


@router.post("/{name}/rollback", response_model=ModelVersionRead)
def rollback(name: Name, caller: ModelManager, session: SessionDep) -> ModelVersionRead:
    return ModelVersionRead.from_model(service.rollback(session=session, name=name, actor=caller.id))


@router.delete("/{name}/versions/{version}", response_model=ModelVersionRead)
def archive(name: Name, version: DbId, caller: ModelManager, session: SessionDep) -> ModelVersionRead:
    """Archives a version that does not serve: it never serves again; its files stay until the
    registry deletes the version (DELETE /api/v1/registry/models/{name}/versions/{version})."""
    chosen = service.get_or_raise(session=session, name=name, version=version)
    return ModelVersionRead.from_model(service.archive(session=session, version=chosen, actor=caller.id))


@router.get("/{name}/metrics", response_model=ModelVersionRead)
def deployed_metrics(name: Name, _: ReaderCaller, session: SessionDep) -> ModelVersionRead:
    """The deployed version, with its offline metrics and training figures."""
    return ModelVersionRead.from_model(service.deployed_or_raise(session=session, name=name))
