"""The event writer: concurrent requests' events stored together, each request answered with
its own counts, and one bad request unable to fail the others."""

import asyncio
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.core.db import Database, utcnow
from relevo.core.errors import InvalidArgument
from relevo.events import service
from relevo.events.models import Event
from relevo.events.schemas import EventIn
from relevo.events.service import EventRow
from relevo.events.writer import EventWriter


def event(user: str, product: str = "p1", event_id: str | None = None) -> EventIn:
    return EventIn(user_id=user, product_id=product, event_id=event_id)


def row(user: str, event_id: str | None = None) -> EventRow:
    return EventRow(event_id, user, "p1", "view", None, None, None, None, None, utcnow())


def stored_events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Event))


def run_concurrently(writer: EventWriter, batches: list[list[EventIn]]) -> list:
    async def all_of_them() -> list:
        return await asyncio.gather(
            *(writer.ingest(batch, source="test", max_batch=100) for batch in batches), return_exceptions=True
        )

    return asyncio.run(all_of_them())


def test_concurrent_requests_are_all_stored_and_counted(database: Database, session: Session) -> None:
    writer = EventWriter(database)
    batches = [[event(f"u{i}"), event(f"u{i}", event_id=f"e{i}")] for i in range(40)]
    results = run_concurrently(writer, batches)
    writer.close()
    assert [(r.received, r.stored, r.duplicates) for r in results] == [(2, 2, 0)] * 40
    assert stored_events(session) == 80


def test_an_event_id_sent_by_two_requests_counts_for_one(database: Database, session: Session) -> None:
    counts = service.store_submissions(
        session=session,
        submissions=[([row("a", "same"), row("a")], None), ([row("b", "same")], None), ([row("c", "other")], None)],
    )
    assert counts == [2, 0, 1]
    assert stored_events(session) == 3


def test_a_resent_event_id_is_a_duplicate(database: Database) -> None:
    writer = EventWriter(database)
    first = run_concurrently(writer, [[event("u1", event_id="once")]])[0]
    again = run_concurrently(writer, [[event("u1", event_id="once"), event("u2")]])[0]
    writer.close()
    assert (first.stored, first.duplicates) == (1, 0)
    assert (again.stored, again.duplicates) == (1, 1)


def test_one_failing_request_does_not_fail_the_others(
    database: Database, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our own function, made to refuse one request: no database is faked here.
    real: Callable = service.store_submissions

    def refusing_poison(*, session: Session, submissions: list) -> list[int]:
        if any(item.user_id == "poison" for rows, _ in submissions for item in rows):
            raise InvalidArgument("user_id: poison")
        return real(session=session, submissions=submissions)

    monkeypatch.setattr(service, "store_submissions", refusing_poison)
    writer = EventWriter(database)
    results = run_concurrently(writer, [[event("u1")], [event("poison")], [event("u2")]])
    writer.close()
    assert isinstance(results[1], InvalidArgument)
    assert [results[0].stored, results[2].stored] == [1, 1]
    assert stored_events(session) == 2


def test_a_large_batch_is_stored_on_its_own(database: Database, session: Session) -> None:
    writer = EventWriter(database)
    result = asyncio.run(
        writer.ingest([event(f"u{i}") for i in range(service.SMALL_BATCH + 50)], source="test", max_batch=1000)
    )
    writer.close()
    assert result.stored == service.SMALL_BATCH + 50
    assert stored_events(session) == service.SMALL_BATCH + 50


def test_close_stores_what_is_queued_and_can_be_called_twice(database: Database, session: Session) -> None:
    writer = EventWriter(database)
    run_concurrently(writer, [[event("u1")]])
    writer.close()
    writer.close()
    assert stored_events(session) == 1


def test_a_request_the_database_cannot_store_fails_alone(database: Database, session: Session) -> None:
    # Past the request schema (which refuses it), as a value no JSON writer under the database takes.
    unstorable = EventIn.model_construct(**event("u-bad").model_dump() | {"context": {"n": 2**64}})
    writer = EventWriter(database)
    results = run_concurrently(writer, [[event(f"u{i}")] for i in range(5)] + [[unstorable]])
    writer.close()
    assert [result.stored for result in results[:5]] == [1] * 5
    assert isinstance(results[5], Exception)
    assert stored_events(session) == 5
