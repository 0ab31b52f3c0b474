"""Routes of the jobs API."""

from typing import Annotated

from fastapi import APIRouter, Query

from relevo.api.deps import LimitedRoute, ReaderCaller, SessionDep
from relevo.jobs import service
from relevo.jobs.schemas import JobRead

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], route_class=LimitedRoute)


@router.get("", response_model=list[JobRead])
def list_jobs(caller: ReaderCaller, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list:
    return [JobRead.from_model(job) for job in service.list_jobs(session=session, caller=caller, limit=limit)]


@router.get("/{job_id}", response_model=JobRead)
def read_job(job_id: str, caller: ReaderCaller, session: SessionDep) -> JobRead:
    return JobRead.from_model(service.get_own_or_raise(session=session, caller=caller, job_id=job_id))
