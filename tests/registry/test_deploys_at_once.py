"""Two deploys of one model at once (two trainings finishing, or a training and a person), each
in its own committed transaction, on SQLite and PostgreSQL: the second waits for the first and
then deploys over it; one version serves, and neither fails."""

import threading
import time

from sqlalchemy import select, text

from relevo import migrations
from relevo.core.db import Database
from relevo.registry import service
from relevo.registry.models import ModelVersion, VersionStatus


def ready_versions(database: Database, count: int) -> list[int]:
    with database.transaction() as session:
        versions = []
        for _ in range(count):
            version = service.create_version(
                session=session, name="default", algorithm="popular", config={}, created_by=None
            )
            service.mark_ready(session=session, version=version, metrics={}, training={}, watermark=0, artifact="x")
            versions.append(version.id)
        return versions


def deploy(database: Database, version_id: int) -> None:
    with database.transaction() as session:
        service.deploy(session=session, version=service.get(session=session, version_id=version_id))


def wait_until_blocked(database: Database) -> None:
    """Until another transaction waits for a lock (PostgreSQL); SQLite's writer simply queues."""
    if database.backend == "sqlite":
        time.sleep(0.3)
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 10
    with database.engine.connect() as connection:
        while not connection.execute(waiting).scalar():
            assert time.monotonic() < deadline, "the second deploy never waited for the first"
            time.sleep(0.02)


def test_the_second_of_two_deploys_at_once_waits_and_wins(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    migrations.upgrade(database.engine)
    serving, first, second = ready_versions(database, 3)
    deploy(database, serving)
    errors: list[BaseException] = []

    def deploy_second() -> None:
        try:
            deploy(database, second)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    with database.transaction() as session:
        service.deploy(session=session, version=service.get(session=session, version_id=first))
        other = threading.Thread(target=deploy_second)
        other.start()
        wait_until_blocked(database)
    other.join(timeout=30)

    assert not other.is_alive()
    assert errors == []
    with database.session(write=False) as session:
        statuses = dict(session.execute(select(ModelVersion.id, ModelVersion.status)).all())
    assert statuses == {serving: VersionStatus.ready, first: VersionStatus.ready, second: VersionStatus.deployed}
    database.dispose()
