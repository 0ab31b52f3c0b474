"""The exposure writer: answers queued by requests, written by a thread of their own; answers
outside experiments deleted once past the retention, experiments' kept."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from relevo import migrations
from relevo.core.db import Database, delete_in_chunks, utcnow
from relevo.exposures.models import Exposure
from relevo.exposures.writer import ExposureRow, ExposureWriter


def row(name: str, experiment_id: str | None = None) -> ExposureRow:
    return ExposureRow(
        recommendation_id=name,
        experiment_id=experiment_id,
        variant=None if experiment_id is None else "control",
        user_id="u1",
        items=["p1", "p2"],
        credits=None,
        model_version_id=None,
        model="default",
        model_version=3,
        source="cache",
        fallback=False,
        route="canonical",
    )


def names(database: Database) -> list[str]:
    with database.session(write=False) as session:
        return sorted(session.scalars(select(Exposure.recommendation_id)))


@pytest.fixture
def own_database(empty_database_url: str) -> Iterator[Database]:
    """A database with an engine of its own, as a server has (not one shared connection)."""
    database = Database(empty_database_url)
    migrations.upgrade(database.engine)
    yield database
    database.dispose()


def test_flush_waits_for_the_writer_thread(own_database: Database) -> None:
    writer = ExposureWriter(own_database)
    for number in range(5):
        writer.record(row(f"r{number}"))

    writer.flush()

    assert names(own_database) == [f"r{number}" for number in range(5)]
    with own_database.session(write=False) as session:
        stored = session.scalars(select(Exposure).where(Exposure.recommendation_id == "r0")).one()
    assert (stored.experiment_id, stored.model, stored.model_version, stored.source) == (None, "default", 3, "cache")
    writer.close()


def test_answers_outside_experiments_go_once_past_the_retention(database: Database) -> None:
    old = utcnow() - timedelta(days=31)
    with database.transaction() as session:
        for name, experiment_id, shown_at in (
            ("old", None, old),
            ("old-in-experiment", "exp-1", old),
            ("recent", None, utcnow() - timedelta(days=29)),
        ):
            fields = row(name, experiment_id)._asdict()
            session.add(Exposure(**fields, shown_at=shown_at))

    deleted = ExposureWriter(database, retention_days=30).prune()

    assert deleted == 1
    assert names(database) == ["old-in-experiment", "recent"]
    assert ExposureWriter(database, retention_days=0).prune() == 0


def test_a_large_delete_goes_in_chunks(database: Database) -> None:
    with database.transaction() as session:
        session.add_all(Exposure(**row(f"r{number}")._asdict()) for number in range(7))

    deleted = delete_in_chunks(database, Exposure.__table__, Exposure.model == "default", chunk=3)

    assert deleted == 7 and names(database) == []
