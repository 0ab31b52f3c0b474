"""Nothing acknowledged is lost: a real `relevo serve` killed with SIGKILL while several
clients post events (single and batched, each with its own event_id) has stored every event
it answered 2xx, each once, on SQLite and PostgreSQL."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine, func, select

from relevo import migrations
from relevo.core.db import Database
from relevo.events.models import Event
from tests.conftest import new_postgres_database
from tests.served import served, wait_until

CLIENTS = 4
BATCH = 5
ACKNOWLEDGED_BEFORE_THE_KILL = 150  # events answered 2xx before the server is killed
ADMIN = ("admin", "kill-test-admin-password")


@contextmanager
def database_for(backend: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The RELEVO_* variables of a server on a new database: a SQLite file in its data dir
    (migrated by the server), or a PostgreSQL database of its own (migrated here, the deploy step)."""
    environment = {
        "RELEVO_DATA_DIR": str(tmp_path / "data"),
        "RELEVO_SECRET_KEY": "kill-test-secret-key-long-enough-for-jwt",
        "RELEVO_ADMIN_USERNAME": ADMIN[0],
        "RELEVO_ADMIN_PASSWORD": ADMIN[1],
        "RELEVO_LOG_LEVEL": "WARNING",
    }
    if backend == "sqlite":
        yield environment
        return
    with new_postgres_database() as url:
        engine = create_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        yield {**environment, "RELEVO_DATABASE_URL": url}


class Client(threading.Thread):
    """Posts events until the server stops answering: a single event, then a batch, in turn.
    Keeps the event_ids of every request answered 2xx."""

    def __init__(self, number: int, url: str, token: str) -> None:
        super().__init__(name=f"client-{number}", daemon=True)
        self.number, self.url, self.token = number, url, token
        self.acknowledged: list[str] = []
        self.refused: list[str] = []  # answers other than 2xx while the server ran: none expected

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        sent = 0
        with httpx2.Client(base_url=self.url, headers=headers, timeout=10) as http:
            while True:
                size = 1 if sent % 2 == 0 else BATCH
                numbers = range(sent, sent + size)
                ids = [f"c{self.number}-e{number}" for number in numbers]
                events = [
                    {"user_id": f"u{self.number}", "product_id": f"p{number % 7}", "event_id": event_id}
                    for number, event_id in zip(numbers, ids, strict=True)
                ]
                sent += size
                try:
                    response = http.post("/api/v1/events", json=events[0] if size == 1 else events)
                except httpx2.HTTPError:
                    return  # the server is gone; whether this request's events were stored is unknown
                if response.is_success:
                    self.acknowledged += ids
                else:
                    self.refused.append(f"{response.status_code} {response.text}")


def acknowledged(clients: list[Client]) -> int:
    return sum(len(client.acknowledged) for client in clients)


def stored_event_ids(database_url: str) -> tuple[set[str], list[str]]:
    """The event_ids stored, and those stored more than once."""
    database = Database(database_url)
    try:
        with database.session(write=False) as session:
            ids = set(session.scalars(select(Event.event_id)))
            repeated = select(Event.event_id).group_by(Event.event_id).having(func.count() > 1)
            return ids, list(session.scalars(repeated))
    finally:
        database.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_acknowledged_event_is_stored_once_after_a_kill(backend: str, tmp_path: Path) -> None:
    with database_for(backend, tmp_path) as environment, served(environment, tmp_path / "server.log") as server:
        login = httpx2.post(f"{server.url}/login", json={"username": ADMIN[0], "password": ADMIN[1]})
        assert login.status_code == 200, login.text
        clients = [Client(number, server.url, login.json()["access_token"]) for number in range(CLIENTS)]
        for client in clients:
            client.start()
        wait_until(
            lambda: acknowledged(clients) >= ACKNOWLEDGED_BEFORE_THE_KILL or not any(c.is_alive() for c in clients),
            seconds=60,
            what=f"{ACKNOWLEDGED_BEFORE_THE_KILL} acknowledged events",
            server=server,
        )
        assert all(client.is_alive() for client in clients), "a client stopped before the kill"
        server.kill()
        for client in clients:
            client.join(timeout=30)
        assert not any(client.is_alive() for client in clients)
        database_url = environment.get("RELEVO_DATABASE_URL") or f"sqlite:///{tmp_path / 'data' / 'relevo.db'}"
        stored, repeated = stored_event_ids(database_url)

    answered = [event_id for client in clients for event_id in client.acknowledged]
    assert [refusal for client in clients for refusal in client.refused] == []
    assert len(answered) == len(set(answered)) >= ACKNOWLEDGED_BEFORE_THE_KILL
    assert set(answered) - stored == set()
    assert repeated == []
