"""Experiments: A/B tests and interleaving tests (their exposures are in relevo.exposures)."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, JsonDocument, utcnow


class ExperimentStatus(StrEnum):
    draft = "draft"  # created, not started (perhaps blocked: a variant that cannot be served)
    scheduled = "scheduled"  # started, its start date not reached yet (never stored)
    running = "running"
    paused = "paused"  # started, serving nobody for now
    stopped = "stopped"  # stopped, or past its end date


class ExperimentKind(StrEnum):
    ab = "ab"  # each user sees one variant's answers
    interleaving = "interleaving"  # each answer interleaves two rankers' lists (team draft)


# The variant an interleaved answer's exposure records: both rankers' items, each credited in
# the exposure's `credits`.
INTERLEAVED = "interleaved"


class Experiment(Base):
    __tablename__ = "experiments"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)  # the shop's experiment_id
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default=ExperimentKind.ab)
    status: Mapped[str] = mapped_column(String(16), default=ExperimentStatus.draft)
    # [{"name", "config", "baseline"}]: config says what serves the variant's users
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JsonDocument)
    allocation: Mapped[dict[str, float]] = mapped_column(JsonDocument)  # variant → share of users
    success_metrics: Mapped[list[str]] = mapped_column(JsonDocument)
    minimum_sample_size: Mapped[int]
    attribution_hours: Mapped[float] = mapped_column(Float, default=24.0)
    salt: Mapped[str] = mapped_column(String(32))  # assignment hashes (salt, user): experiments are independent
    start_date: Mapped[datetime]
    end_date: Mapped[datetime]
    started_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    outcome: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)  # training jobs, promotion
    created_by: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
