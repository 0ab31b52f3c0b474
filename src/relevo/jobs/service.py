"""Jobs: created by requests, run by an executor, their progress written as they go.

A run of a job is known by its `started_at`: the process that started it writes its heartbeat
and its end only while the row still carries that value, so a process that lost its job (it
stalled, and another took the job over) can no longer write as if it ran it."""

import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from relevo.accounts.callers import Caller
from relevo.accounts.scopes import Scope
from relevo.core import locks
from relevo.core.db import utcnow
from relevo.core.errors import Conflict, NotFound, TooManyRequests
from relevo.jobs.models import FINISHED, Job, JobKind, JobStatus

# A job is resumed at most this many times after the process running it died; the next time,
# it fails instead: a job that keeps killing its processes (running out of memory, say) would
# otherwise take down every server in turn.
MAX_RESUMES = 3
UNFINISHED = (JobStatus.pending, JobStatus.running)  # what counts as a job under way


def create(
    *,
    session: Session,
    kind: JobKind,
    params: dict[str, Any],
    created_by: int | None,
    max_pending: int | None,
    total: int = 0,
) -> Job:
    """A pending job. An account (`created_by`) may have at most `max_pending` jobs pending or
    running (None: no limit; jobs the system starts, with no account, have none)."""
    if created_by is not None and max_pending is not None:
        locks.hold(session, f"relevo.jobs-of.{created_by}")  # two requests at once count each other
        unfinished = session.scalar(
            select(func.count()).where(Job.created_by == created_by, Job.status.in_(UNFINISHED))
        )
        if unfinished >= max_pending:
            raise TooManyRequests(
                f"jobs: {unfinished} of this account's jobs are pending or running, the most allowed "
                f"(RELEVO_MAX_PENDING_JOBS={max_pending}); wait for one to finish or cancel one"
            )
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


def get(*, session: Session, job_id: str) -> Job | None:
    return session.get(Job, job_id)


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


def count_by_kind_and_status(*, session: Session) -> dict[tuple[str, str], int]:
    """How many jobs of each kind are in each status."""
    query = select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
    return {(kind, status): count for kind, status, count in session.execute(query)}


def active(*, session: Session, kind: JobKind, **params: Any) -> Job | None:
    """A pending or running job of this kind whose params include `params`."""
    query = select(Job).where(Job.kind == kind, Job.status.in_(UNFINISHED))
    for job in session.scalars(query):
        if all(job.params.get(key) == value for key, value in params.items()):
            return job
    return None


def start(*, session: Session, job_id: str) -> Job | None:
    """Marks a pending job running, a new run (its `started_at`); None if it was cancelled (or
    taken) meanwhile."""
    now = utcnow()
    started = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.pending)
        .values(status=JobStatus.running, started_at=now, heartbeat_at=now, message="running")
    )
    if started.rowcount != 1:
        return None
    return get_or_raise(session=session, job_id=job_id)


def run_state(*, session: Session, job_id: str) -> tuple[str, datetime | None]:
    """The job's status and the start of its current run."""
    found = session.execute(select(Job.status, Job.started_at).where(Job.id == job_id)).first()
    if found is None:
        raise NotFound(f"job {job_id!r} does not exist")
    return found.status, found.started_at


def _this_run(job_id: str, started_at: datetime | None) -> Any:
    """The job's row while it is running, in the run started at `started_at` (any run: None)."""
    condition = and_(Job.id == job_id, Job.status == JobStatus.running)
    return condition if started_at is None else and_(condition, Job.started_at == started_at)


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


def heartbeat(*, session: Session, job_id: str, started_at: datetime | None = None) -> bool:
    """Says the run started at `started_at` is alive; False if the job is no longer in that run
    (cancelled, or taken over by another process)."""
    beat = session.execute(update(Job).where(_this_run(job_id, started_at)).values(heartbeat_at=utcnow()))
    return beat.rowcount == 1


def complete(
    *, session: Session, job_id: str, message: str, result: dict[str, Any], started_at: datetime | None = None
) -> None:
    """Records a running job's end (a job cancelled meanwhile stays cancelled); with
    `started_at`, only if the job is still in that run."""
    values = {"status": JobStatus.completed, "message": message, "result": result, "completed_at": utcnow()}
    session.execute(update(Job).where(_this_run(job_id, started_at)).values(**values))


def fail(*, session: Session, job_id: str, error: str, started_at: datetime | None = None) -> None:
    values = {"status": JobStatus.failed, "message": "failed", "error": error, "completed_at": utcnow()}
    session.execute(update(Job).where(_this_run(job_id, started_at)).values(**values))


def requeue(*, session: Session, job_id: str, started_at: datetime | None = None) -> None:
    """A running job its process stopped at a safe point: pending again, for a live process to
    take up (a server starting takes it at once)."""
    values = {"status": JobStatus.pending, "message": "interrupted; resumes in another process"}
    session.execute(update(Job).where(_this_run(job_id, started_at)).values(**values))


