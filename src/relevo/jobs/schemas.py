"""Response bodies of the jobs API, in the background-jobs API's shape."""

from typing import Any

from pydantic import BaseModel

from relevo.core.fields import UtcDateTime
from relevo.jobs.models import Job


class JobRead(BaseModel):
    job_id: str
    kind: str
    status: str
    message: str
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    completed_at: UtcDateTime | None
    total_users: int
    processed_users: int
    failed_users: int
    error: str | None
    result: dict[str, Any]

    @classmethod
    def from_model(cls, job: Job) -> "JobRead":
        return cls(
            job_id=job.id,
            kind=job.kind,
            status=job.status,
            message=job.message,
            created_at=job.created_at,
            started_at=job.started_at,
            completed_at=job.completed_at,
            total_users=job.total,
            processed_users=job.processed,
            failed_users=job.failed,
            error=job.error,
            result=job.result,
        )
