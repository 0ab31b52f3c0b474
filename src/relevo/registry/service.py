"""Model versions: created for training or by an upload, marked ready or failed, deployed,
rolled back, archived and deleted; every change written to the audit log."""

import hashlib
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.core.config import Settings
from relevo.core.db import utcnow
from relevo.core.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from relevo.core.pagination import paginate_by_id
from relevo.datasets import service as datasets_service
from relevo.engine.algorithms import recommender_class
from relevo.engine.bounds import ConfigError
from relevo.engine.customers.spend import CustomerSpend
from relevo.jobs import service as jobs_service
from relevo.jobs.models import Job, JobKind
from relevo.registry import sizing
from relevo.registry.audit import Action, record
from relevo.registry.models import (
    ModelAlias,
    ModelFile,
    ModelVersion,
    RegisteredModel,
    VersionKind,
    VersionSource,
    VersionStatus,
)


def create_version(
    *,
    session: Session,
    name: str,
    algorithm: str,
    config: dict[str, Any],
    created_by: int | None,
    number: int | None = None,
    source: str = VersionSource.trained,
    kind: str = VersionKind.recommender,
    file_format: str = "relevo",
    description: str | None = None,
) -> ModelVersion:
    """A new version of `name` (the model made if new), numbered after the latest unless
    `number` is given (409 when that number exists)."""
    lock_versions(session=session, name=name)
    model_or_create(session=session, name=name, created_by=created_by)
    latest = session.scalar(select(func.max(ModelVersion.version)).where(ModelVersion.name == name)) or 0
    if number is not None and session.scalar(
        select(ModelVersion.id).where(ModelVersion.name == name, ModelVersion.version == number)
    ):
        raise AlreadyExists(f"model_version: {name!r} has a version {number} already; versions never change")
    version = ModelVersion(
        name=name,
        version=number if number is not None else latest + 1,
        algorithm=algorithm,
        status=VersionStatus.training,
        config=config,
        metrics={},
        training={},
        created_by=created_by,
        source=source,
        kind=kind,
        format=file_format,
        description=description,
    )
    session.add(version)
    session.flush()
    return version


def model_or_create(*, session: Session, name: str, created_by: int | None) -> RegisteredModel:
    model = session.scalar(select(RegisteredModel).where(RegisteredModel.name == name))
    if model is None:
        model = RegisteredModel(name=name, created_by=created_by)
        session.add(model)
        session.flush()
    return model


def get_model(*, session: Session, name: str) -> RegisteredModel | None:
    return session.scalar(select(RegisteredModel).where(RegisteredModel.name == name))


def start_training(
    *,
    session: Session,
    settings: Settings,
    name: str,
    algorithm: str,
    config: dict[str, Any],
    params: dict[str, Any],
    created_by: int | None,
) -> tuple[ModelVersion, Job]:
    """A new version in `training` state and the job that will train it (submit the job
    once this transaction has committed). Refused: an unknown algorithm or a setting out of
    its bounds or an unknown dataset (400), a training that would not fit in memory (422; checked here when trainings
    run on this machine or RELEVO_TRAIN_MEMORY_MB says how much they may use, and always by the
    job before it reads the data), a caller with too many jobs under way (429)."""
    engine_config = engine_config_or_raise(algorithm=algorithm, config=config)
    unknown = datasets_service.missing(session=session, dataset_ids=params.get("dataset_ids") or [])
    if unknown:
        raise InvalidArgument(f"dataset_ids: no dataset has the id {', '.join(map(str, unknown))}")
    # A customer_spend model holds a few numbers; its data is the purchases alone.
    predicts = algorithm == CustomerSpend.algorithm
    if not predicts and (settings.executor == "local" or settings.train_memory_mb):
        sizing.check_fits(session=session, settings=settings, algorithm=algorithm, config=engine_config)
    version = create_version(
        session=session,
        name=name,
        algorithm=algorithm,
        config=config,
        created_by=created_by,
        kind=VersionKind.predictor if predicts else VersionKind.recommender,
    )
    params = {**params, "name": name, "version_id": version.id}
    job = jobs_service.create(
        session=session,
        kind=JobKind.train,
        params=params,
        created_by=created_by,
        max_pending=settings.max_pending_jobs,
    )
    version.job_id = job.id
    session.flush()
    return version, job


def engine_config_or_raise(*, algorithm: str, config: dict[str, Any]) -> Any:
    """The engine's config object for these settings; InvalidArgument naming what is wrong
    (`config.epochs: at most 1000`)."""
    try:
        if algorithm == CustomerSpend.algorithm:
            return CustomerSpend.make_config(config)
        return recommender_class(algorithm).make_config(config)
    except ConfigError as exc:
        raise InvalidArgument(f"config.{exc.field}: {exc.problem}") from None
    except ValueError as exc:
        field = "algorithm" if "unknown algorithm" in str(exc) else "config"
        raise InvalidArgument(f"{field}: {exc}") from None
    except TypeError as exc:
        raise InvalidArgument(f"config: {exc}") from None


