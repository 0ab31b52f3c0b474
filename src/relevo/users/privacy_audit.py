"""The privacy audit log: entries added, listed for admins, and the erasures serving reads."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.core.pagination import paginate_by_id
from relevo.users.privacy_models import PrivacyAction, PrivacyRecord


def record(
    *, session: Session, account_id: int | None, action: PrivacyAction, user_id: str, details: dict[str, Any]
) -> PrivacyRecord:
    entry = PrivacyRecord(account_id=account_id, action=action, user_id=user_id, details=details)
    session.add(entry)
    session.flush()
    return entry


def list_records(
    *, session: Session, user_id: str | None, limit: int, cursor: str | None
) -> tuple[list[PrivacyRecord], str | None]:
    """Newest first; one shopper's when `user_id` is given."""
    query = select(PrivacyRecord)
    if user_id is not None:
        query = query.where(PrivacyRecord.user_id == user_id)
    return paginate_by_id(session, query, PrivacyRecord.id, limit=limit, cursor=cursor)


def erasures_after(*, session: Session, after_id: int) -> list[tuple[int, str, int]]:
    """(entry id, shopper, newest event id when erased) of each erase logged after `after_id`."""
    query = (
        select(PrivacyRecord.id, PrivacyRecord.user_id, PrivacyRecord.details)
        .where(PrivacyRecord.id > after_id, PrivacyRecord.action == PrivacyAction.erase)
        .order_by(PrivacyRecord.id)
    )
    return [(row[0], row[1], int(row[2].get("newest_event", 0))) for row in session.execute(query)]
