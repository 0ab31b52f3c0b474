"""Experiments: created (perhaps blocked), started, paused, stopped (perhaps promoting the
winner), deleted; and what serves each variant's users."""

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete as delete_rows
from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.core.config import Settings
from relevo.core.db import utcnow
from relevo.core.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from relevo.engine.algorithms import ALGORITHMS
from relevo.experiments.models import Experiment, ExperimentStatus
from relevo.experiments.schemas import ExperimentCreate, ExperimentUpdate, check_allocation
from relevo.exposures.models import Exposure
from relevo.jobs.models import Job
from relevo.registry import service as registry_service
from relevo.registry.models import VersionStatus

# Names the SmartCommerce API's documents use for the built-in algorithms.
ALGORITHM_NAMES = {"collaborative": "als", "hybrid_ensemble": "hybrid"}


class Target(NamedTuple):
    """What serves a variant: a model's deployed version (version None) or one version of it,
    and the variant's own count and filters, if it has them."""

    model: str
    version: int | None = None
    count: int | None = None
    filters: tuple[tuple[str, Any], ...] = ()


@dataclass
class Resolution:
    """Per variant what serves it; what blocks the others; the algorithms to train for some."""

    serves: dict[str, Target] = field(default_factory=dict)
    blockers: dict[str, str] = field(default_factory=dict)
    to_train: dict[str, str] = field(default_factory=dict)  # variant → algorithm, no model yet


def create(*, session: Session, settings: Settings, data: ExperimentCreate, created_by: int | None) -> Experiment:
    if session.get(Experiment, data.experiment_id) is not None:
        raise AlreadyExists(f"experiment_id: an experiment {data.experiment_id!r} exists already")
    experiment = Experiment(
        id=data.experiment_id,
        name=data.name,
        kind=data.kind,
        status=ExperimentStatus.draft,
        variants=[
            {
                "name": variant.name,
                "config": variant.config.model_dump(exclude_none=True),
                "baseline": variant.name == data.baseline,
            }
            for variant in data.variants
        ],
        allocation={variant.name: float(data.traffic_allocation[variant.name]) for variant in data.variants},
        success_metrics=list(data.success_metrics),
        minimum_sample_size=data.minimum_sample_size,
        attribution_hours=data.attribution_hours,
        salt=secrets.token_hex(8),
        start_date=data.start_date,
        end_date=data.end_date,
        outcome={},
        created_by=created_by,
    )
    session.add(experiment)
    session.flush()
    return experiment


def get_or_raise(*, session: Session, experiment_id: str) -> Experiment:
    experiment = session.get(Experiment, experiment_id)
    if experiment is None:
        raise NotFound(f"experiment {experiment_id!r} does not exist")
    return experiment


def list_experiments(*, session: Session, limit: int) -> list[Experiment]:
    return list(session.scalars(select(Experiment).order_by(Experiment.created_at.desc()).limit(limit)))


def status_of(experiment: Experiment, now: datetime | None = None) -> str:
    """The status as answers show it: a running experiment before its start date is
    scheduled, and one past its end date stopped."""
    now = now or utcnow()
    if experiment.status in (ExperimentStatus.running, ExperimentStatus.paused) and now >= experiment.end_date:
        return ExperimentStatus.stopped
    if experiment.status == ExperimentStatus.running and now < experiment.start_date:
        return ExperimentStatus.scheduled
    return experiment.status


def update(*, session: Session, experiment: Experiment, data: ExperimentUpdate) -> Experiment:
    """Allocation and dates change only before the experiment starts: changed later, users
    would change variant (or the dates would change what was measured)."""
    if experiment.status != ExperimentStatus.draft:
        raise Conflict(f"experiment {experiment.id!r} is {status_of(experiment)}; only a draft changes")
    if data.traffic_allocation is not None:
        try:
            check_allocation(data.traffic_allocation, [variant["name"] for variant in experiment.variants])
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None
        experiment.allocation = {name: float(data.traffic_allocation[name]) for name in experiment.allocation}
    start, end = data.start_date or experiment.start_date, data.end_date or experiment.end_date
    if end <= start:
        raise InvalidArgument("end_date: must be after start_date")
    experiment.start_date, experiment.end_date = start, end
    session.flush()
    return experiment