def abandon_training(*, session: Session, version_id: int, reason: str) -> bool:
    """Fails a version still in `training` whose job is ending without it (cancelled, or given
    up after its processes kept dying); False if it has left `training` already (its training
    finished, or failed on its own)."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        return True
    lock_versions(session=session, name=version.name)  # a training marking it ready waits, or has committed
    session.refresh(version)
    if version.status != VersionStatus.training:
        return False
    mark_failed(session=session, version=version, error=reason)
    return True


def list_models(*, session: Session) -> list[tuple[str, int, ModelVersion | None]]:
    """Each model name, how many versions it has, and its deployed version."""
    counts = session.execute(
        select(ModelVersion.name, func.count()).group_by(ModelVersion.name).order_by(ModelVersion.name)
    ).all()
    return [(name, count, deployed(session=session, name=name)) for name, count in counts]


def get(*, session: Session, version_id: int) -> ModelVersion | None:
    return session.get(ModelVersion, version_id)


def get_or_raise(*, session: Session, name: str, version: int) -> ModelVersion:
    found = session.scalar(select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version))
    if found is None:
        raise NotFound(f"model {name!r} has no version {version}")
    return found


def deployed(*, session: Session, name: str) -> ModelVersion | None:
    query = select(ModelVersion).where(ModelVersion.name == name, ModelVersion.status == VersionStatus.deployed)
    return session.scalar(query.execution_options(populate_existing=True))


def deployed_names(*, session: Session) -> list[str]:
    """Every model name that has a deployed version."""
    query = select(ModelVersion.name).where(ModelVersion.status == VersionStatus.deployed).order_by(ModelVersion.name)
    return list(session.scalars(query))


def deployed_versions(*, session: Session) -> dict[str, int]:
    """Each model name that has a deployed version, and its number."""
    query = select(ModelVersion.name, ModelVersion.version).where(ModelVersion.status == VersionStatus.deployed)
    return dict(session.execute(query).all())


def lock_versions(*, session: Session, name: str) -> None:
    """Changes to one name's versions take turns until their transactions end: numbering a new
    version (two trainings started at once would take the same number) and deploying (two at
    once would each demote the version they saw serving and promote their own, breaking the
    rule of one deployed version per name). On PostgreSQL a transaction-level advisory lock on
    the name, which also holds for a name with no version yet; the second caller waits for the
    first to commit, then reads what it did. SQLite's writers take turns anyway."""
    if session.connection().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(f"relevo model {name}".encode(), digest_size=8).digest(), signed=True)
        session.execute(select(func.pg_advisory_xact_lock(key)))


def deployed_or_raise(*, session: Session, name: str) -> ModelVersion:
    version = deployed(session=session, name=name)
    if version is None:
        raise NotFound(f"model {name!r} has no deployed version; train one first")
    return version


def list_versions(
    *, session: Session, name: str | None, limit: int, cursor: str | None
) -> tuple[list[ModelVersion], str | None]:
    query = select(ModelVersion)
    if name is not None:
        query = query.where(ModelVersion.name == name)
    return paginate_by_id(session, query, ModelVersion.id, limit=limit, cursor=cursor)


def mark_ready(
    *,
    session: Session,
    version: ModelVersion,
    metrics: dict[str, Any],
    training: dict[str, Any],
    watermark: int,
) -> None:
    version.status = VersionStatus.ready
    version.metrics, version.training, version.watermark = metrics, training, watermark
    version.trained_at = utcnow()
    session.flush()
    record(
        session=session, account_id=version.created_by, action=Action.train, name=version.name, version=version.version
    )


def mark_failed(*, session: Session, version: ModelVersion, error: str) -> None:
    version.status, version.error = VersionStatus.failed, error
    session.flush()


def deploy(
    *, session: Session, version: ModelVersion, actor: int | None, details: dict[str, Any] | None = None
) -> ModelVersion:
    """Makes `version` the one that serves; the one serving until now stays ready. `actor`: the
    account asking (None: Relevo itself, as a training's deploy gate)."""
    lock_versions(session=session, name=version.name)
    previous = _serve(session=session, version=version)
    record(
        session=session,
        account_id=actor,
        action=Action.deploy,
        name=version.name,
        version=version.version,
        details={"previous": previous, **(details or {})},
    )
    return version


