"""The registry's audit log: every upload, deploy, rollback, alias move, archive and delete,
with who made it and when. Rows are only added (the database refuses anything else)."""

from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.core.pagination import paginate_by_id
from relevo.registry.models import RegistryChange


class Action(StrEnum):
    upload = "upload"
    train = "train"  # a trained version became ready
    deploy = "deploy"
    rollback = "rollback"
    alias_set = "alias_set"
    alias_delete = "alias_delete"
    archive = "archive"
    delete = "delete"


def record(
    *,
    session: Session,
    account_id: int | None,
    action: Action,
    name: str,
    version: int | None = None,
    details: dict[str, Any] | None = None,
) -> RegistryChange:
    """Adds one entry; `account_id` None for what Relevo did by itself (a training's deploy gate)."""
    change = RegistryChange(account_id=account_id, action=action, name=name, version=version, details=details or {})
    session.add(change)
    session.flush()
    return change


def list_changes(
    *, session: Session, name: str | None, limit: int, cursor: str | None
) -> tuple[list[RegistryChange], str | None]:
    """Newest first; one model's when `name` is given."""
    query = select(RegistryChange)
    if name is not None:
        query = query.where(RegistryChange.name == name)
    return paginate_by_id(session, query, RegistryChange.id, limit=limit, cursor=cursor)
