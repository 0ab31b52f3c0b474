"""Limits across replicas: two app instances on one database and one Redis share every count;
with counters in memory each server process counts alone (docs/operations.md)."""

from collections.abc import Callable

import pytest

from relevo.accounts.models import Account, Role
from relevo.accounts.quotas import Holder
from tests.errors import assert_error_mentioning
from tests.ratelimits.conftest import DAY, Key, LimitedClient, away_from_a_window_edge


@pytest.fixture
def storage(redis_url: str) -> str:
    """Each test here says where its servers count."""
    return redis_url


def test_two_servers_sharing_redis_hold_one_limit(
    limited_client: LimitedClient,
    redis_url: str,
    make_account: Callable[..., Account],
    make_key: Callable[[Account], Key],
    give_quotas: Callable[..., None],
) -> None:
    away_from_a_window_edge(DAY)
    key = make_key(make_account(Role.service))
    give_quotas(Holder("key", key.id), api="4/day")
    with (
        limited_client(rate_limit_storage=redis_url) as one,
        limited_client(peer="203.0.113.2", rate_limit_storage=redis_url) as other,
    ):
        answers = [(one, other)[n % 2].get("/api/v1/auth/me", headers=key.headers) for n in range(4)]
        refused = [server.get("/api/v1/auth/me", headers=key.headers) for server in (one, other)]
        anonymous = [server.get("/api/v1/popular") for server in (one, one, other, other)]

    assert [answer.status_code for answer in answers] == [200] * 4
    assert [answer.headers["ratelimit"].split(";t=")[0] for answer in answers] == [
        '"api";r=3',
        '"api";r=2',
        '"api";r=1',
        '"api";r=0',
    ]
    for answer in refused:
        assert_error_mentioning(answer, 429, f"API key {key.id}")
    # Each address its own count, whichever server it reaches.
    assert [answer.headers["ratelimit"].split(";t=")[0] for answer in anonymous] == [
        '"api";r=2',
        '"api";r=1',
        '"api";r=2',
        '"api";r=1',
    ]


def test_with_counters_in_memory_each_server_counts_alone(limited_client: LimitedClient) -> None:
    away_from_a_window_edge(DAY)
    with (
        limited_client(rate_limit_storage="memory") as one,
        limited_client(rate_limit_storage="memory") as other,
    ):
        first = [one.get("/api/v1/popular").status_code for _ in range(4)]
        second = [other.get("/api/v1/popular").status_code for _ in range(4)]

    assert first == second == [200, 200, 200, 429]
