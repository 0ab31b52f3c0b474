"""Jobs: created by requests, run by an executor, their progress written as they go."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from relevo.accounts.callers import Caller
from relevo.accounts.scopes import Scope
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


def get_own_or_raise(*, session: Session, caller: Caller, job_id: str) -> Job:
    """A job the caller started (admins: any); others' jobs are not found, as if absent."""
    job = session.get(Job, job_id)
    if job is None or not caller.owns(job.created_by):
        raise NotFound(f"job {job_id!r} does not exist")
    return job


def get_manageable_or_raise(*, session: Session, caller: Caller, job_id: str) -> Job:
    """A job of the caller's that it may cancel or delete (a caller holding jobs:manage): a
    training also needs models:manage, which starting it needed."""
    job = get_own_or_raise(session=session, caller=caller, job_id=job_id)
    if job.kind == JobKind.train:
        caller.require(Scope.models_manage)
    return job


def status(*, session: Session, job_id: str) -> JobStatus:
    """The job's status alone (without reading its params)."""
    found = session.scalar(select(Job.status).where(Job.id == job_id))
    if found is None:
        raise NotFound(f"job {job_id!r} does not exist")
    return found


def list_jobs(*, session: Session, caller: Caller, limit: int, kind: JobKind | None = None) -> list[Job]:
    """The newest jobs first: those the caller started (admins: all)."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
    if not caller.sees_everything:
        query = query.where(Job.created_by == caller.id)
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
        .values(status=JobStatus.running, started_at=utcnow(), heartbeat_at=utcnow(), message="running")
    )
    if started.rowcount != 1:
        return None
    return get_or_raise(session=session, job_id=job_id)


def progress(*, session: Session, job_id: str, message: str) -> None:
    """Says what a running job is doing now."""
    values = {"message": message, "heartbeat_at": utcnow()}
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.running).values(**values))


def advance(*, session: Session, job_id: str, processed: int, failed: int) -> None:
    """Counts more units of a running job as done (`failed` of them failed)."""
    values = {
        "processed": Job.processed + processed,
        "failed": Job.failed + failed,
        "message": "running",
        "heartbeat_at": utcnow(),
    }
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.running).values(**values))


def heartbeat(*, session: Session, job_id: str) -> None:
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.running).values(heartbeat_at=utcnow()))


def complete(*, session: Session, job_id: str, message: str, result: dict[str, Any]) -> None:
    """Records a running job's end (a job cancelled meanwhile stays cancelled)."""
    values = {"status": JobStatus.completed, "message": message, "result": result, "completed_at": utcnow()}
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.running).values(**values))


def fail(*, session: Session, job_id: str, error: str) -> None:
    values = {"status": JobStatus.failed, "message": "failed", "error": error, "completed_at": utcnow()}
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.running).values(**values))


def requeue(*, session: Session, job_id: str) -> None:
    """A running job its process stopped at a safe point: pending again, for the next start."""
    values = {"status": JobStatus.pending, "message": "interrupted; resumes when a server starts"}
    session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.running).values(**values))


def cancel(*, session: Session, job: Job) -> Job:
    if job.status in FINISHED:
        raise Conflict(f"job {job.id} is already {job.status}")
    job.status, job.message, job.completed_at = JobStatus.cancelled, "cancelled", utcnow()
    session.flush()
    return job


def interrupted(*, session: Session, stale_before: datetime) -> list[str]:
    """Jobs to run again: pending ones, and running ones nobody has shown signs of life for
    since `stale_before` (their process stopped); the running ones go back to pending."""
    session.execute(
        update(Job)
        .where(Job.status == JobStatus.running, Job.heartbeat_at < stale_before)
        .values(status=JobStatus.pending, message="resumed after an interruption")
    )
    query = select(Job.id).where(Job.status == JobStatus.pending).order_by(Job.created_at)
    return list(session.scalars(query))


def stalled_batches(*, session: Session, stale_before: datetime) -> list[Job]:
    """Running batch generation jobs with no chunk written since `stale_before` (writing one
    is their sign of life). Their heartbeat is renewed, so that one caller takes them."""
    query = select(Job).where(
        Job.kind == JobKind.generate, Job.status == JobStatus.running, Job.heartbeat_at < stale_before
    )
    jobs = list(session.scalars(query))
    for job in jobs:
        job.heartbeat_at = utcnow()
    return jobs


def delete(*, session: Session, job: Job) -> None:
    if job.status not in FINISHED:
        raise Conflict(f"job {job.id} is {job.status}; only completed, failed or cancelled jobs can be deleted")
    session.delete(job)
    session.flush()
