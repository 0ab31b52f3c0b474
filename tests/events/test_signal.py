"""The signal of which users have new events: shared by every process on the database's file,
raised only once events commit and by every commit, never lowered."""

from pathlib import Path

from sqlalchemy.engine import make_url

from relevo import migrations
from relevo.core.db import Database, utcnow
from relevo.events import service
from relevo.events.service import EventRow
from relevo.events.signal import SharedFileSignal, signal_for


def row(user: str, product: str = "p1") -> EventRow:
    return EventRow(None, user, product, "view", None, None, None, None, None, utcnow())


def test_a_new_file_starts_every_user_at_the_newest_event(tmp_path: Path) -> None:
    signal = SharedFileSignal(tmp_path / "signal", lambda: 41)

    assert signal.latest("anyone") == signal.latest("someone else") == 41


def test_what_one_process_publishes_every_other_reads_and_values_only_rise(tmp_path: Path) -> None:
    writer = SharedFileSignal(tmp_path / "signal", lambda: 0)
    reader = SharedFileSignal(tmp_path / "signal", lambda: 1_000)  # the file exists: not made again

    writer.publish(["u1"], 7)
    assert reader.latest("u1") == 7
    assert reader.latest("u2") in (0, 7)  # 7 only if u2 shares u1's bucket

    # A slower commit's older id, or an id SQLite hands out again once the rows with the
    # highest ids are gone: the value still rises, so a reader that kept what it read at 7
    # reads again.
    writer.publish(["u1"], 5)
    assert reader.latest("u1") == 8


def test_only_a_sqlite_file_has_a_signal(tmp_path: Path) -> None:
    assert signal_for(make_url("postgresql+psycopg://db/relevo"), lambda: 0) is None
    assert signal_for(make_url("sqlite://"), lambda: 0) is None
    assert signal_for(make_url(f"sqlite:///{tmp_path / 'relevo.db'}"), lambda: 0) is not None


def test_events_raise_the_signal_once_committed_and_not_when_rolled_back(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'relevo.db'}")  # committed to: a database of its own
    migrations.upgrade(database.engine)
    with database.transaction() as session:
        signal = service.signal(session)
        before = signal.latest("signal-user")
    try:
        with database.transaction() as session:
            service.store_rows(session=session, rows=[row("signal-user")])
            assert signal.latest("signal-user") == before  # not before the commit
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    assert signal.latest("signal-user") == before

    with database.transaction() as session:
        service.store_rows(session=session, rows=[row("signal-user")])
        stored = service.latest_event_id(session=session)

    assert signal.latest("signal-user") == stored > before
    database.dispose()
