"""Bulk writing: many rows into a table by the fastest path each backend offers (COPY on
PostgreSQL, executemany on SQLite), and temporary staging tables for set-based merges."""

import gc
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    cast,
    func,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from relevo.core.db import insert_rows

CHUNK_ROWS = 50_000
# A load of this many rows changes what PostgreSQL's planner should assume about the tables.
ANALYZE_AFTER_ROWS = 10_000

Conversion = Callable[[Any], Any]


def batched(rows: Iterable[Any], size: int = CHUNK_ROWS) -> Iterator[list[Any]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


_gc_pauses = 0
_gc_lock = threading.Lock()
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pauses Python's cycle collector while bulk work creates millions of short-lived rows.

    They hold no reference cycles, so reference counting frees them all the same; left on,
    the collector rescans every live row again and again, a quarter of an import's CPU.
    Nested and concurrent pauses end when the last one does.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


class BulkWriter:
    """Appends chunks of rows (tuples in `columns` order) to a table by the backend's fastest
    path, the database storing one chunk while the caller prepares the next.

    `append` hands the chunk to a background thread, which sends it with binary COPY on
    PostgreSQL (a quarter of the client CPU of text COPY) or executemany on SQLite. The
    connection is busy until it is done: call `wait()` before using the session for anything
    else.
    """

    def __init__(
        self, session: Session, table: Table, columns: Sequence[str], order_by: Callable[[Any], Any] | None = None
    ) -> None:
        """`order_by`, if given, orders each chunk before it is written (on the background thread)."""
        self._order_by = order_by
        connection = session.connection()
        self._driver = connection.connection.driver_connection
        self._postgres = connection.dialect.name == "postgresql"
        names = ", ".join(columns)
        if self._postgres:
            self._statement = f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)"
            self._types = [_postgres_type(table.c[name].type) for name in columns]
        else:
            self._statement = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})"
            self._conversions = _sqlite_conversions(table, list(columns))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relevo-bulk")
        self._in_flight: Future | None = None
        self.appended = 0

    def append(self, rows: Sequence[Sequence[Any]]) -> None:
        self.wait()
        if not rows:
            return
        self.appended += len(rows)
        if self._postgres:
            self._in_flight = self._executor.submit(self._copy, rows)
        else:
            if self._order_by is not None:
                rows = sorted(rows, key=self._order_by)
            if self._conversions:
                rows = [_converted(row, self._conversions) for row in rows]
            self._in_flight = self._executor.submit(self._driver.cursor().executemany, self._statement, rows)

    def _copy(self, rows: Sequence[Sequence[Any]]) -> None:
        if self._order_by is not None:
            rows = sorted(rows, key=self._order_by)
        with self._driver.cursor() as cursor, cursor.copy(self._statement) as copy:
            copy.set_types(self._types)
            for row in rows:
                copy.write_row(row)

    def wait(self) -> None:
        if self._in_flight is not None:
            in_flight, self._in_flight = self._in_flight, None
            in_flight.result()

    def __enter__(self) -> "BulkWriter":
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: object) -> None:
        try:
            if kind is None:
                self.wait()
            elif self._in_flight is not None:
                self._in_flight.exception()  # failing already: let the write end before the rollback
        finally:
            self._executor.shutdown(wait=True)


def append_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A batch of rows (tuples in `columns` order) into a table, in the calling thread, by the
    backend's cheapest path for a few hundred or thousand rows: binary COPY on PostgreSQL (a
    fifth of the client CPU of an executemany), db.insert_rows on SQLite. Column defaults are
    not applied."""
    connection = session.connection()
    if not rows or connection.dialect.name != "postgresql":
        insert_rows(connection, table, columns, rows)
        return
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types([_postgres_type(table.c[name].type) for name in columns])
        for row in rows:
            copy.write_row(row)


def _postgres_type(column_type: TypeEngine) -> str:
    """The PostgreSQL type binary COPY must encode a column's values as."""
    for kind, name in _POSTGRES_TYPES:
        if isinstance(column_type, kind):
            return name
    raise TypeError(f"no binary COPY type for {column_type!r}")


_POSTGRES_TYPES: tuple[tuple[type, str], ...] = (
    (JSON, "jsonb"),  # JSON documents go in as Python objects
    (DateTime, "timestamp"),
    (BigInteger, "int8"),
    (Integer, "int4"),
    (Float, "float8"),
    (Numeric, "numeric"),
    (Boolean, "bool"),
    (String, "text"),
)


def _sqlite_conversions(table: Table, columns: list[str]) -> list[tuple[int, Conversion]]:
    """Values SQLite's driver does not take as they come: JSON documents, and datetimes and
    decimals, laid out as SQLAlchemy stores them."""
    found: list[tuple[int, Conversion]] = []
    for position, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            found.append((position, json.dumps))
        elif isinstance(column_type, DateTime):
            found.append((position, lambda value: value.isoformat(" ", "microseconds")))
        elif isinstance(column_type, Numeric) and not isinstance(column_type, Float):
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


def refresh_statistics(session: Session, table: Table, loaded: int) -> None:
    """After a bulk load of `loaded` rows into `table`, brings PostgreSQL's planner statistics
    of it up to date (ANALYZE samples the table: well under a second). Autovacuum would do it
    in its own time, or never where it is off, and meanwhile queries are planned on the figures
    of the tables before the load: after the demo's million events, reading the events since an
    id (every second, in every server process) was a full scan of 80 to 100 ms instead of an
    index lookup under a millisecond."""
    dialect = session.get_bind().dialect
    if loaded >= ANALYZE_AFTER_ROWS and dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {dialect.identifier_preparer.format_table(table)}"))


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
    with BulkWriter(session, table, [column.name for column in table.columns]) as writer:
        for chunk in batched(rows):
            writer.append(chunk)
    return writer.appended


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