# Ends what a job ending now leaves unfinished, whether or not a process is still at it, with
# the reason; False if that work is already done (too late). What that is depends on the job's
# kind, which the packages building on jobs know (jobs.handlers): it is handed in.
Abandon = Callable[[Session, Job, str], bool]


def cancel(*, session: Session, job: Job, abandon: Abandon) -> Job:
    """Cancels a pending or running job; its process stops it at its next step. What its
    work leaves unfinished goes with it (`abandon`); if that work has already finished, it is
    too late: Conflict."""
    if job.status in FINISHED:
        raise Conflict(f"job {job.id} is already {job.status}")
    if not abandon(session, job, "its job was cancelled"):
        raise Conflict(f"job {job.id} has already done its work and is about to end; too late to cancel")
    job.status, job.message, job.completed_at = JobStatus.cancelled, "cancelled", utcnow()
    session.flush()
    return job


def claim(
    *,
    session: Session,
    stale_before: datetime,
    pending_before: datetime,
    limit: int,
    abandon: Abandon,
    running_kinds: Collection[str] | None = None,
) -> list[str]:
    """Takes up to `limit` jobs that no live process is running, for the caller to run: running
    ones with no heartbeat since `stale_before` (their process died; only of `running_kinds`
    if given), and pending ones nobody has taken since `pending_before` (their process died
    before handing them to an executor, or while they waited in its queue).

    Each is taken with a compare-and-set update, so of several processes looking at once only
    one takes a job. A taken job is pending with a fresh heartbeat: nobody takes it again while
    the caller starts it (`start` takes pending jobs only, so it runs once, even if a second
    copy was queued somewhere). A running job resumed MAX_RESUMES times already fails instead,
    and what it leaves unfinished with it (`abandon`)."""
    stale, waiting = _unrun(stale_before, pending_before, running_kinds)
    query = select(Job.id, Job.status).where(or_(stale, waiting)).order_by(Job.created_at).limit(limit)
    taken = []
    for job_id, status in session.execute(query).all():
        condition = stale if status == JobStatus.running else waiting
        values: dict[str, Any] = {"status": JobStatus.pending, "heartbeat_at": utcnow()}
        if status == JobStatus.running:
            values["message"] = "resumed: the process running it stopped"
        taking = update(Job).where(Job.id == job_id, condition).values(**values)
        if session.execute(taking.execution_options(synchronize_session=False)).rowcount != 1:
            continue  # another process took it first
        if status == JobStatus.pending or _count_resume(session=session, job_id=job_id, abandon=abandon):
            taken.append(job_id)
    return taken


def any_to_claim(
    *, session: Session, stale_before: datetime, pending_before: datetime, running_kinds: Collection[str] | None = None
) -> bool:
    """Whether `claim` would find a job, read without writing: most looks find none, and need
    not take SQLite's write lock to learn it."""
    stale, waiting = _unrun(stale_before, pending_before, running_kinds)
    return session.scalar(select(Job.id).where(or_(stale, waiting)).limit(1)) is not None


def _unrun(stale_before: datetime, pending_before: datetime, running_kinds: Collection[str] | None) -> tuple[Any, Any]:
    """The conditions of a running job nobody beats for, and of a pending job nobody took."""
    stale = and_(Job.status == JobStatus.running, Job.heartbeat_at < stale_before)
    if running_kinds is not None:
        stale = and_(stale, Job.kind.in_(list(running_kinds)))
    waiting = and_(Job.status == JobStatus.pending, func.coalesce(Job.heartbeat_at, Job.created_at) < pending_before)
    return stale, waiting


def _count_resume(*, session: Session, job_id: str, abandon: Abandon) -> bool:
    """Counts one more resume of a job just taken back from a dead process; past MAX_RESUMES,
    fails it instead (False)."""
    job = session.scalars(select(Job).where(Job.id == job_id).execution_options(populate_existing=True)).one()
    resumes = int(job.params.get("resumes", 0)) + 1
    if resumes <= MAX_RESUMES:
        job.params = {**job.params, "resumes": resumes}
        session.flush()
        return True
    error = f"the process running it stopped {resumes} times (killed, or out of memory?); not resumed again"
    abandon(session, job, error)
    job.status, job.message, job.error, job.completed_at = JobStatus.failed, "failed", error, utcnow()
    session.flush()
    return False


def stalled_chunked(*, session: Session, stale_before: datetime, kinds: Collection[str]) -> list[Job]:
    """Running jobs of these chunked kinds with no chunk done since `stale_before` (doing one
    is their sign of life). Their heartbeat is renewed, so that one caller takes them."""
    query = select(Job).where(
        Job.kind.in_(list(kinds)), Job.status == JobStatus.running, Job.heartbeat_at < stale_before
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
