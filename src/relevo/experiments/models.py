"""Experiments and their exposures: every answer served inside a running experiment."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, BigId, JsonDocument, utcnow


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


class Exposure(Base):
    """One answer served inside an experiment: who saw which items, in which order, from what."""

    __tablename__ = "exposures"
    __table_args__ = (Index("ix_exposures_experiment_id_user_id", "experiment_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recommendation_id: Mapped[str] = mapped_column(String(64), unique=True)
    experiment_id: Mapped[str] = mapped_column(String(100))
    variant: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(255))  # the shop's id
    items: Mapped[list[str]] = mapped_column(JsonDocument)  # product ids, best first
    # Interleaving: per item, the variant (ranker) that contributed it.
    credits: Mapped[list[str] | None] = mapped_column(JsonDocument)
    model_version_id: Mapped[int | None]
    route: Mapped[str] = mapped_column(String(64))
    shown_at: Mapped[datetime] = mapped_column(default=utcnow)
