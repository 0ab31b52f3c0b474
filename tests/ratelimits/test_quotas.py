"""Quotas an admin gives one API key or one account: set, read and removed through the API,
kept in the database, and counted on the holder's own counter in place of the defaults; a key
without a quota of its own shares its account's count."""

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from relevo.accounts.models import Account, ApiKey, RateLimitQuota, Role
from relevo.accounts.quotas import Holder
from relevo.core.db import Database
from tests.errors import assert_error, assert_error_mentioning
from tests.ratelimits.conftest import DAY, Key, LimitedClient, away_from_a_window_edge

ME = "/api/v1/auth/me"


def statuses(client: TestClient, headers: dict[str, str], times: int) -> list[int]:
    return [client.get(ME, headers=headers).status_code for _ in range(times)]


def test_a_keys_own_quota_replaces_the_default_on_a_counter_of_its_own(
    limited_client: LimitedClient,
    make_account: Callable[..., Account],
    make_key: Callable[[Account], Key],
    give_quotas: Callable[..., None],
    auth: Callable,
) -> None:
    away_from_a_window_edge(DAY)
    shop = make_account(Role.service)
    backend = make_key(shop)
    give_quotas(Holder("key", backend.id), api="5/day")
    with limited_client() as client:
        answered = statuses(client, backend.headers, 5)
        refused = client.get(ME, headers=backend.headers)
        account_after = statuses(client, auth(shop), 3)

    assert answered == [200] * 5
    assert_error_mentioning(refused, 429, "api: the limit of 5 requests per day", f"API key {backend.id}")
    assert refused.headers["ratelimit-policy"] == '"api";q=5;w=86400'
    assert account_after == [200] * 3  # the account's own count is untouched


def test_keys_without_a_quota_share_their_accounts_count(
    limited_client: LimitedClient,
    make_account: Callable[..., Account],
    make_key: Callable[[Account], Key],
    auth: Callable,
) -> None:
    """Anyone may make keys for themselves: a new key must not add to what its account may do."""
    away_from_a_window_edge(DAY)
    shop = make_account(Role.service)
    first, second = make_key(shop), make_key(shop)
    with limited_client() as client:
        answered = [
            client.get(ME, headers=auth(shop)).status_code,
            client.get(ME, headers=first.headers).status_code,
            client.get(ME, headers=second.headers).status_code,
        ]
        refused = client.get(ME, headers=first.headers)

    assert answered == [200] * 3
    assert_error_mentioning(refused, 429, "3 requests per day", f"account {shop.id}")


def test_an_accounts_quota_holds_for_its_logins_and_its_keys(
    limited_client: LimitedClient,
    make_account: Callable[..., Account],
    make_key: Callable[[Account], Key],
    give_quotas: Callable[..., None],
    auth: Callable,
) -> None:
    away_from_a_window_edge(DAY)
    shop, other = make_account(Role.owner), make_account(Role.owner)
    key = make_key(shop)
    give_quotas(Holder("account", shop.id), api="4/day")
    with limited_client() as client:
        answered = statuses(client, auth(shop), 3) + statuses(client, key.headers, 1)
        refused = client.get(ME, headers=key.headers)
        others = statuses(client, auth(other), 4)

    assert answered == [200] * 4
    assert_error_mentioning(refused, 429, "4 requests per day", f"account {shop.id}")
    assert refused.headers["ratelimit-policy"] == '"api";q=4;w=86400'
    assert others == [200, 200, 200, 429]  # another account keeps the default


def test_a_new_quota_reaches_a_caller_this_server_already_remembers(
    limited_client: LimitedClient,
    make_account: Callable[..., Account],
    make_key: Callable[[Account], Key],
    give_quotas: Callable[..., None],
) -> None:
    key = make_key(make_account(Role.service))
    with limited_client(auth_cache_seconds=3600) as client:
        before = client.get(ME, headers=key.headers)
        give_quotas(Holder("key", key.id), api="50/day")
        after = client.get(ME, headers=key.headers)

    assert before.headers["ratelimit-policy"] == '"api";q=3;w=86400'
    assert after.headers["ratelimit-policy"] == '"api";q=50;w=86400'


