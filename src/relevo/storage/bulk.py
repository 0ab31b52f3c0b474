"""Bulk loading: many rows into a temporary staging table by the fastest path each backend
offers (COPY on PostgreSQL, one executemany on SQLite), to be merged with set-based SQL."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

from sqlalchemy import Column, ColumnElement, DateTime, MetaData, Numeric, Table, cast, func, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_SQLITE_CHUNK = 20_000


@contextmanager
def staging_table(session: Session, name: str, columns: Sequence[Column]) -> Iterator[Table]:
    """A temporary table for this transaction's connection, dropped once the merge succeeded.

    On failure the surrounding transaction rolls back, which removes it as well.
    """
    connection = session.connection()
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    table = Table(name, MetaData(), *(column.copy() for column in columns), prefixes=["TEMPORARY"])
    table.create(connection)
    yield table
    connection.exec_driver_sql(f"DROP TABLE {name}")


def load_rows(session: Session, table: Table, rows: Iterable[Sequence[Any]]) -> int:
    """Appends rows (tuples in the table's column order) to a staging table; returns how many."""
    connection = session.connection()
    names = [column.name for column in table.columns]
    if connection.dialect.name == "postgresql":
        return _copy_rows(connection.connection.driver_connection, table.name, names, rows)
    statement = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    cursor = connection.connection.driver_connection.cursor()
    conversions = [
        (i, _SQLITE_CONVERSIONS[type(column.type)])
        for i, column in enumerate(table.columns)
        if type(column.type) in _SQLITE_CONVERSIONS
    ]
    loaded = 0
    iterator = iter(rows)
    while chunk := list(islice(iterator, _SQLITE_CHUNK)):
        if conversions:
            chunk = [_converted(row, conversions) for row in chunk]
        cursor.executemany(statement, chunk)
        loaded += len(chunk)
    return loaded


def _copy_rows(driver_connection: Any, table_name: str, names: list[str], rows: Iterable[Sequence[Any]]) -> int:
    loaded = 0
    with (
        driver_connection.cursor() as cursor,
        cursor.copy(f"COPY {table_name} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
            loaded += 1
    return loaded


# The driver knows neither type; SQLAlchemy stores SQLite datetimes as text in this layout.
_SQLITE_CONVERSIONS: dict[type, Callable[[Any], Any]] = {
    DateTime: lambda value: value.isoformat(" ", "microseconds"),
    Numeric: str,
}


def _converted(row: Sequence[Any], conversions: list[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    values = list(row)
    for position, convert in conversions:
        if values[position] is not None:
            values[position] = convert(values[position])
    return values


def upsert_statement(session: Session, table: Table) -> Any:
    """The backend's INSERT, which offers on_conflict_do_nothing / on_conflict_do_update."""
    dialect = session.connection().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def every_row() -> ColumnElement[bool]:
    """A WHERE clause for INSERT ... SELECT ... ON CONFLICT: SQLite cannot parse it without one."""
    return true()


def as_json_document(session: Session, column: ColumnElement) -> ColumnElement:
    """A staged JSON text column, typed as the backend's JSON document type."""
    if session.connection().dialect.name == "postgresql":
        return cast(column, postgresql.JSONB)
    return column


def json_merge(session: Session, existing: ColumnElement, incoming: ColumnElement) -> ColumnElement:
    """existing with incoming's keys laid over it, for JSON document columns."""
    if session.connection().dialect.name == "postgresql":
        return existing.op("||")(incoming)
    return func.json_patch(existing, incoming)


def ensure_external_ids(
    session: Session, table: Table, external_ids: Iterable[str], defaults: dict[str, Any]
) -> dict[str, int]:
    """Internal ids for the given external ids, inserting rows (with `defaults`) for unknown ones."""
    wanted = set(external_ids)
    if not wanted:
        return {}
    key, row_id = table.c.external_id, table.c.id
    found = dict(session.execute(select(key, row_id).where(key.in_(wanted))).all())
    missing = wanted - found.keys()
    if missing:
        insert = upsert_statement(session, table).values([{"external_id": value, **defaults} for value in missing])
        session.execute(insert.on_conflict_do_nothing(index_elements=["external_id"]))
        found.update(session.execute(select(key, row_id).where(key.in_(missing))).all())
    return found
