"""Bulk writing: many rows into a table by the fastest path each backend offers (COPY on
PostgreSQL, executemany on SQLite), temporary staging tables for set-based merges, and
id resolution for the shop's own user and product ids."""

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from types import TracebackType
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    DateTime,
    MetaData,
    Numeric,
    String,
    Table,
    any_,
    bindparam,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

CHUNK_ROWS = 50_000
_ID_SLICE = 10_000  # keeps SQLite's IN lists under its parameter limit

Conversion = Callable[[Any], Any]


def batched(rows: Iterable[Any], size: int = CHUNK_ROWS) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


class RowAppender:
    """Appends chunks of rows (tuples in `columns` order) to a table.

    On PostgreSQL each chunk is sent with COPY from a background thread, so the database
    stores one chunk while the caller prepares the next. Call `wait()` before using the
    session for anything else: the connection is busy until the chunk in flight is stored.
    """

    def __init__(self, session: Session, table: Table, columns: Sequence[str]) -> None:
        connection = session.connection()
        self._driver = connection.connection.driver_connection
        self._postgres = connection.dialect.name == "postgresql"
        self._columns = list(columns)
        self._table = table.name
        self._conversions = _conversions(table, self._columns, sqlite=not self._postgres)
        self._executor = ThreadPoolExecutor(max_workers=1) if self._postgres else None
        self._in_flight: Future | None = None
        self.appended = 0

    def append(self, rows: Sequence[Sequence[Any]]) -> None:
        self.wait()
        if not rows:
            return
        if self._conversions:
            rows = [_converted(row, self._conversions) for row in rows]
        self.appended += len(rows)
        if self._executor is not None:
            self._in_flight = self._executor.submit(self._copy, rows)
        else:
            placeholders = ", ".join("?" * len(self._columns))
            statement = f"INSERT INTO {self._table} ({', '.join(self._columns)}) VALUES ({placeholders})"
            self._driver.cursor().executemany(statement, rows)

    def _copy(self, rows: Sequence[Sequence[Any]]) -> None:
        statement = f"COPY {self._table} ({', '.join(self._columns)}) FROM STDIN"
        with self._driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def wait(self) -> None:
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            in_flight.result()

    def __enter__(self) -> "RowAppender":
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        try:
            if kind is None:
                self.wait()
            elif self._in_flight is not None:
                # Failing already: let the copy finish so the connection is free for the rollback.
                self._in_flight.exception()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)


def _conversions(table: Table, columns: list[str], *, sqlite: bool) -> list[tuple[int, Conversion]]:
    """Values neither driver takes as they come: JSON documents (both), datetimes and
    decimals (SQLite's driver, stored as SQLAlchemy lays them out)."""
    found = []
    for position, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            found.append((position, json.dumps))
        elif sqlite and isinstance(column_type, DateTime):
            found.append((position, lambda value: value.isoformat(" ", "microseconds")))
        elif sqlite and isinstance(column_type, Numeric):
            found.append((position, str))
    return found


def _converted(row: Sequence[Any], conversions: list[tuple[int, Conversion]]) -> Sequence[Any]:
    values = None
    for position, convert in conversions:
        value = row[position]
        if value is not None and not isinstance(value, str):
            values = values or list(row)
            values[position] = convert(value)
    return row if values is None else values


@contextmanager
def staging_table(session: Session, name: str, columns: Sequence[tuple[str, TypeEngine]]) -> Iterator[Table]:
    """A temporary table for this transaction's connection, dropped once the merge succeeded.

    On failure the surrounding transaction rolls back, which removes it as well.
    """
    connection = session.connection()
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    table = Table(name, MetaData(), *(Column(column, kind) for column, kind in columns), prefixes=["TEMPORARY"])
    table.create(connection)
    yield table
    connection.exec_driver_sql(f"DROP TABLE {name}")


def load_rows(session: Session, table: Table, rows: Iterable[Sequence[Any]]) -> int:
    """Appends rows (tuples in the table's column order) to a staging table; returns how many."""
    with RowAppender(session, table, [column.name for column in table.columns]) as appender:
        for chunk in batched(rows):
            appender.append(chunk)
    return appender.appended


def upsert_statement(session: Session, table: Table) -> Any:
    """The backend's INSERT, which offers on_conflict_do_nothing / on_conflict_do_update.

    Callers count the rows it stored; SQLAlchemy keeps an INSERT's rowcount only when asked.
    """
    dialect = session.connection().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return insert.execution_options(preserve_rowcount=True)


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
    found: dict[str, int] = {}
    for wanted in batched(set(external_ids), _ID_SLICE):
        found.update(_select_ids(session, table, wanted))
        missing = [value for value in wanted if value not in found]
        if missing:
            _insert_ids(session, table, missing, defaults)
            # Read back rather than RETURNING: a concurrent writer may have inserted some first.
            found.update(_select_ids(session, table, missing))
    return found


def _select_ids(session: Session, table: Table, external_ids: list[str]) -> list[tuple[str, int]]:
    key = table.c.external_id
    if session.connection().dialect.name == "postgresql":
        # One array parameter instead of thousands of scalar ones: far cheaper to plan.
        condition = key == any_(bindparam("external_ids", external_ids, type_=postgresql.ARRAY(String)))
    else:
        condition = key.in_(external_ids)
    return [(row[0], row[1]) for row in session.execute(select(key, table.c.id).where(condition))]


def _insert_ids(session: Session, table: Table, external_ids: list[str], defaults: dict[str, Any]) -> None:
    insert = upsert_statement(session, table)
    if session.connection().dialect.name == "postgresql":
        values = bindparam("external_ids", external_ids, type_=postgresql.ARRAY(String))
        constants = [literal(value, table.c[name].type) for name, value in defaults.items()]
        insert = insert.from_select(["external_id", *defaults], select(func.unnest(values), *constants))
        session.execute(insert.on_conflict_do_nothing(index_elements=["external_id"]))
    else:
        rows = [{"external_id": value, **defaults} for value in external_ids]
        session.execute(insert.on_conflict_do_nothing(index_elements=["external_id"]), rows)
