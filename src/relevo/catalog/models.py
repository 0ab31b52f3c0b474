"""Stores and products."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, Text, literal_column
from sqlalchemy.orm import Mapped, mapped_column, relationship

from relevo.accounts.models import Account
from relevo.core.db import Base, JsonDocument, utcnow


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[Account] = relationship(lazy="joined")


class Product(Base):
    """A catalog entry. `external_id` is the shop's own id, used by events and recommendations.

    Products are never removed from the table, only marked deleted, so behaviour recorded
    against them stays valid.
    """

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(255), unique=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id", ondelete="SET NULL"), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(255), index=True)
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    quantity: Mapped[int | None]
    views_count: Mapped[int] = mapped_column(default=0)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonDocument, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Indexed: serving reads the products changed since its last look.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)
    # One more with every change to the row: serving sums it over the catalog (with the count
    # of products) and reads the catalog again only when that moved. Unlike a newest timestamp,
    # the sum moves for every committed change, whatever order transactions commit in.
    revision: Mapped[int] = mapped_column(default=0, server_default="0", onupdate=literal_column("revision + 1"))
