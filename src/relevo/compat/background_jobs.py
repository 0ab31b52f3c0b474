"""The background-jobs API (background recommendation generation): start a batch, poll it,
list and delete jobs, and read a user's recommendations (the newest stored batch result, else
computed live), in its shapes."""

import time
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from relevo.api.deps import (
    ExecutorDep,
    JobManager,
    LimitedRoute,
    ReaderCaller,
    SessionDep,
    SettingsDep,
    read_route,
)
from relevo.batch import service as batch_service
from relevo.batch.schemas import GenerateRecommendationsRequest
from relevo.jobs import service as jobs_service
from relevo.jobs.schemas import JobRead
from relevo.recommend.answer import UserRequest
from relevo.recommend.in_experiments import assignment_for, served
from relevo.recommend.recorded import record_stored
from relevo.recommend.request_inputs import answer_inputs

router = APIRouter(tags=["background-jobs API"], route_class=LimitedRoute)
ROUTE = "background_jobs"  # what its answers are recorded as served on


@router.post("/generate-recommendations", response_model=JobRead)
def generate_recommendations(
    body: GenerateRecommendationsRequest,
    caller: JobManager,
    session: SessionDep,
    settings: SettingsDep,
    executor: ExecutorDep,
    tasks: BackgroundTasks,
) -> JobRead:
    """Answers at once with the pending job; poll GET /job-status/{job_id}."""
    job = batch_service.start_generation(
        session=session,
        user_ids=body.user_ids,
        top_k=body.top_k,
        created_by=caller.id,
        max_users=settings.max_batch_users,
        max_pending=settings.max_pending_jobs,
    )
    tasks.add_task(executor.submit, job.id)  # after the response: the job is committed by then
    return JobRead.from_model(job)


@router.get("/job-status/{job_id}", response_model=JobRead)
def job_status(job_id: str, caller: ReaderCaller, session: SessionDep) -> JobRead:
    return JobRead.from_model(jobs_service.get_own_or_raise(session=session, caller=caller, job_id=job_id))


@router.get("/jobs", response_model=list[JobRead])
def jobs(caller: ReaderCaller, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 10) -> list[JobRead]:
    """The newest jobs first (the caller's own; admins see all)."""
    return [JobRead.from_model(job) for job in jobs_service.list_jobs(session=session, caller=caller, limit=limit)]


class Deleted(BaseModel):
    status: str = "deleted"
    job_id: str


@router.delete("/job/{job_id}", response_model=Deleted)
def delete_job(job_id: str, caller: JobManager, session: SessionDep) -> Deleted:
    """Only completed, failed or cancelled jobs; 409 with the reason otherwise."""
    job = jobs_service.get_manageable_or_raise(session=session, caller=caller, job_id=job_id)
    batch_service.delete_job(session=session, job=job)
    return Deleted(job_id=job_id)


class StoredRecommendation(BaseModel):
    product_id: str
    score: float
    rank: int


@read_route(router, "/recommendations/{user_id}", response_model=list[StoredRecommendation])
async def recommendations_for_user(
    request: Request, user_id: str, count: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[StoredRecommendation]:
    """The user's result from the newest batch job that has one, computed with the serving
    model version; computed now otherwise, and always for a user inside an experiment."""
    started = time.perf_counter()
    if await assignment_for(request, user_id) is None:
        inputs = await answer_inputs(request)
        stored = await run_in_threadpool(_stored, request, user_id, inputs.version.version_id)
        if stored is not None:
            shown = stored[:count]
            record_stored(
                request,
                route=ROUTE,
                user_id=user_id,
                items=[item["product_id"] for item in shown],
                version=inputs.version,
                started=started,
            )
            return [
                StoredRecommendation(product_id=item["product_id"], score=item["score"], rank=rank)
                for rank, item in enumerate(shown, start=1)
            ]
    result = await served(request, UserRequest(user_id, count), route=ROUTE)
    return [
        StoredRecommendation(product_id=item.product.product_id, score=round(item.score, 6), rank=rank)
        for rank, item in enumerate(result.items, start=1)
    ]


def _stored(request: Request, user_id: str, version_id: int) -> list[dict] | None:
    with request.app.state.database.session(write=False) as session:
        found = batch_service.latest_for_user(session=session, user_id=user_id, version_id=version_id)
        return None if found is None else list(found.items)
