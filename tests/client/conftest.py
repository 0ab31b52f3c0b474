"""A real `relevo serve` for the client's tests: a committed demo shop in a fresh SQLite file,
a first model deployed, and an admin's API key."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from relevo.accounts import service as accounts_service
from relevo.accounts.callers import Caller
from relevo.accounts.models import Role
from relevo.accounts.schemas import AccountCreate
from relevo.core.config import Settings
from relevo.core.db import Database
from tests.jobs.committed_shop import load_trained_shop
from tests.served import served


@dataclass(frozen=True)
class LiveServer:
    url: str
    api_key: str


def admin_api_key(database_url: str) -> str:
    database = Database(database_url)
    with database.transaction() as session:
        account = accounts_service.create(
            session=session, data=AccountCreate(username="client-admin", password="client-admin-pw", role=Role.admin)
        )
        caller = Caller.of(account)
        _, secret = accounts_service.create_api_key(
            session=session, caller=caller, name="client tests", scopes=caller.scopes, account_id=None
        )
    database.dispose()
    return secret


def shop_environment(folder: Path) -> tuple[dict[str, str], str]:
    """A demo shop with a deployed model in `folder`: the server's RELEVO_* variables and a key."""
    data = folder / "data"
    url = f"sqlite:///{data / 'relevo.db'}"
    load_trained_shop(Settings(database_url=url, data_dir=data))
    environment = {
        "RELEVO_DATA_DIR": str(data),
        "RELEVO_DATABASE_URL": url,
        "RELEVO_SECRET_KEY": "client-tests-secret-key-long-enough-for-jwt",
        "RELEVO_LOG_LEVEL": "WARNING",
    }
    return environment, admin_api_key(url)


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder = tmp_path_factory.mktemp("client-server")
    environment, key = shop_environment(folder)
    with served(environment, folder / "server.log") as server:
        yield LiveServer(url=server.url, api_key=key)