def resolve(*, session: Session, settings: Settings, experiment: Experiment) -> Resolution:
    """What serves each variant now, and why any cannot be served."""
    resolution = Resolution()
    models = registry_service.deployed_names(session=session)
    listed = f"deployed models: {', '.join(models) or 'none yet'}"
    for variant in experiment.variants:
        name, config = variant["name"], variant["config"]
        own = {"count": config.get("count"), "filters": tuple(sorted((config.get("filters") or {}).items()))}
        if "model_version" in config:
            wanted = config["model_version"]
            try:
                found = registry_service.get_or_raise(session=session, name=wanted["name"], version=wanted["version"])
            except NotFound as exc:
                resolution.blockers[name] = f"variant {name!r}: {exc.details}"
                continue
            if found.status not in (VersionStatus.ready, VersionStatus.deployed):
                resolution.blockers[name] = (
                    f"variant {name!r}: version {found.version} of {found.name!r} is {found.status}"
                )
                continue
            resolution.serves[name] = Target(found.name, found.version, **own)
        elif "model" in config:
            if config["model"] not in models:
                resolution.blockers[name] = (
                    f"variant {name!r}: model {config['model']!r} has no deployed version; {listed}"
                )
                continue
            resolution.serves[name] = Target(config["model"], **own)
        else:
            _resolve_algorithm(session, settings, resolution, name, config["algorithm"], own, listed)
    return resolution


def _resolve_algorithm(
    session: Session, settings: Settings, resolution: Resolution, name: str, asked: str, own: dict, listed: str
) -> None:
    """A built-in algorithm is served by the serving model when its deployed version is of that
    algorithm, else by the model named after the algorithm, trained when the experiment starts
    if it has no deployed version."""
    algorithm = ALGORITHM_NAMES.get(asked, asked)
    if algorithm not in ALGORITHMS:
        known = ", ".join([*ALGORITHMS, *ALGORITHM_NAMES])
        resolution.blockers[name] = f"variant {name!r}: no algorithm {asked!r}; algorithms: {known}; {listed}"
        return
    serving = registry_service.deployed(session=session, name=settings.serving_model)
    if serving is not None and serving.algorithm == algorithm:
        resolution.serves[name] = Target(settings.serving_model, **own)
        return
    if registry_service.deployed(session=session, name=algorithm) is not None:
        resolution.serves[name] = Target(algorithm, **own)
        return
    resolution.to_train[name] = algorithm
    resolution.blockers[name] = (
        f"variant {name!r}: no version of {algorithm!r} is deployed yet (trained when it starts)"
    )


def start(
    *, session: Session, settings: Settings, experiment: Experiment, created_by: int | None
) -> tuple[Experiment, list[Job]]:
    """Starts a draft (or a paused experiment again). A variant naming a built-in algorithm
    that no model serves yet gets a version trained, as a job (submit the jobs once this
    transaction commits); the experiment serves once every variant can be served. Any other
    blocker refuses the start (409, naming it)."""
    if experiment.status not in (ExperimentStatus.draft, ExperimentStatus.paused):
        raise Conflict(f"experiment {experiment.id!r} is {status_of(experiment)}; only a draft or paused one starts")
    if utcnow() >= experiment.end_date:
        raise Conflict(f"experiment {experiment.id!r} ended at {experiment.end_date.isoformat()}Z; it cannot start")
    resolution = resolve(session=session, settings=settings, experiment=experiment)
    refused = [reason for variant, reason in resolution.blockers.items() if variant not in resolution.to_train]
    if refused:
        raise Conflict("; ".join(refused), error="Experiment blocked")
    jobs = []
    trained = dict(experiment.outcome.get("jobs", {}))
    for variant, algorithm in resolution.to_train.items():
        if variant in trained:
            continue  # started once already (then paused): its training is under way or done
        params = {"deploy": "always", "evaluation": "random", "seed": 0}
        _, job = registry_service.start_training(
            session=session,
            settings=settings,
            name=algorithm,
            algorithm=algorithm,
            config={},
            params=params,
            created_by=created_by,
        )
        trained[variant] = job.id
        jobs.append(job)
    experiment.outcome = {**experiment.outcome, "jobs": trained}
    experiment.status = ExperimentStatus.running
    experiment.started_at = experiment.started_at or utcnow()
    session.flush()
    return experiment, jobs


