"""Two changes to one model's versions at once, each in its own committed transaction, on
SQLite and PostgreSQL: two trainings started together (each numbers a new version) and two
deploys (two trainings finishing together, or a training and a person). The second waits for
the first, then builds on what it did; neither fails."""

import threading
import time
from collections.abc import Callable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from relevo import migrations
from relevo.core.db import Database
from relevo.registry import service
from relevo.registry.models import ModelVersion, VersionStatus


def migrated(url: str) -> Database:
    database = Database(url)
    migrations.upgrade(database.engine)
    return database


def new_version(session: Session, name: str = "default") -> ModelVersion:
    return service.create_version(session=session, name=name, algorithm="popular", config={}, created_by=None)


def ready_versions(database: Database, count: int) -> list[int]:
    with database.transaction() as session:
        versions = [new_version(session) for _ in range(count)]
        for version in versions:
            service.mark_ready(session=session, version=version, metrics={}, training={}, watermark=0)
        return [version.id for version in versions]


def deploy(session: Session, version_id: int) -> None:
    service.deploy(session=session, version=service.get(session=session, version_id=version_id), actor=None)


def one_after_the_other(
    database: Database, first: Callable[[Session], object], second: Callable[[Session], object]
) -> list[BaseException]:
    """Runs `first` in a transaction and, before it commits, `second` in another (a thread of
    its own); commits the first once the second waits for it. Returns the second's errors."""
    errors: list[BaseException] = []

    def run_second() -> None:
        try:
            with database.transaction() as session:
                second(session)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    with database.transaction() as session:
        first(session)
        other = threading.Thread(target=run_second)
        other.start()
        wait_until_blocked(database, other)
    other.join(timeout=120)
    assert not other.is_alive()
    return errors


def wait_until_blocked(database: Database, other: threading.Thread) -> None:
    """Until another transaction waits for a lock (PostgreSQL); SQLite's writer simply queues.
    The deadline only guards against a hang: a loaded machine may take seconds to start the
    thread; a second transaction that ended without waiting reports its errors instead."""
    if database.backend == "sqlite":
        time.sleep(0.3)
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 120
    with database.engine.connect() as connection:
        while not connection.execute(waiting).scalar() and other.is_alive():
            # A transaction sees one snapshot of pg_stat_activity: each look needs its own.
            connection.rollback()
            assert time.monotonic() < deadline, "the second transaction never waited for the first"
            time.sleep(0.02)


def test_two_trainings_started_at_once_number_their_versions_one_after_the_other(empty_database_url: str) -> None:
    database = migrated(empty_database_url)

    errors = one_after_the_other(database, new_version, new_version)  # a name with no version yet

    assert errors == []
    with database.session(write=False) as session:
        assert list(session.scalars(select(ModelVersion.version).order_by(ModelVersion.version))) == [1, 2]
    database.dispose()


def test_the_second_of_two_deploys_at_once_waits_and_wins(empty_database_url: str) -> None:
    database = migrated(empty_database_url)
    serving, first, second = ready_versions(database, 3)
    with database.transaction() as session:
        deploy(session, serving)

    errors = one_after_the_other(
        database, lambda session: deploy(session, first), lambda session: deploy(session, second)
    )

    assert errors == []
    with database.session(write=False) as session:
        statuses = dict(session.execute(select(ModelVersion.id, ModelVersion.status)).all())
    assert statuses == {serving: VersionStatus.ready, first: VersionStatus.ready, second: VersionStatus.deployed}
    database.dispose()
