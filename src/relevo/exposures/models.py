"""The exposures table: one row per answer that served a person, what it showed and how it was
found. Experiments read theirs; online metrics read them all."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, BigId, JsonDocument, utcnow


class AnswerSource(StrEnum):
    """Where an answer came from."""

    cache = "cache"  # an answer kept from an earlier request for the same question
    ranked_ahead = "ranked_ahead"  # a list ranked before the request (at training, or by a batch job)
    model = "model"  # the model ranking for this request
    fallback = "fallback"  # a user the model cannot say anything about: cold start, what is popular


class Exposure(Base):
    """One answer served to a person: who saw which items, in which order, from what. Answers
    inside an experiment name it and the variant; the others (recorded while
    RELEVO_ONLINE_METRICS is on) have neither, and are deleted after
    RELEVO_EXPOSURE_RETENTION_DAYS."""

    __tablename__ = "exposures"
    __table_args__ = (
        # An experiment's users: answers outside experiments (most of them) are left out of it.
        Index(
            "ix_exposures_experiment_id_user_id",
            "experiment_id",
            "user_id",
            postgresql_where=text("experiment_id IS NOT NULL"),
            sqlite_where=text("experiment_id IS NOT NULL"),
        ),
        # Online metrics read a time range; retention deletes what is older than a time.
        Index("ix_exposures_shown_at", "shown_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recommendation_id: Mapped[str] = mapped_column(String(64), unique=True)
    experiment_id: Mapped[str | None] = mapped_column(String(100))
    variant: Mapped[str | None] = mapped_column(String(100))
    user_id: Mapped[str] = mapped_column(String(255))  # the shop's id
    items: Mapped[list[str]] = mapped_column(JsonDocument)  # product ids, best first
    # Interleaving: per item, the variant (ranker) that contributed it.
    credits: Mapped[list[str] | None] = mapped_column(JsonDocument)
    model_version_id: Mapped[int | None]
    model: Mapped[str | None] = mapped_column(String(100))  # the model's name (None: no model answered)
    model_version: Mapped[int | None]  # its version number
    source: Mapped[str] = mapped_column(String(16))  # an AnswerSource
    # The list is a fallback (cold start, what is popular), whether found now or kept.
    fallback: Mapped[bool] = mapped_column(default=False)
    route: Mapped[str] = mapped_column(String(64))
    shown_at: Mapped[datetime] = mapped_column(default=utcnow)
