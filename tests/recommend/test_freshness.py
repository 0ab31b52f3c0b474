"""Answers follow what happened, whichever server process answers: an event answered 2xx counts
in that user's very next answer, and a product deleted or re-priced leaves or changes every
answer within seconds. Two real `relevo serve` processes on one database (SQLite, where a
signal file spares most requests their query, and PostgreSQL, where each request asks)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine, select

from relevo.catalog.models import Product
from relevo.core.config import Settings
from tests.conftest import new_postgres_database
from tests.jobs.committed_shop import load_trained_shop
from tests.served import Server, served, wait_until

ADMIN = ("admin", "freshness-admin-password")
ROUNDS = 25


@contextmanager
def shop_database(backend: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A committed demo shop with a deployed model; its URL and the servers' RELEVO_* variables."""
    data = tmp_path / "data"
    if backend == "sqlite":
        url = f"sqlite:///{data / 'relevo.db'}"
        load_trained_shop(Settings(database_url=url, data_dir=data))
        yield url, _environment(data, url)
        return
    with new_postgres_database() as url:
        load_trained_shop(Settings(database_url=url, data_dir=data))
        yield url, _environment(data, url)


def _environment(data: Path, url: str) -> dict[str, str]:
    return {
        "RELEVO_DATA_DIR": str(data),
        "RELEVO_DATABASE_URL": url,
        "RELEVO_SECRET_KEY": "freshness-test-secret-key-long-enough",
        "RELEVO_ADMIN_USERNAME": ADMIN[0],
        "RELEVO_ADMIN_PASSWORD": ADMIN[1],
        "RELEVO_LOG_LEVEL": "WARNING",
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def two_servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Server, Server]]:
    with (
        shop_database(request.param, tmp_path) as (url, environment),
        served(environment, tmp_path / "first.log") as first,
        served(environment, tmp_path / "second.log") as second,
    ):
        yield url, first, second


def token(server: Server) -> dict[str, str]:
    answer = httpx2.post(f"{server.url}/login", json={"username": ADMIN[0], "password": ADMIN[1]}, timeout=10)
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def recommended(server: Server, user: str, **params: object) -> list[dict]:
    answer = httpx2.get(f"{server.url}/api/v1/recommendations/{user}", params={"count": 5, **params}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def test_an_event_counts_in_the_next_answer_of_the_other_process(two_servers: tuple[str, Server, Server]) -> None:
    _, first, second = two_servers
    headers = token(first)
    for round_number in range(ROUNDS):
        user = f"shopper-{round_number}"
        top = recommended(second, user)[0]["product_id"]
        purchase = {"user_id": user, "product_id": top, "event_type": "purchase"}
        assert httpx2.post(f"{first.url}/api/v1/events", json=purchase, headers=headers, timeout=10).is_success

        after = [item["product_id"] for item in recommended(second, user)]

        assert top not in after, f"round {round_number}: {top} bought on one process, still offered by the other"


def test_a_product_deleted_or_repriced_leaves_or_changes_every_answer(
    two_servers: tuple[str, Server, Server],
) -> None:
    url, first, second = two_servers
    headers = token(first)
    top, runner_up = (item["product_id"] for item in recommended(second, "anyone")[:2])
    engine = create_engine(url)
    with engine.connect() as connection:
        ids = dict(
            connection.execute(
                select(Product.external_id, Product.id).where(Product.external_id.in_([top, runner_up]))
            ).all()
        )
    engine.dispose()

    changed = httpx2.patch(
        f"{first.url}/api/v1/store/products/{ids[runner_up]}/", json={"price": "1234.50"}, headers=headers, timeout=10
    )
    assert changed.status_code == 200, changed.text
    deleted = httpx2.delete(f"{first.url}/api/v1/store/products/{ids[top]}/", headers=headers, timeout=10)
    assert deleted.status_code == 200, deleted.text
    changed_at = time.monotonic()

    def reflected(server: Server) -> bool:
        items = {item["product_id"]: item for item in recommended(server, "anyone")}
        return top not in items and items.get(runner_up, {}).get("price") == "1234.50"

    for server in (second, first):
        wait_until(lambda server=server: reflected(server), seconds=10, what="the change in every answer")
    print(f"deleted and re-priced, reflected by both processes after {time.monotonic() - changed_at:.2f} s")
