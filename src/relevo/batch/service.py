"""Storing and reading batch results."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from relevo.batch.models import JobResult, ranked
from relevo.core.db import insert_rows, utcnow
from relevo.core.errors import InvalidArgument
from relevo.events.models import Event
from relevo.jobs import service as jobs_service
from relevo.jobs.models import Job, JobKind, JobStatus
from relevo.users.models import User

# (user, JobResult.ranked or its serialised JSON, why it failed)
Row = tuple[str, dict[str, list[Any]] | orjson.Fragment | None, str | None]


def start_generation(
    *,
    session: Session,
    user_ids: Sequence[str] | None,
    active_since: datetime | None = None,
    top_k: int,
    filters: dict[str, Any] | None = None,
    algorithm: str | None = None,
    scoring: str = "exact",
    created_by: int | None,
    max_users: int,
    max_pending: int | None,
) -> Job:
    """A pending batch generation job (submit it once this transaction has committed).
    `user_ids` None: every user, or those active since `active_since`. `max_pending`: jobs the
    account may have pending or running (429 past it; None: no limit). `algorithm`: rank with
    this component of the deployed model (the model itself when it has none)."""
    if user_ids is not None and len(user_ids) > max_users:
        raise InvalidArgument(f"user_ids: {len(user_ids):,} users, over the limit of {max_users:,} per job")
    params: dict[str, Any] = {"top_k": top_k, "filters": filters or {}, "algorithm": algorithm, "scoring": scoring}
    if user_ids is not None:
        params["user_ids"] = list(dict.fromkeys(user_ids))
    elif active_since is not None:
        params["active_since"] = active_since.isoformat()
    total = len(params.get("user_ids", []))
    return jobs_service.create(
        session=session,
        kind=JobKind.generate,
        params=params,
        created_by=created_by,
        max_pending=max_pending,
        total=total,
    )


def delete_job(*, session: Session, job: Job) -> None:
    """Deletes a finished job and its results."""
    jobs_service.delete(session=session, job=job)
    session.execute(delete(JobResult).where(JobResult.job_id == job.id))


def done_users(*, session: Session, job_id: str, user_ids: Sequence[str]) -> set[str]:
    """Which of these users already have a row for the job."""
    query = select(JobResult.user_id).where(JobResult.job_id == job_id, JobResult.user_id.in_(list(user_ids)))
    return set(session.scalars(query))


def undone_users(*, session: Session, job_id: str, user_ids: Sequence[str]) -> list[str]:
    """These users but those with a row for the job. A chunk is written at once, so when its
    first and last users have none, none has (the unique key still catches a chunk cut at
    other bounds, see `store`) and the whole lookup is skipped."""
    ends = [user_ids[0], user_ids[-1]] if user_ids else []
    if not done_users(session=session, job_id=job_id, user_ids=ends):
        return list(user_ids)
    done = done_users(session=session, job_id=job_id, user_ids=user_ids)
    return [user for user in user_ids if user not in done]


def store(*, session: Session, job_id: str, rows: Sequence[Row]) -> tuple[int, int]:
    """Writes (user, ranked, error) rows for users the job has no row for yet, in one statement;
    returns how many were new and how many of those failed. Callers run it in the transaction
    that also counts the chunk as done."""
    try:
        with session.begin_nested():  # usually none is stored yet: no need to look
            _insert(session, job_id, rows)
        new = list(rows)
    except IntegrityError:  # some are (a chunk done again): the others only
        already = done_users(session=session, job_id=job_id, user_ids=[row[0] for row in rows])
        new = [row for row in rows if row[0] not in already]
        _insert(session, job_id, new)
    return len(new), sum(1 for row in new if row[2] is not None)


def _insert(session: Session, job_id: str, rows: Sequence[Row]) -> None:
    empty = ranked([], [])
    values = [(user, found or empty, error) for user, found, error in rows]
    shared = {"job_id": job_id, "created_at": utcnow()}
    insert_rows(session.connection(), JobResult.__table__, ("user_id", "items", "error"), values, shared)


def results(*, session: Session, job_id: str, after: int, limit: int) -> list[JobResult]:
    """A page of the job's rows, in the order they were written (after row id `after`)."""
    query = (
        select(JobResult).where(JobResult.job_id == job_id, JobResult.id > after).order_by(JobResult.id).limit(limit)
    )
    return list(session.scalars(query))


def latest_for_user(
    *, session: Session, user_id: str, version_id: int, algorithm: str | None = None
) -> JobResult | None:
    """The user's result from the newest completed generation job ranked with `algorithm` that
    has one and was computed with this model version (a result of an older model is stale)."""
    query = (
        select(JobResult, Job.params, Job.result)
        .join(Job, Job.id == JobResult.job_id)
        .where(JobResult.user_id == user_id, JobResult.error.is_(None), Job.status == JobStatus.completed)
        .order_by(Job.created_at.desc(), JobResult.id.desc())
        .limit(20)
    )
    for result, params, outcome in session.execute(query):
        if params.get("algorithm") == algorithm and outcome.get("model_version_id") == version_id:
            return result
    return None


def segment(*, session: Session, active_since: datetime | None) -> list[str]:
    """Every user the shop knows, or those with an event since `active_since`, by id."""
    query = select(User.external_id).order_by(User.id)
    if active_since is not None:
        active = select(Event.user_id).where(Event.occurred_at >= active_since).distinct()
        query = query.where(User.id.in_(active))
    return list(session.scalars(query))
