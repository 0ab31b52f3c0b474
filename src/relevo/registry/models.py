"""Model versions: what was trained, how well it did, and which one serves."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, JsonDocument, utcnow


class VersionStatus(StrEnum):
    training = "training"
    ready = "ready"
    deployed = "deployed"
    archived = "archived"
    failed = "failed"


class ModelVersion(Base):
    """One trained (or training) version of a named model. Exactly one version per name is
    `deployed`; versions deployed before keep their `deployed_at`, which rollback uses."""

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("name", "version"),
        Index("ix_model_versions_name_status", "name", "status"),
        # The database itself keeps one deployed version per name, even with concurrent deploys.
        Index(
            "uq_model_versions_deployed_name",
            "name",
            unique=True,
            sqlite_where=text("status = 'deployed'"),
            postgresql_where=text("status = 'deployed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int]
    algorithm: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=VersionStatus.training)
    config: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    training: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)  # data and time it took
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)  # the last event id the version saw
    artifact: Mapped[str | None] = mapped_column(String(255))  # key in the artifact store
    job_id: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    trained_at: Mapped[datetime | None]
    deployed_at: Mapped[datetime | None]
