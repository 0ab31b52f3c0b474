"""The registry's tables: models, their versions (trained by Relevo or uploaded), each version's
files by content hash, aliases, and the append-only log of every change."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, JsonDocument, utcnow


class VersionStatus(StrEnum):
    training = "training"
    ready = "ready"
    deployed = "deployed"
    archived = "archived"
    failed = "failed"


class VersionSource(StrEnum):
    trained = "trained"  # by Relevo, from the shop's events
    uploaded = "uploaded"  # trained elsewhere and uploaded


class VersionKind(StrEnum):
    recommender = "recommender"  # serves lists of products
    predictor = "predictor"  # answers a number for a customer (inference)


class RegisteredModel(Base):
    """A model name, with what is said of it; its versions hold the rest."""

    __tablename__ = "registered_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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
    source: Mapped[str] = mapped_column(String(16), default=VersionSource.trained, server_default="trained")
    kind: Mapped[str] = mapped_column(String(16), default=VersionKind.recommender, server_default="recommender")
    # How its files load: "relevo" (Relevo's arrays and manifest), "factors", "onnx", "skops", ...
    format: Mapped[str] = mapped_column(String(16), default="relevo", server_default="relevo")
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=VersionStatus.training)
    config: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    training: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)  # data and time it took
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)  # the last event id the version saw
    # The folder of a version trained before files were addressed by their hash (model_files).
    artifact: Mapped[str | None] = mapped_column(String(255))
    job_id: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    trained_at: Mapped[datetime | None]
    deployed_at: Mapped[datetime | None]


class ModelFile(Base):
    """One file of a version: the name it is known by (chosen from a sanitised upload name or by
    the trainer) and the SHA-256 of its content, which is where the file store keeps it."""

    __tablename__ = "model_files"
    __table_args__ = (UniqueConstraint("version_id", "name"), Index("ix_model_files_sha256", "sha256"))

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # "model", "artifact" or "trained"
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)


class ModelAlias(Base):
    """A named pointer to one version of a model ("champion"), moved while versions stay fixed."""

    __tablename__ = "model_aliases"
    __table_args__ = (UniqueConstraint("name", "alias"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    alias: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    updated_by: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RegistryChange(Base):
    """One change to the registry, who made it and when. Rows are only ever added: the
    database refuses to update or delete them (migration 0013's triggers)."""

    __tablename__ = "registry_audit"
    __table_args__ = (Index("ix_registry_audit_name", "name", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    account_id: Mapped[int | None]  # None: Relevo itself (a training's deploy gate, the scheduler)
    action: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