def _serve(*, session: Session, version: ModelVersion) -> int | None:
    """Deploys `version` (the name's versions locked by the caller); the number that served before."""
    session.refresh(version)
    if version.status not in (VersionStatus.ready, VersionStatus.deployed):
        raise Conflict(f"version {version.version} of {version.name!r} is {version.status}; only ready ones deploy")
    current = deployed(session=session, name=version.name)
    if current is not None and current.kind != version.kind:
        # What a name answers never changes under its callers: lists stay lists, numbers numbers.
        raise Conflict(
            f"version {version.version} of {version.name!r} is a {version.kind}, but the name serves a "
            f"{current.kind} (version {current.version}); give the {version.kind} a name of its own"
        )
    if current is not None and current.id != version.id:
        current.status = VersionStatus.ready
        session.flush()  # one deployed version per name, even within this transaction
    version.status = VersionStatus.deployed
    version.deployed_at = utcnow()
    session.flush()
    return None if current is None else current.version


def adopt(*, session: Session, source: ModelVersion, name: str, actor: int | None) -> ModelVersion:
    """Deploys a trained version under another model name: a new version of `name` with the
    same algorithm, config, figures and files (versions never change, so they can share them),
    deployed as any other (rollback goes back to what served before)."""
    if source.status not in (VersionStatus.ready, VersionStatus.deployed):
        raise Conflict(f"version {source.version} of {source.name!r} is {source.status}; only ready ones deploy")
    if source.name == name:
        return deploy(session=session, version=source, actor=actor)
    adopted = create_version(
        session=session,
        name=name,
        algorithm=source.algorithm,
        config=dict(source.config),
        created_by=source.created_by,
        source=source.source,
        kind=source.kind,
        file_format=source.format,
        description=source.description,
    )
    adopted.status, adopted.artifact, adopted.watermark = VersionStatus.ready, source.artifact, source.watermark
    adopted.metrics = dict(source.metrics)
    adopted.training = {**source.training, "adopted_from": f"{source.name}/{source.version}"}
    adopted.trained_at = source.trained_at
    files = session.scalars(select(ModelFile).where(ModelFile.version_id == source.id))
    session.add_all(
        ModelFile(version_id=adopted.id, role=file.role, name=file.name, sha256=file.sha256, size=file.size)
        for file in files
    )
    session.flush()
    return deploy(
        session=session, version=adopted, actor=actor, details={"adopted_from": adopted.training["adopted_from"]}
    )


def rollback(*, session: Session, name: str, actor: int | None) -> ModelVersion:
    """Deploys again the version that served before the current one."""
    lock_versions(session=session, name=name)
    current = deployed_or_raise(session=session, name=name)
    query = (
        select(ModelVersion)
        .where(
            ModelVersion.name == name,
            ModelVersion.status == VersionStatus.ready,
            ModelVersion.deployed_at.is_not(None),
            ModelVersion.id != current.id,
        )
        .order_by(ModelVersion.deployed_at.desc())
        .limit(1)
    )
    previous = session.scalar(query)
    if previous is None:
        raise Conflict(f"model {name!r} has no earlier deployed version to roll back to")
    _serve(session=session, version=previous)
    record(
        session=session,
        account_id=actor,
        action=Action.rollback,
        name=name,
        version=previous.version,
        details={"previous": current.version},
    )
    return previous


def archive(*, session: Session, version: ModelVersion, actor: int | None) -> ModelVersion:
    """Retires a version: it never serves again, and keeps its files (delete removes them)."""
    _check_removable(version)
    version.status = VersionStatus.archived
    session.flush()
    record(session=session, account_id=actor, action=Action.archive, name=version.name, version=version.version)
    return version


def delete(*, session: Session, version: ModelVersion, actor: int | None) -> list[str]:
    """Deletes a version that does not serve, its aliases and its file records; the contents
    (SHA-256) its files had, for the caller to remove from the store once this has committed if
    no other version uses them."""
    lock_versions(session=session, name=version.name)
    session.refresh(version)
    _check_removable(version)
    files = list(session.scalars(select(ModelFile).where(ModelFile.version_id == version.id)))
    record(
        session=session,
        account_id=actor,
        action=Action.delete,
        name=version.name,
        version=version.version,
        details={"files": {file.name: file.sha256 for file in files}},
    )
    for alias in session.scalars(select(ModelAlias).where(ModelAlias.version_id == version.id)):
        session.delete(alias)
    for file in files:
        session.delete(file)
    session.delete(version)
    session.flush()
    return sorted({file.sha256 for file in files})


def _check_removable(version: ModelVersion) -> None:
    if version.status == VersionStatus.deployed:
        raise Conflict(f"version {version.version} of {version.name!r} is deployed; deploy another first")
    if version.status == VersionStatus.training:
        raise Conflict(f"version {version.version} of {version.name!r} is still training")
