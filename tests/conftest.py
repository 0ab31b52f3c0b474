"""Shared fixtures. Database tests run against SQLite and, when RELEVO_TEST_POSTGRES_URL names
a server, PostgreSQL; each test runs inside a transaction that is rolled back afterwards.

RELEVO_TEST_POSTGRES_URL is an administrative URL (e.g. postgresql+psycopg://postgres@127.0.0.1/postgres):
the suite creates a database of its own there and drops it at the end. RELEVO_TEST_REDIS_URL
enables the Redis tests. RELEVO_TEST_REQUIRE_SERVICES=1 turns a missing service into a failure
instead of a skip (CI sets it).
"""

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from relevo import migrations
from relevo.accounts import service as accounts_service
from relevo.accounts.models import Account, Role
from relevo.accounts.schemas import AccountCreate
from relevo.core import security
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.demo import SyntheticShop, load_demo
from relevo.server.app import create_app
from tests.recommend.shop import SIZE, DemoShop, train

POSTGRES_URL = os.environ.get("RELEVO_TEST_POSTGRES_URL")
REDIS_URL = os.environ.get("RELEVO_TEST_REDIS_URL")
REQUIRE_SERVICES = os.environ.get("RELEVO_TEST_REQUIRE_SERVICES") == "1"
CLIENT_SECRET = "test-client-secret"
PASSWORD = "correct-horse-battery"


def service_missing(name: str) -> None:
    message = f"{name} is not configured (set RELEVO_TEST_{name.upper()}_URL)"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Real argon2, with the cost turned down so the suite can create many accounts."""
    original = security._hasher
    security._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    security._hasher = original


@contextmanager
def new_postgres_database() -> Iterator[str]:
    """An empty PostgreSQL database on the test server, dropped afterwards."""
    if not POSTGRES_URL:
        service_missing("postgres")
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"relevo_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run."""
    with new_postgres_database() as url:
        engine = create_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new database with nothing in it (not even the schema), on SQLite and PostgreSQL, for
    tests whose work commits (the command line, migrations)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with new_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "relevo.db"
    url = f"sqlite:///{path}"
    database = Database(url)
    migrations.upgrade(database.engine)
    database.dispose()
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not REDIS_URL:
        service_missing("redis")
    return REDIS_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture(scope="session")
def engines() -> Iterator[dict[str, Engine]]:
    """One engine per database URL for the whole run (SQLite ones configured as Relevo does)."""
    cache: dict[str, Engine] = {}
    yield cache
    for engine in cache.values():
        engine.dispose()


@pytest.fixture
def connection(database_url: str, engines: dict[str, Engine]) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back when the test ends."""
    if database_url not in engines:
        engines[database_url] = Database(database_url).engine
    with engines[database_url].connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def database(database_url: str, connection: Connection) -> Database:
    return Database(database_url, bind=connection)


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.session() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        env="development",
        data_dir=tmp_path,
        secret_key="test-secret-key-that-is-long-enough-for-tests",
        client_secret=CLIENT_SECRET,
        max_upload_mb=2,
        max_event_batch=500,
        job_threads=0,  # jobs run in the request that starts them, inside the test's transaction
        model_refresh_seconds=0,
        catalog_refresh_seconds=0,
        experiments_refresh_seconds=0,
        # Off: tests send far more than 100 requests a minute from one address, and train more
        # than 10 times an hour. tests/ratelimits turns them on with limits of their own.
        rate_limits=False,
    )


@pytest.fixture
def app(settings: Settings, database: Database) -> FastAPI:
    return create_app(settings, database=database)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def make_account(database: Database) -> Callable[..., Account]:
    def make(role: Role = Role.admin, username: str | None = None) -> Account:
        with database.transaction() as session:
            data = AccountCreate(username=username or f"{role}-{uuid.uuid4().hex[:8]}", password=PASSWORD, role=role)
            return accounts_service.create(session=session, data=data)

    return make


@pytest.fixture
def auth(settings: Settings) -> Callable[[Account], dict[str, str]]:
    """Headers that authenticate as an account, with a JWT."""

    def headers(account: Account, scheme: str = "Bearer") -> dict[str, str]:
        token = accounts_service.issue_access_token(account=account, settings=settings)
        return {"Authorization": f"{scheme} {token}"}

    return headers


@pytest.fixture
def admin_headers(make_account: Callable[..., Account], auth: Callable) -> dict[str, str]:
    return auth(make_account(Role.admin))


@pytest.fixture
def shop(session: Session) -> DemoShop:
    """A small demo shop (catalog and behaviour) in the test database."""
    load_demo(session=session, size=SIZE)
    session.commit()
    generated = SyntheticShop(SIZE)  # the same seed: the same products and events (but for the times)
    return DemoShop(generated.products, generated.complements, list(generated.events()))


@pytest.fixture
def trained(client: TestClient, admin_headers: dict[str, str], shop: DemoShop) -> dict:
    """The serving model's first version, trained on the demo shop and deployed."""
    version = train(client, admin_headers)
    assert version["status"] == "deployed", version
    return version
