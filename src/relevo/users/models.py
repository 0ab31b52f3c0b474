"""Shoppers."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, JsonDocument, utcnow


class User(Base):
    """A shopper. `account_id` links the shopper an API account browses as (the store API's views)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), unique=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the shopper was last erased (DELETE /api/v1/users/{id}): the row stays, emptied, since
    # a shopper's internal id never changes (storage/ids.py remembers it in every process).
    erased_at: Mapped[datetime | None]
