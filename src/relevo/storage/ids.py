"""The shop's own ids of users and products, resolved to internal ids: looked up, created on
first sight, and remembered once the transaction that saw them has committed."""

import threading
from collections.abc import Iterable
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, String, Table, any_, bindparam, event, func, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from relevo.core.caches import LockedCache
from relevo.storage.bulk import batched, upsert_statement

_SLICE = 10_000  # keeps SQLite's IN lists under its parameter limit
_REMEMBERED = 200_000  # ids remembered per table: those used last
_PENDING = "relevo.resolved_ids"

# Internal ids never change and users and products are never deleted, so a resolved id can be
# remembered for the life of the process: single events then need no lookup at all. One
# memory per database (per test connection in the tests, whose data is rolled back).
_caches: "WeakKeyDictionary[Any, dict[str, LockedCache]]" = WeakKeyDictionary()
_making = threading.Lock()


def known_ids(session: Session, table: Table, external_ids: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """The ids already resolved (by this transaction or committed ones), and the external ids
    still to look up. No database access: callers may use it while the connection is busy."""
    remembered = _remembered(session, table.name)
    pending = session.info.setdefault(_PENDING, {}).setdefault(table.name, {})
    found: dict[str, int] = {}
    unknown = []
    for value in set(external_ids):
        known = remembered.get(value) or pending.get(value)
        if known is None:
            unknown.append(value)
        else:
            found[value] = known
    return found, unknown


def ensure_external_ids(
    session: Session, table: Table, external_ids: Iterable[str], defaults: dict[str, Any]
) -> dict[str, int]:
    """Internal ids for the given external ids, inserting rows (with `defaults`) for unknown ones."""
    found, unknown = known_ids(session, table, external_ids)
    pending = session.info[_PENDING][table.name]
    for wanted in batched(unknown, _SLICE):
        resolved = dict(_select_ids(session, table, wanted))
        missing = [value for value in wanted if value not in resolved]
        if missing:
            resolved.update(_insert_ids(session, table, missing, defaults))
        if len(resolved) < len(wanted):
            # A concurrent writer inserted some of them first: read those back.
            resolved.update(_select_ids(session, table, [value for value in wanted if value not in resolved]))
        # Remembered for everyone only after commit: a rolled-back insert must leave no id behind.
        pending.update(resolved)
        found.update(resolved)
    return found


def existing_ids(session: Session, table: Table, external_ids: Iterable[str]) -> dict[str, int]:
    """Internal ids of the given external ids that have a row; the others are left out (none
    is created)."""
    found, unknown = known_ids(session, table, external_ids)
    for wanted in batched(unknown, _SLICE):
        found.update(_select_ids(session, table, wanted))
    return found


def _remembered(session: Session, table_name: str) -> LockedCache:
    bind = session.get_bind()
    key = bind if isinstance(bind, Connection) else bind.pool  # engines with options share the pool
    with _making:
        tables = _caches.setdefault(key, {})
        if table_name not in tables:
            tables[table_name] = LockedCache.lru(_REMEMBERED)
        return tables[table_name]


@event.listens_for(Session, "after_commit")
def _remember_committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    for table_name, ids in (pending or {}).items():
        _remembered(session, table_name).update(ids)


@event.listens_for(Session, "after_rollback")
def _forget_uncommitted(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _select_ids(session: Session, table: Table, external_ids: list[str]) -> list[tuple[str, int]]:
    key = table.c.external_id
    if session.connection().dialect.name == "postgresql":
        # One array parameter instead of thousands of scalar ones: far cheaper to plan.
        condition = key == any_(bindparam("external_ids", external_ids, type_=postgresql.ARRAY(String)))
    else:
        condition = key.in_(external_ids)
    return [(row[0], row[1]) for row in session.execute(select(key, table.c.id).where(condition))]


def _insert_ids(
    session: Session, table: Table, external_ids: list[str], defaults: dict[str, Any]
) -> list[tuple[str, int]]:
    """Inserts rows for the external ids; returns (external id, id) of those it inserted."""
    insert = upsert_statement(session, table)
    returning = (table.c.external_id, table.c.id)
    if session.connection().dialect.name == "postgresql":
        values = bindparam("external_ids", external_ids, type_=postgresql.ARRAY(String))
        constants = [literal(value, table.c[name].type) for name, value in defaults.items()]
        insert = insert.from_select(["external_id", *defaults], select(func.unnest(values), *constants))
        result = session.execute(insert.on_conflict_do_nothing(index_elements=["external_id"]).returning(*returning))
    else:
        statement = insert.on_conflict_do_nothing(index_elements=["external_id"]).returning(*returning)
        result = session.execute(statement, [{"external_id": value, **defaults} for value in external_ids])
    return [(row[0], row[1]) for row in result]
