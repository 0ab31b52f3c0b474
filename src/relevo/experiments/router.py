"""Routes of experiments: create, list, read, change before start, start, pause, stop (and
promote the winner), delete, results, and a planner of sample sizes."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, status

from relevo.api.deps import ExecutorDep, LimitedRoute, ModelManager, ReaderCaller, SessionDep, SettingsDep
from relevo.core.config import Settings
from relevo.core.errors import Conflict, InvalidArgument
from relevo.experiments import service, statistics
from relevo.experiments.models import Experiment
from relevo.experiments.results import results
from relevo.experiments.schemas import (
    ExperimentCreate,
    ExperimentRead,
    ExperimentUpdate,
    PlanRead,
    ResultsRead,
    results_read,
)
from relevo.experiments.statistics import InvalidStatisticsInput

router = APIRouter(prefix="/api/v1/experiments", tags=["experiments"], route_class=LimitedRoute)


def read(session: SessionDep, settings: Settings, experiment: Experiment) -> ExperimentRead:
    """The experiment as answers show it (shared with the SmartCommerce API's route)."""
    status_now, serves, blockers = service.described(session=session, settings=settings, experiment=experiment)
    return ExperimentRead.of(experiment, status_now, serves, blockers)


@router.post("", response_model=ExperimentRead, status_code=status.HTTP_201_CREATED)
def create(
    body: ExperimentCreate,
    caller: ModelManager,
    session: SessionDep,
    settings: SettingsDep,
    executor: ExecutorDep,
    tasks: BackgroundTasks,
    start: Annotated[
        bool, Query(description="Start it at once (refused, 409, while a variant cannot be served)")
    ] = False,
) -> ExperimentRead:
    experiment = service.create(session=session, settings=settings, data=body, created_by=caller.id)
    if start:
        experiment, jobs = service.start(
            session=session, settings=settings, experiment=experiment, created_by=caller.id
        )
        for job in jobs:
            tasks.add_task(executor.submit, job.id)  # after the response: committed by then
    return read(session, settings, experiment)


@router.get("", response_model=list[ExperimentRead])
def list_experiments(
    _: ReaderCaller, session: SessionDep, settings: SettingsDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[ExperimentRead]:
    return [read(session, settings, found) for found in service.list_experiments(session=session, limit=limit)]


@router.get("/plan", response_model=PlanRead)
def plan(
    _: ReaderCaller,
    baseline_rate: Annotated[float, Query(gt=0, lt=1, description="The control's rate, e.g. 0.1 for a 10% CTR")],
    minimum_detectable_effect: Annotated[float, Query(gt=0, description="Relative: 0.05 is a 5% lift")],
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    power: Annotated[float, Query(gt=0, lt=1)] = 0.8,
) -> PlanRead:
    """Users each variant needs to detect the effect (two-sided test of two proportions)."""
    try:
        users = statistics.users_needed(baseline_rate, minimum_detectable_effect, alpha, power)
    except InvalidStatisticsInput as exc:
        raise InvalidArgument(str(exc)) from None
    return PlanRead(
        baseline_rate=baseline_rate,
        minimum_detectable_effect=minimum_detectable_effect,
        alpha=alpha,
        power=power,
        users_per_variant=users,
    )


@router.get("/{experiment_id}", response_model=ExperimentRead)
def get(experiment_id: str, _: ReaderCaller, session: SessionDep, settings: SettingsDep) -> ExperimentRead:
    return read(session, settings, service.get_or_raise(session=session, experiment_id=experiment_id))


@router.patch("/{experiment_id}", response_model=ExperimentRead)
def update(
    experiment_id: str, body: ExperimentUpdate, _: ModelManager, session: SessionDep, settings: SettingsDep
) -> ExperimentRead:
    experiment = service.get_or_raise(session=session, experiment_id=experiment_id)
    return read(session, settings, service.update(session=session, experiment=experiment, data=body))


@router.post("/{experiment_id}/start", response_model=ExperimentRead)
def start(
    experiment_id: str,
    caller: ModelManager,
    session: SessionDep,
    settings: SettingsDep,
    executor: ExecutorDep,
    tasks: BackgroundTasks,
) -> ExperimentRead:
    """Starts it; a variant naming a built-in algorithm no model serves yet gets a version
    trained (`jobs`), and the experiment serves once every variant can be served."""
    experiment = service.get_or_raise(session=session, experiment_id=experiment_id)
    experiment, jobs = service.start(session=session, settings=settings, experiment=experiment, created_by=caller.id)
    for job in jobs:
        tasks.add_task(executor.submit, job.id)
    return read(session, settings, experiment)


@router.post("/{experiment_id}/pause", response_model=ExperimentRead)
def pause(experiment_id: str, _: ModelManager, session: SessionDep, settings: SettingsDep) -> ExperimentRead:
    experiment = service.get_or_raise(session=session, experiment_id=experiment_id)
    return read(session, settings, service.pause(session=session, experiment=experiment))


@router.post("/{experiment_id}/stop", response_model=ExperimentRead)
def stop(
    experiment_id: str,
    caller: ModelManager,
    session: SessionDep,
    settings: SettingsDep,
    promote: Annotated[
        str | None,
        Query(description="Deploy what served this variant (or the verdict's `winner`) as the serving model"),
    ] = None,
) -> ExperimentRead:
    experiment = service.get_or_raise(session=session, experiment_id=experiment_id)
    experiment = service.stop(session=session, experiment=experiment)
    if promote is not None:
        variant = promote
        if promote == "winner":
            variant = results(session=session, experiment=experiment).verdict.winner
            if variant is None:
                raise Conflict(f"experiment {experiment_id!r} has no winner to promote", error="No winner")
        service.promote(session=session, settings=settings, experiment=experiment, variant=variant, actor=caller.id)
    return read(session, settings, experiment)


@router.delete("/{experiment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(experiment_id: str, _: ModelManager, session: SessionDep) -> None:
    service.delete(session=session, experiment=service.get_or_raise(session=session, experiment_id=experiment_id))


@router.get("/{experiment_id}/results", response_model=ResultsRead)
def experiment_results(experiment_id: str, _: ReaderCaller, session: SessionDep) -> ResultsRead:
    experiment = service.get_or_raise(session=session, experiment_id=experiment_id)
    return results_read(results(session=session, experiment=experiment), service.status_of(experiment))
