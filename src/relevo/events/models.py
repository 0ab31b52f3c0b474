"""The event table."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, BigId, JsonDocument


class EventType(StrEnum):
    """The built-in types. Any other lower-case name is accepted as a custom type."""

    view = "view"
    click = "click"
    add_to_cart = "add_to_cart"
    remove_from_cart = "remove_from_cart"
    purchase = "purchase"
    rating = "rating"


class Event(Base):
    """One behaviour record: an append-only log, and by far the largest table.

    user_id and product_id carry no foreign-key constraints: Relevo writes them only from ids
    it has just resolved against users and products, rows it never deletes, and per-row
    constraint checks would double the cost of every bulk import. For the same reason the
    only secondary index is the one serving a user's recent history.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_user_id_occurred_at", "user_id", "occurred_at"),
        # Only events that carry an id take part in idempotency; most bulk rows do not.
        Index(
            "uq_events_event_id",
            "event_id",
            unique=True,
            postgresql_where=text("event_id IS NOT NULL"),
            sqlite_where=text("event_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[str | None] = mapped_column(String(255))
    user_id: Mapped[int]
    product_id: Mapped[int]
    event_type: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    session_id: Mapped[str | None] = mapped_column(String(255))
    device_type: Mapped[str | None] = mapped_column(String(32))
    context: Mapped[dict[str, Any] | None] = mapped_column(JsonDocument)
    recommendation_id: Mapped[str | None] = mapped_column(String(64))
    dataset_id: Mapped[int | None]
    occurred_at: Mapped[datetime]
