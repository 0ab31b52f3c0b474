"""An interactions file (the same bytes) is imported once: again, it is refused with 409 naming
the earlier import, unless the import asks to repeat it. Items and users files are upserts and
may come again. The database's unique index holds the rule, also for two imports at once."""

import io
import threading
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from relevo import migrations
from relevo.core.db import Database
from relevo.core.errors import AlreadyExists
from relevo.datasets import service
from relevo.datasets.models import Dataset, DatasetStatus, DatasetType
from relevo.events.models import Event
from tests.datasets.csv_files import csv_bytes, multipart
from tests.errors import assert_error

EVENTS = csv_bytes("user_id,product_id,event_type", "u1,p1,view", "u2,p1,purchase")
ITEMS = csv_bytes("product_id,name,category", "p1,Lamp,Home")
USERS = csv_bytes("user_id,segment", "u1,vip")


def import_bytes(
    session: Session, content: bytes, dataset_type: DatasetType = DatasetType.interactions, **options: bool
) -> Dataset:
    stream = io.BytesIO(content)
    return service.import_csv(
        session=session, dataset_type=dataset_type, stream=stream, filename="data.csv", caller=None, **options
    )


def count_events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Event))


def refused_naming(error: AlreadyExists, earlier: Dataset) -> None:
    when = earlier.created_at.isoformat(timespec="seconds") + "Z"
    assert f"was imported as dataset {earlier.id} at {when}" in error.details
    assert "allow_duplicate=true" in error.details
    assert error.status_code == 409


# The rule


def test_the_same_interactions_file_again_is_refused_naming_the_earlier_import(session: Session) -> None:
    first = import_bytes(session, EVENTS)

    with pytest.raises(AlreadyExists) as refused:
        import_bytes(session, EVENTS)

    refused_naming(refused.value, first)
    assert count_events(session) == 2
    assert session.scalar(select(func.count()).select_from(Dataset)) == 1


def test_when_asked_the_same_file_is_imported_again_and_the_next_still_refused(session: Session) -> None:
    first = import_bytes(session, EVENTS)

    again = import_bytes(session, EVENTS, allow_duplicate=True)

    assert (again.status, again.rows_imported, again.allow_duplicate) == (DatasetStatus.imported, 2, True)
    assert again.content_sha256 == first.content_sha256
    assert count_events(session) == 4
    with pytest.raises(AlreadyExists) as refused:
        import_bytes(session, EVENTS)
    refused_naming(refused.value, first)


def test_a_file_that_differs_by_one_byte_is_another_file(session: Session) -> None:
    import_bytes(session, EVENTS)

    other = import_bytes(session, EVENTS + b"u3,p1,view\n")

    assert other.rows_imported == 3
    assert len(other.content_sha256) == 64


@pytest.mark.parametrize(("dataset_type", "content"), [(DatasetType.items, ITEMS), (DatasetType.users, USERS)])
def test_items_and_users_files_may_come_again(session: Session, dataset_type: DatasetType, content: bytes) -> None:
    first = import_bytes(session, content, dataset_type)

    again = import_bytes(session, content, dataset_type)

    assert again.status == DatasetStatus.imported
    assert again.content_sha256 == first.content_sha256


def test_the_same_bytes_as_items_and_as_interactions_are_two_imports(session: Session) -> None:
    content = csv_bytes("user_id,product_id,name", "u1,p1,Lamp")
    import_bytes(session, content, DatasetType.users)

    assert import_bytes(session, content).rows_imported == 1


def test_a_failed_import_does_not_hold_its_file(session: Session) -> None:
    # A failed import stored none of its events: its file may come again.
    failed = import_bytes(session, EVENTS)
    failed.status = DatasetStatus.failed
    session.flush()

    assert import_bytes(session, EVENTS).status == DatasetStatus.imported


def test_imports_from_before_hashes_were_kept_hold_nothing(session: Session) -> None:
    session.add(Dataset(dataset_type=DatasetType.interactions, filename="old.csv", status=DatasetStatus.imported))
    session.flush()

    assert import_bytes(session, EVENTS).status == DatasetStatus.imported


# The index itself, on both databases


def dataset_row(session: Session, **fields: object) -> None:
    row = {"dataset_type": DatasetType.interactions, "filename": "x.csv", "content_sha256": "ab" * 32, **fields}
    with session.begin_nested():
        session.add(Dataset(**row))
        session.flush()


def test_the_index_refuses_a_second_row_of_one_file(session: Session) -> None:
    dataset_row(session, status=DatasetStatus.imported)

    with pytest.raises(IntegrityError):
        dataset_row(session, status=DatasetStatus.importing)