def test_admins_set_read_and_remove_an_accounts_quotas(
    client: TestClient, admin_headers: dict[str, str], make_account: Callable[..., Account]
) -> None:
    shop = make_account(Role.service)
    path = f"/api/v1/accounts/{shop.id}/rate-limits"

    unset = client.get(path, headers=admin_headers)
    changed = client.put(path, json={"api": " 1000/minute ", "bulk": "50 per hour"}, headers=admin_headers)
    read = client.get(path, headers=admin_headers)
    removed = client.delete(path, headers=admin_headers)
    after = client.get(path, headers=admin_headers)

    defaults = {"api": "100/minute", "training": "10/hour", "bulk": "5/hour"}
    assert unset.status_code == 200
    assert unset.json() == {
        "account_id": shop.id,
        "api_key_id": None,
        "api": None,
        "training": None,
        "bulk": None,
        "effective": defaults,
        "updated_at": None,
        "updated_by": None,
    }
    assert changed.status_code == 200, changed.text
    assert read.json() == changed.json()
    assert read.json()["api"] == "1000/minute"
    assert read.json()["training"] is None
    assert read.json()["effective"] == {"api": "1000/minute", "training": "10/hour", "bulk": "50 per hour"}
    assert read.json()["updated_by"] is not None and read.json()["updated_at"] is not None
    assert removed.status_code == 204
    assert after.json() == unset.json()


def test_a_keys_quotas_fall_back_on_its_accounts(
    client: TestClient,
    admin_headers: dict[str, str],
    make_account: Callable[..., Account],
    make_key: Callable[[Account], Key],
) -> None:
    shop = make_account(Role.service)
    key = make_key(shop)
    client.put(f"/api/v1/accounts/{shop.id}/rate-limits", json={"api": "500/minute"}, headers=admin_headers)

    changed = client.put(f"/api/v1/api-keys/{key.id}/rate-limits", json={"bulk": "20/hour"}, headers=admin_headers)

    assert changed.status_code == 200, changed.text
    assert changed.json()["api_key_id"] == key.id and changed.json()["account_id"] is None
    assert changed.json()["api"] is None and changed.json()["bulk"] == "20/hour"
    assert changed.json()["effective"] == {"api": "500/minute", "training": "10/hour", "bulk": "20/hour"}
    assert client.delete(f"/api/v1/api-keys/{key.id}/rate-limits", headers=admin_headers).status_code == 204
    assert client.get(f"/api/v1/api-keys/{key.id}/rate-limits", headers=admin_headers).json()["effective"]["bulk"] == (
        "5/hour"
    )


def test_a_quota_that_is_not_a_rate_is_refused_naming_the_class(
    client: TestClient, admin_headers: dict[str, str], make_account: Callable[..., Account]
) -> None:
    path = f"/api/v1/accounts/{make_account(Role.service).id}/rate-limits"

    for body, named in (
        ({"api": "lots"}, "api: "),
        ({"training": "0/hour"}, "training: "),
        ({"bulk": "5/hour;50/day"}, "bulk: "),
        ({"api": "5/fortnight"}, "api: "),
        ({"api": "1" * 70 + "/hour"}, "api: "),
    ):
        details = assert_error(client.put(path, json=body, headers=admin_headers), 422)
        assert named in details, (body, details)
    assert client.get(path, headers=admin_headers).json()["api"] is None


def test_quotas_of_an_account_or_key_that_does_not_exist_are_404(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    for path in ("/api/v1/accounts/999999/rate-limits", "/api/v1/api-keys/999999/rate-limits"):
        assert_error(client.get(path, headers=admin_headers), 404)
        assert_error(client.put(path, json={"api": "5/minute"}, headers=admin_headers), 404)
        assert_error(client.delete(path, headers=admin_headers), 404)


def test_a_deleted_key_takes_its_quotas_with_it(
    client: TestClient,
    admin_headers: dict[str, str],
    make_account: Callable[..., Account],
    make_key: Callable[[Account], Key],
    database: Database,
) -> None:
    key = make_key(make_account(Role.service))
    client.put(f"/api/v1/api-keys/{key.id}/rate-limits", json={"api": "5/minute"}, headers=admin_headers)

    with database.transaction() as session:
        session.execute(delete(ApiKey).where(ApiKey.id == key.id))
    with database.session() as session:
        left = session.scalar(
            select(func.count()).select_from(RateLimitQuota).where(RateLimitQuota.api_key_id == key.id)
        )

    assert left == 0
