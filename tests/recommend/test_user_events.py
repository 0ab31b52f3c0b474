"""A user's events since training, read again whenever new ones may have arrived: also when
SQLite hands out an event id it used before (the rows with the highest ids deleted)."""

from pathlib import Path

from sqlalchemy import delete

from relevo import migrations
from relevo.core.db import Database, utcnow
from relevo.events import service as events_service
from relevo.events.models import Event
from relevo.events.service import EventRow
from relevo.recommend.user_events import EventsSinceTraining


def view(user: str, product: str) -> EventRow:
    return EventRow(None, user, product, "view", None, None, None, None, None, utcnow())


def events_of(kept: EventsSinceTraining, user: str) -> list[tuple[int, int]]:
    """(event id, the shop's product id) of each event the user has, as serving takes them."""
    found = kept.known(user, 0)
    if found is None:
        found = kept.read(user, 0)
    return [(event[0], event[1]) for event in found]


def test_a_new_event_counts_although_it_takes_the_id_of_a_deleted_one(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'relevo.db'}")  # committed to: a database of its own
    migrations.upgrade(database.engine)
    with database.transaction() as session:
        events_service.store_rows(session=session, rows=[view("shopper", "p1"), view("shopper", "p2")])
    kept = EventsSinceTraining(database)
    _, second = events_of(kept, "shopper")

    with database.transaction() as session:  # the newest row goes, as erasing its shopper would
        session.execute(delete(Event).where(Event.id == second[0]))
    with database.transaction() as session:
        events_service.store_rows(session=session, rows=[view("shopper", "p3")])
    with database.session(write=False) as session:
        stored = [(event.id, event.product_id) for event in session.query(Event).order_by(Event.id)]

    assert stored[1][0] == second[0] and stored[1][1] != second[1]  # the id again, for another product
    assert events_of(kept, "shopper") == [(stored[0][0], "p1"), (stored[1][0], "p3")]
    database.dispose()
