"""Jobs: created by requests, run by an executor, their progress written as they go."""

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from relevo.core.db import utcnow
from relevo.core.errors import Conflict, NotFound
from relevo.jobs.models import FINISHED, Job, JobKind, JobStatus


def create(*, session: Session, kind: JobKind, params: dict[str, Any], created_by: int | None, total: int = 0) -> Job:
    job = Job(
        id=str(uuid.uuid4()),
        kind=kind,
        params=params,
        status=JobStatus.pending,
        message="request registered and being processed",
        total=total,
        created_by=created_by,
        result={},
    )
    session.add(job)
    session.flush()
    return job


def get_or_raise(*, session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id!r} does not exist")
    return job


def list_jobs(*, session: Session, limit: int, kind: JobKind | None = None) -> list[Job]:
    query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
    if kind is not None:
        query = query.where(Job.kind == kind)
    return list(session.scalars(query))


def active(*, session: Session, kind: JobKind, **params: Any) -> Job | None:
    """A pending or running job of this kind whose params include `params`."""
    query = select(Job).where(Job.kind == kind, Job.status.in_([JobStatus.pending, JobStatus.running]))
    for job in session.scalars(query):
        if all(job.params.get(key) == value for key, value in params.items()):
            return job
    return None


def start(*, session: Session, job_id: str) -> Job | None:
    """Marks a pending job running; None if it was cancelled (or taken) meanwhile."""
    started = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.pending)
        .values(status=JobStatus.running, started_at=utcnow(), message="running")
    )
    if started.rowcount != 1:
        return None
    return get_or_raise(session=session, job_id=job_id)


def progress(*, session: Session, job_id: str, message: str, processed: int | None = None) -> None:
    values: dict[str, Any] = {"message": message}
    if processed is not None:
        values["processed"] = processed
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.running).values(**values))


def complete(*, session: Session, job_id: str, message: str, result: dict[str, Any]) -> None:
    job = get_or_raise(session=session, job_id=job_id)
    job.status, job.message, job.result, job.completed_at = JobStatus.completed, message, result, utcnow()
    session.flush()


def fail(*, session: Session, job_id: str, error: str) -> None:
    job = get_or_raise(session=session, job_id=job_id)
    job.status, job.message, job.error, job.completed_at = JobStatus.failed, "failed", error, utcnow()
    session.flush()


def delete(*, session: Session, job: Job) -> None:
    if job.status not in FINISHED:
        raise Conflict(f"job {job.id} is {job.status}; only completed, failed or cancelled jobs can be deleted")
    session.delete(job)
    session.flush()