def described(*, session: Session, settings: Settings, experiment: Experiment) -> tuple[str, dict[str, str], list[str]]:
    """The experiment's status, what serves each variant ("model" or "model/version") and what
    blocks the others."""
    resolution = resolve(session=session, settings=settings, experiment=experiment)
    serves = {
        variant: target.model if target.version is None else f"{target.model}/{target.version}"
        for variant, target in resolution.serves.items()
    }
    return status_of(experiment), serves, list(resolution.blockers.values())


def start_if_servable(
    *, session: Session, settings: Settings, experiment: Experiment, created_by: int | None
) -> tuple[Experiment, list[Job]]:
    """Starts the experiment unless a variant cannot be served (then it stays a draft, its
    blockers said when it is read); a variant waiting only for a training does not keep it."""
    resolution = resolve(session=session, settings=settings, experiment=experiment)
    if set(resolution.blockers) - set(resolution.to_train):
        return experiment, []
    return start(session=session, settings=settings, experiment=experiment, created_by=created_by)


def pause(*, session: Session, experiment: Experiment) -> Experiment:
    if status_of(experiment) not in (ExperimentStatus.running, ExperimentStatus.scheduled):
        raise Conflict(f"experiment {experiment.id!r} is {status_of(experiment)}; only a running one pauses")
    experiment.status = ExperimentStatus.paused
    session.flush()
    return experiment


def stop(*, session: Session, experiment: Experiment) -> Experiment:
    if experiment.status == ExperimentStatus.stopped:
        raise Conflict(f"experiment {experiment.id!r} is stopped already")
    experiment.status = ExperimentStatus.stopped
    experiment.stopped_at = utcnow()
    session.flush()
    return experiment


def promote(
    *, session: Session, settings: Settings, experiment: Experiment, variant: str, actor: int | None
) -> dict[str, Any]:
    """Deploys what served `variant` as the serving model's version, through the registry's
    deploy (so rollback goes back to the version that served before)."""
    resolution = resolve(session=session, settings=settings, experiment=experiment)
    target = resolution.serves.get(variant)
    if target is None:
        reason = resolution.blockers.get(variant, f"experiment {experiment.id!r} has no variant {variant!r}")
        raise Conflict(f"variant {variant!r} cannot be promoted: {reason}")
    if target.version is None:
        source = registry_service.deployed_or_raise(session=session, name=target.model)
    else:
        source = registry_service.get_or_raise(session=session, name=target.model, version=target.version)
    deployed = registry_service.adopt(session=session, source=source, name=settings.serving_model, actor=actor)
    promoted = {
        "variant": variant,
        "model": deployed.name,
        "version": deployed.version,
        "from": f"{source.name}/{source.version}",
    }
    experiment.outcome = {**experiment.outcome, "promoted": promoted}
    session.flush()
    return promoted


def delete(*, session: Session, experiment: Experiment) -> None:
    """A running experiment is stopped first; its exposures go with it."""
    if status_of(experiment) in (ExperimentStatus.running, ExperimentStatus.scheduled):
        raise Conflict(f"experiment {experiment.id!r} is {status_of(experiment)}; stop it before deleting it")
    session.execute(delete_rows(Exposure).where(Exposure.experiment_id == experiment.id))
    session.delete(experiment)
    session.flush()


def running(*, session: Session, now: datetime) -> list[Experiment]:
    """The experiments that serve now: started, not paused, within their dates."""
    query = select(Experiment).where(
        Experiment.status == ExperimentStatus.running, Experiment.start_date <= now, Experiment.end_date > now
    )
    return list(session.scalars(query.order_by(Experiment.started_at, Experiment.id)))
