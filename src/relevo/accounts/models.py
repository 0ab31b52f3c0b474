"""Accounts, their API keys, and the rate-limit quotas an admin gave either."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base, utcnow


class Role(StrEnum):
    admin = "admin"
    owner = "owner"
    service = "service"
    viewer = "viewer"


class KeyKind(StrEnum):
    secret = "secret"  # for a shop's backend: the scopes it was made with
    publishable = "publishable"  # for a web page: shoppers' events and recommendations, from its origins


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Access tokens issued before this (a password change, a deactivation) are refused.
    tokens_valid_after: Mapped[datetime | None]


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(255))  # space-separated (accounts.scopes.Scope)
    kind: Mapped[str] = mapped_column(String(16), default="secret", server_default="secret")  # KeyKind
    origins: Mapped[str | None] = mapped_column(Text)  # a publishable key's, space-separated
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class RateLimitQuota(Base):
    """The rates one API key or one account is allowed instead of the defaults (RELEVO_RATE_LIMIT_*),
    per class of request; a class left empty keeps the default (a key's: its account's)."""

    __tablename__ = "rate_limit_quotas"
    __table_args__ = (CheckConstraint("(account_id IS NULL) <> (api_key_id IS NULL)", name="one_holder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), unique=True)
    api: Mapped[str | None] = mapped_column(String(64))  # as written, e.g. "1000/minute"
    training: Mapped[str | None] = mapped_column(String(64))
    bulk: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[int | None]  # the admin's account id
