"""Locks every process sharing the database respects: a check-then-act done under one runs in
one process at a time, however many replicas there are."""

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session


def hold(session: Session, name: str) -> None:
    """Takes the lock `name` until the session's transaction ends (commit or rollback).

    PostgreSQL: a transaction-level advisory lock; others wait for it. SQLite: nothing more is
    needed, as a write transaction (`Database.transaction()`) already holds the database's one
    write lock from its start."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
