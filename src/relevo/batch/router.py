"""Batch generation in the canonical jobs API: create a job for users or a segment, cancel,
delete, read its results page by page, or export them as CSV or JSON lines."""

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, status
from fastapi.responses import StreamingResponse

from relevo.api.deps import DatabaseDep, ExecutorDep, JobManager, LimitedRoute, ReaderCaller, SessionDep, SettingsDep
from relevo.batch import service
from relevo.batch.schemas import BatchJobCreate, ResultRead, ResultsPage
from relevo.core.db import Database
from relevo.core.errors import InvalidArgument
from relevo.jobs import runner as jobs_runner
from relevo.jobs import service as jobs_service
from relevo.jobs.schemas import JobRead

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], route_class=LimitedRoute)
_EXPORT_PAGE = 5_000


@router.post("", response_model=JobRead, status_code=status.HTTP_202_ACCEPTED)
def create(
    body: BatchJobCreate,
    caller: JobManager,
    session: SessionDep,
    settings: SettingsDep,
    executor: ExecutorDep,
    tasks: BackgroundTasks,
) -> JobRead:
    job = service.start_generation(
        session=session,
        user_ids=body.user_ids,
        active_since=body.active_since if body.segment == "active" else None,
        top_k=body.top_k,
        filters=body.filters.model_dump(exclude_defaults=True),
        scoring=body.scoring,
        created_by=caller.id,
        max_users=settings.max_batch_users,
        max_pending=settings.max_pending_jobs,
    )
    tasks.add_task(executor.submit, job.id)  # after the response: the job is committed by then
    return JobRead.from_model(job)


@router.post("/{job_id}/cancel", response_model=JobRead)
def cancel(job_id: str, caller: JobManager, session: SessionDep, executor: ExecutorDep) -> JobRead:
    job = jobs_service.get_manageable_or_raise(session=session, caller=caller, job_id=job_id)
    return JobRead.from_model(jobs_runner.cancel(session=session, job=job, handlers=executor.handlers))


@router.delete("/{job_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(job_id: str, caller: JobManager, session: SessionDep) -> None:
    job = jobs_service.get_manageable_or_raise(session=session, caller=caller, job_id=job_id)
    service.delete_job(session=session, job=job)


@router.get("/{job_id}/results", response_model=ResultsPage)
def results(
    job_id: str,
    caller: ReaderCaller,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> ResultsPage:
    jobs_service.get_own_or_raise(session=session, caller=caller, job_id=job_id)
    rows = service.results(session=session, job_id=job_id, after=_cursor(cursor), limit=limit + 1)
    page = rows[:limit]
    return ResultsPage(
        items=[ResultRead(user_id=row.user_id, items=row.items, error=row.error) for row in page],
        next_cursor=str(page[-1].id) if len(rows) > limit else None,
    )


@router.get("/{job_id}/export")
def export(
    job_id: str,
    caller: ReaderCaller,
    session: SessionDep,
    database: DatabaseDep,
    as_format: Annotated[Literal["csv", "jsonl"], Query(alias="format")] = "jsonl",
) -> StreamingResponse:
    """Every result of the job: CSV (user_id, rank, product_id, score) or JSON lines (one
    user per line), streamed."""
    jobs_service.get_own_or_raise(session=session, caller=caller, job_id=job_id)
    media = "text/csv" if as_format == "csv" else "application/x-ndjson"
    headers = {"Content-Disposition": f'attachment; filename="job-{job_id}.{as_format}"'}
    return StreamingResponse(_lines(database, job_id, as_format), media_type=media, headers=headers)


def _lines(database: Database, job_id: str, as_format: str) -> Iterator[str]:
    if as_format == "csv":
        yield "user_id,rank,product_id,score\n"
    after = 0
    while True:
        with database.session(write=False) as session:
            rows = service.results(session=session, job_id=job_id, after=after, limit=_EXPORT_PAGE)
            page = [(row.id, row.user_id, row.items, row.error) for row in rows]
        if not page:
            return
        after = page[-1][0]
        buffer = io.StringIO()
        for _, user, items, error in page:
            if as_format == "jsonl":
                buffer.write(json.dumps({"user_id": user, "items": items, "error": error}) + "\n")
            else:
                writer = csv.writer(buffer, lineterminator="\n")
                writer.writerows((user, rank, item["product_id"], item["score"]) for rank, item in enumerate(items, 1))
        yield buffer.getvalue()


def _cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
        raise InvalidArgument("cursor: must be the next_cursor value of an earlier page")
    return int(cursor)
