"""The job table: the source of truth for every piece of background work."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, JsonDocument, utcnow


class JobStatus(StrEnum):
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


FINISHED = frozenset({JobStatus.completed, JobStatus.failed, JobStatus.cancelled})


class JobKind(StrEnum):
    train = "train"
    generate = "generate"  # recommendations for many users, stored per user


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_created_at", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a UUID, as the background-jobs API shows
    kind: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.pending)
    message: Mapped[str] = mapped_column(Text, default="")
    total: Mapped[int] = mapped_column(default=0)  # units of work (users, for batch jobs)
    processed: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # refreshed while a process runs the job
