"""The database: engine and session factory built from settings, and the ORM base class."""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    MetaData,
    Table,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Naive UTC now: every timestamp is stored as naive UTC on every backend."""
    return datetime.now(UTC).replace(tzinfo=None)


_AFTER_COMMIT = "relevo.after_commit"


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Calls `callback` once the session's transaction has committed (never if it rolls back):
    for what must only follow committed data, such as telling other processes about it."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, ()):
        callback()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


class Database:
    """One engine and its sessions. Write sessions take SQLite's write lock up front."""

    def __init__(self, url: str, *, bind: Engine | Connection | None = None) -> None:
        self.url = make_url(url)
        if bind is None:
            self.engine = _create_engine(url)
            bind = self.engine
        else:
            self.engine = bind if isinstance(bind, Engine) else bind.engine
        self._bind = bind
        # Sessions bound to a Connection (tests) only ever use savepoints, so the outer
        # transaction can be rolled back afterwards.
        join_mode = "rollback_only" if isinstance(bind, Engine) else "create_savepoint"
        self._sessions = sessionmaker(bind, expire_on_commit=False, join_transaction_mode=join_mode)
        self._write_sessions = sessionmaker(
            bind.execution_options(relevo_write=True) if isinstance(bind, Engine) else bind,
            expire_on_commit=False,
            join_transaction_mode=join_mode,
        )

    @property
    def backend(self) -> str:
        return self.url.get_backend_name()

    @property
    def shares_one_connection(self) -> bool:
        """Bound to one connection (tests, inside a transaction rolled back afterwards): its
        sessions nest savepoints on that connection, which two threads cannot do at once, so
        writers that work in background threads write only when flushed."""
        return not isinstance(self._bind, Engine)

    def session(self, *, write: bool = True) -> Session:
        return (self._write_sessions if write else self._sessions)()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on error."""
        with self.session(write=write) as session:
            yield session
            session.commit()

    def dispose(self) -> None:
        if isinstance(self._bind, Engine):
            self._bind.dispose()


def insert_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    shared: Mapping[str, Any] | None = None,
) -> None:
    """Inserts rows (their values in `columns` order), each with the `shared` values too. Values
    go through their columns' types as in any insert (JSON serialised, times formatted; shared
    values once), but without a Core insert's Python work for every row (parameter dicts,
    defaults), which costs more than SQLite's own inserting at a hundred thousand rows. On
    SQLite, as multi-row statements of up to 30,000 values: its driver lets go of the
    interpreter once per statement rather than once per row, and in a server's background
    thread each let-go is a switch away from the requests. Elsewhere one executemany of the
    driver. Column defaults are not applied: give every value. Errors are SQLAlchemy's (an
    IntegrityError for a duplicate key)."""
    if not rows:
        return
    shared = dict(shared or {})
    dialect = connection.dialect
    markers = {"qmark": "?", "format": "%s", "pyformat": "%s"}
    if dialect.paramstyle not in markers:
        raise NotImplementedError(f"insert_rows: the {dialect.paramstyle} parameter style")

    def converted(name: str, values: Sequence[Any]) -> Sequence[Any]:
        convert = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        return values if convert is None else list(map(convert, values))

    by_column = [converted(name, values) for name, values in zip(columns, zip(*rows, strict=True), strict=True)]
    by_column += [repeat(converted(name, [value])[0], len(rows)) for name, value in shared.items()]
    names = [*columns, *shared]
    values = list(zip(*by_column, strict=True))
    group = f"({', '.join([markers[dialect.paramstyle]] * len(names))})"
    head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
    if dialect.name != "sqlite":
        connection.exec_driver_sql(head + group, values)
        return
    per_statement = max(1, _SQLITE_VALUES // len(names))
    for start in range(0, len(values), per_statement):
        chunk = values[start : start + per_statement]
        connection.exec_driver_sql(head + ", ".join([group] * len(chunk)), tuple(chain.from_iterable(chunk)))


_SQLITE_VALUES = 30_000  # values bound in one SQLite statement at most (it allows 32,766)


def delete_in_chunks(database: Database, table: Table, condition: ColumnElement[bool], chunk: int = 5_000) -> int:
    """Deletes the rows of `table` (keyed by `id`) that match `condition`, `chunk` at a time,
    each chunk in a transaction of its own, so that a large delete never holds SQLite's write
    lock, or many row locks, for long. Returns how many rows went."""
    deleted = 0
    while True:
        ids = select(table.c.id).where(condition).limit(chunk).scalar_subquery()
        with database.transaction() as session:
            count = session.execute(delete(table).where(table.c.id.in_(ids))).rowcount
        deleted += count
        if count < chunk:
            return deleted


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    # orjson writes and reads JSON columns several times faster than the standard library
    # (batch results are tens of thousands of JSON documents a second).
    json = {"json_serializer": _json_text, "json_deserializer": orjson.loads}
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **json)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **json)
    _configure_sqlite(engine)
    return engine


def _json_text(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transaction control away from the driver so BEGIN is ours to issue.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # cache_size: 32 MiB of pages (the default is 2 MiB), so big writes update indexes in memory.
        pragmas = (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
            "cache_size=-32768",
        )
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes fails at once if another writer
        # committed in between; writers therefore queue for the lock before their first read.
        write = connection.get_execution_options().get("relevo_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


# JSON documents: JSONB on PostgreSQL (indexable, mergeable), JSON text elsewhere.
JsonDocument = JSON().with_variant(postgresql.JSONB(), "postgresql")
# 64-bit keys for big tables; SQLite only auto-increments a plain INTEGER primary key.
BigId = BigInteger().with_variant(Integer(), "sqlite")
