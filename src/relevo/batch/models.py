"""What a batch job stored for each user: one row per (job, user), written exactly once."""

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, JsonDocument, utcnow


class JobResult(Base):
    __tablename__ = "job_results"
    __table_args__ = (
        UniqueConstraint("job_id", "user_id"),  # a chunk done twice (a redelivery) writes nothing new
        Index("ix_job_results_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(255))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument, default=list)  # [{product_id, score}]
    error: Mapped[str | None] = mapped_column(Text)  # why this user has no result
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
