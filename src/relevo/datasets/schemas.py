"""Response bodies of the datasets API."""

from pydantic import BaseModel, Field

from relevo.core.fields import UtcDateTime
from relevo.datasets.models import Dataset, DatasetStatus, DatasetType


class RejectedLine(BaseModel):
    line: int
    reason: str


class DatasetRead(BaseModel):
    dataset_id: int
    dataset_type: DatasetType
    filename: str
    content_sha256: str | None = Field(description="SHA-256 of the file's bytes, hex")
    allow_duplicate: bool = Field(description="Whether the import asked to repeat an earlier import of the same file")
    status: DatasetStatus
    rows_imported: int
    rows_rejected: int
    rows_duplicate: int
    rejected_lines: list[RejectedLine]
    error: str | None
    created_at: UtcDateTime
    completed_at: UtcDateTime | None

    @classmethod
    def from_model(cls, dataset: Dataset) -> "DatasetRead":
        return cls(
            dataset_id=dataset.id,
            dataset_type=dataset.dataset_type,
            filename=dataset.filename,
            content_sha256=dataset.content_sha256,
            allow_duplicate=dataset.allow_duplicate,
            status=dataset.status,
            rows_imported=dataset.rows_imported,
            rows_rejected=dataset.rows_rejected,
            rows_duplicate=dataset.rows_duplicate,
            rejected_lines=dataset.rejected_lines,
            error=dataset.error,
            created_at=dataset.created_at,
            completed_at=dataset.completed_at,
        )
