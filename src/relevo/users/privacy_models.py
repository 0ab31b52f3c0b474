"""The privacy audit log: every erase and export of a shopper, who asked and when."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, JsonDocument, utcnow


class PrivacyAction(StrEnum):
    erase = "erase"
    export = "export"


class PrivacyRecord(Base):
    """One erase or export. Rows are only ever added: the database refuses to update or delete
    them (migration 0014's triggers). Serving reads the erase rows to forget erased shoppers."""

    __tablename__ = "privacy_audit"
    __table_args__ = (Index("ix_privacy_audit_user_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    account_id: Mapped[int | None]  # who asked
    action: Mapped[str] = mapped_column(String(16))  # a PrivacyAction
    user_id: Mapped[str] = mapped_column(String(255))  # the shop's id of the shopper
    # erase: how many rows of each kind went, and `newest_event`, the newest event id when the
    # erase began (models trained up to it may have learned from the shopper).
    details: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
