"""Apps with rate limits on (the test settings turn them off), counted in memory or in Redis,
each on counters of its own."""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import NamedTuple

import pytest
import redis
from fastapi.testclient import TestClient

from relevo.accounts import quotas
from relevo.accounts import service as accounts_service
from relevo.accounts.callers import Caller
from relevo.accounts.models import Account, Role
from relevo.accounts.quotas import Holder
from relevo.accounts.schemas import QuotasUpdate
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.server.app import create_app

DAY = 86_400
LimitedClient = Callable[..., AbstractContextManager[TestClient]]


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    """Where the counters live: this process's memory, or the test Redis."""
    return "memory" if request.param == "memory" else request.getfixturevalue("redis_url")


@pytest.fixture
def limited_settings(settings: Settings, storage: str) -> Iterator[Settings]:
    """The test settings with rate limits on: 3 API calls a day, training and bulk 2 a day, and
    counters no other test shares (a key prefix of its own in Redis, whose keys go afterwards)."""
    prefix = f"relevo-test-{uuid.uuid4().hex}"
    yield settings.model_copy(
        update={
            "rate_limits": True,
            "rate_limit_api": "3/day",
            "rate_limit_training": "2/day",
            "rate_limit_bulk": "2/day",
            "rate_limit_storage": storage,
            "rate_limit_key_prefix": prefix,
        }
    )
    if storage != "memory":
        with redis.Redis.from_url(storage) as counters:
            for key in counters.scan_iter(match=f"{prefix}:*"):
                counters.delete(key)


@pytest.fixture
def limited_client(limited_settings: Settings, database: Database) -> LimitedClient:
    """A client of an app with `limited_settings` (changed by keyword arguments), from `peer`."""

    @contextmanager
    def open_client(peer: str = "203.0.113.1", **changes: object) -> Iterator[TestClient]:
        app = create_app(limited_settings.model_copy(update=changes), database=database)
        with TestClient(app, raise_server_exceptions=False, client=(peer, 50_000)) as client:
            yield client

    return open_client


def away_from_a_window_edge(window_seconds: float, margin: float = 30.0) -> None:
    """Memory counters' windows start at whole multiples of their length since the epoch, and a
    sliding window just begun still weighs the one before it, rounding down: a test counting up
    to a limit across that edge would see one request more let through. It waits for the new
    window when the edge is nearer than `margin` (with daily windows, rarely)."""
    left = window_seconds - time.time() % window_seconds
    if left < margin:
        time.sleep(left + 0.1)


class Key(NamedTuple):
    id: int
    headers: dict[str, str]


@pytest.fixture
def make_key(database: Database) -> Callable[[Account], Key]:
    """A new API key of `account`, holding every scope of its role."""

    def make(account: Account) -> Key:
        with database.transaction() as session:
            caller = Caller.of(account)
            key, secret = accounts_service.create_api_key(
                session=session, caller=caller, name="limited", scopes=caller.scopes, account_id=None
            )
        return Key(key.id, {"Authorization": f"Bearer {secret}"})

    return make


@pytest.fixture
def give_quotas(database: Database, make_account: Callable[..., Account]) -> Callable[..., None]:
    """Gives an account or a key (`Holder`) its own rates, as an admin does through the API."""
    admin = Caller.of(make_account(Role.admin))

    def give(holder: Holder, **rates: str) -> None:
        with database.transaction() as session:
            quotas.put(session=session, caller=admin, holder=holder, data=QuotasUpdate(**rates))

    return give
