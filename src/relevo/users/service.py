"""Shoppers: found or created by external id, listed, and upserted in bulk from CSV rows."""

from collections.abc import Iterable

from sqlalchemy import DateTime, String, Text, func, literal, select
from sqlalchemy.orm import Session

from relevo.accounts.callers import Caller
from relevo.core.db import utcnow
from relevo.core.errors import NotFound
from relevo.core.pagination import paginate_by_id
from relevo.storage import bulk, ids
from relevo.users.models import User

# A users CSV row, ready to store: (external_id, attributes as JSON text).
USER_ROW_COLUMNS = (("external_id", String(255)), ("attributes", Text()))


def get_or_raise(*, session: Session, external_id: str) -> User:
    user = session.scalar(select(User).where(User.external_id == external_id))
    if user is None:
        raise NotFound(f"user {external_id!r} does not exist")
    return user


def list_users(*, session: Session, limit: int, cursor: str | None) -> tuple[list[User], str | None]:
    return paginate_by_id(session, select(User), User.id, limit=limit, cursor=cursor)


def known_ids(*, session: Session, external_ids: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """Ids of users already resolved, and the external ids still unknown (no database access)."""
    return ids.known_ids(session, User.__table__, external_ids)


def existing_ids(*, session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    """Internal ids of the users that exist among these external ids (none is created)."""
    return ids.existing_ids(session, User.__table__, external_ids)


def ensure_ids(*, session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    """Internal ids for external user ids; unknown users are created on first sight."""
    return ids.ensure_external_ids(session, User.__table__, external_ids, {"attributes": {}, "created_at": utcnow()})


def highest_id(*, session: Session) -> int:
    """The newest user's id: at least as many as there are users (read from the index at once)."""
    return session.scalar(select(func.max(User.id))) or 0


def external_ids(*, session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The shop's id of each user (by internal id)."""
    wanted = list(set(ids))
    found: dict[int, str] = {}
    for start in range(0, len(wanted), 10_000):
        query = select(User.id, User.external_id).where(User.id.in_(wanted[start : start + 10_000]))
        found.update((row[0], row[1]) for row in session.execute(query))
    return found


def ensure_account_user(*, session: Session, account: Caller) -> User:
    """The shopper an account browses as, created the first time it is needed."""
    user = session.scalar(select(User).where(User.account_id == account.id))
    if user is not None:
        return user
    external_id = f"account:{account.username}"
    # Events (e.g. re-imported from another instance) may have created this shopper already.
    user = session.scalar(select(User).where(User.external_id == external_id, User.account_id.is_(None)))
    if user is None:
        user = User(external_id=external_id, attributes={})
        session.add(user)
    user.account_id = account.id
    session.flush()
    return user


def upsert_rows(*, session: Session, rows: Iterable[tuple[str, str]]) -> int:
    """Creates or updates users from (external_id, attributes JSON) rows; attributes are merged."""
    table = User.__table__
    with bulk.staging_table(session, "relevo_stage_users", USER_ROW_COLUMNS) as stage:
        bulk.load_rows(session, stage, rows)
        insert = bulk.upsert_statement(session, table)
        source = select(
            stage.c.external_id,
            bulk.as_json_document(session, stage.c.attributes),
            literal(utcnow(), DateTime()),
        ).where(bulk.every_row())
        statement = insert.from_select(["external_id", "attributes", "created_at"], source).on_conflict_do_update(
            index_elements=["external_id"],
            set_={"attributes": bulk.json_merge(session, table.c.attributes, insert.excluded.attributes)},
        )
        return session.execute(statement).rowcount