@pytest.mark.parametrize(
    "fields",
    [
        {"allow_duplicate": True},
        {"status": DatasetStatus.failed},
        {"dataset_type": DatasetType.items},
        {"dataset_type": DatasetType.users},
        {"content_sha256": None},
    ],
)
def test_the_index_lets_rows_outside_the_rule_repeat_a_file(session: Session, fields: dict) -> None:
    dataset_row(session, status=DatasetStatus.imported)

    dataset_row(session, **{"status": DatasetStatus.imported, **fields})
    dataset_row(session, **{"status": DatasetStatus.imported, **fields})


# Two imports of one file at once, each committing its own transaction


def migrated(url: str) -> Database:
    database = Database(url)
    migrations.upgrade(database.engine)
    return database


def import_committed(database: Database, content: bytes) -> Dataset:
    with database.transaction() as session:
        return import_bytes(session, content)


def while_importing(database: Database, then: Callable[[Session], None]) -> list[BaseException]:
    """Imports EVENTS in one transaction and, before that commits, again in another (a thread
    of its own); `then` ends the first (commits it, or raises to roll it back) once the second
    waits for it. Returns the second's errors."""
    errors: list[BaseException] = []

    def import_again() -> None:
        try:
            import_committed(database, EVENTS)
        except BaseException as exc:  # reported by the caller
            errors.append(exc)

    other = threading.Thread(target=import_again)
    try:
        with database.transaction() as session:
            import_bytes(session, EVENTS)
            other.start()
            wait_until_blocked(database, other)
            then(session)
    except RuntimeError:
        pass  # the first import failing, as asked
    other.join(timeout=120)
    assert not other.is_alive()
    return errors


def wait_until_blocked(database: Database, other: threading.Thread) -> None:
    """Until another transaction waits for a lock (PostgreSQL); SQLite's writer simply queues.
    The deadline only guards against a hang."""
    if database.backend == "sqlite":
        time.sleep(0.3)
        return
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 120
    with database.engine.connect() as connection:
        while not connection.execute(waiting).scalar() and other.is_alive():
            connection.rollback()  # each look at pg_stat_activity needs a snapshot of its own
            assert time.monotonic() < deadline, "the second import never waited for the first"
            time.sleep(0.02)


def test_of_two_imports_of_one_file_at_once_the_second_is_refused(empty_database_url: str) -> None:
    database = migrated(empty_database_url)

    errors = while_importing(database, lambda session: None)

    assert [type(error) for error in errors] == [AlreadyExists]
    with database.session(write=False) as session:
        [first] = session.scalars(select(Dataset)).all()
        refused_naming(errors[0], first)
        assert count_events(session) == 2
    database.dispose()


def test_when_the_first_of_two_imports_at_once_fails_the_second_lands(empty_database_url: str) -> None:
    database = migrated(empty_database_url)

    def fail(_: Session) -> None:
        raise RuntimeError("the first import fails")

    errors = while_importing(database, fail)

    assert errors == []
    with database.session(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Dataset)) == 1
        assert count_events(session) == 2
    database.dispose()


# Over HTTP


def upload(client: TestClient, headers: dict, route: str, **options: str) -> object:
    request = multipart(EVENTS)
    request["data"].update({key: value for key, value in options.items() if key == "allow_duplicate"})
    params = {"allow_duplicate": options["query"]} if "query" in options else None
    return client.post(route, headers=headers, params=params, **request)


@pytest.mark.parametrize("route", ["/api/v1/datasets", "/api/upload-dataset/"])
def test_uploading_the_same_file_again_is_a_conflict_naming_the_earlier_import(
    client: TestClient, admin_headers: dict, session: Session, route: str
) -> None:
    first = upload(client, admin_headers, route)
    assert first.status_code == 201, first.text

    response = upload(client, admin_headers, route)

    details = assert_error(response, 409, "Already exists")
    created_at = first.json()["created_at"].split(".")[0].removesuffix("Z")
    assert f"was imported as dataset {first.json()['dataset_id']} at {created_at}" in details
    assert count_events(session) == 2


@pytest.mark.parametrize("route", ["/api/v1/datasets", "/api/upload-dataset/"])
@pytest.mark.parametrize("asked", [{"allow_duplicate": "true"}, {"query": "true"}])
def test_an_upload_may_ask_to_import_the_same_file_again(
    client: TestClient, admin_headers: dict, session: Session, route: str, asked: dict
) -> None:
    assert upload(client, admin_headers, route).status_code == 201

    response = upload(client, admin_headers, route, **asked)

    assert response.status_code == 201, response.text
    assert response.json()["allow_duplicate"] is True
    assert count_events(session) == 4


def test_a_bad_allow_duplicate_is_refused_naming_it(client: TestClient, admin_headers: dict) -> None:
    response = upload(client, admin_headers, "/api/v1/datasets", allow_duplicate="perhaps")

    assert "allow_duplicate" in assert_error(response, 422)
