"""Routes of the jobs API."""

from typing import Annotated

from fastapi import APIRouter, Query

from relevo.api.deps import CurrentCaller, SessionDep
from relevo.jobs import service
from relevo.jobs.schemas import JobRead

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


@router.get("", response_model=list[JobRead])
def list_jobs(_: CurrentCaller, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list:
    return [JobRead.from_model(job) for job in service.list_jobs(session=session, limit=limit)]


@router.get("/{job_id}", response_model=JobRead)
def read_job(job_id: str, _: CurrentCaller, session: SessionDep) -> JobRead:
    return JobRead.from_model(service.get_or_raise(session=session, job_id=job_id))
