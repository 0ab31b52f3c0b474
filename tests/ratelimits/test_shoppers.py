"""A publishable key's requests count, on top of the key's own limit, against a limit per shopper
they name (RELEVO_RATE_LIMIT_SHOPPER): one shopper's page cannot use up everyone's."""

from collections.abc import Callable

from relevo.accounts import service as accounts_service
from relevo.accounts.callers import Caller
from relevo.accounts.models import Account, KeyKind, Role
from relevo.accounts.scopes import Scope
from relevo.core.db import Database
from tests.errors import assert_error_mentioning
from tests.ratelimits.conftest import DAY, LimitedClient, away_from_a_window_edge

SHOP = "https://shop.example"


def page_key(database: Database, account: Account) -> dict[str, str]:
    with database.transaction() as session:
        _, secret = accounts_service.create_api_key(
            session=session,
            caller=Caller.of(account),
            name="storefront",
            scopes=frozenset({Scope.events_write, Scope.recommendations_read}),
            account_id=None,
            kind=KeyKind.publishable,
            origins=(SHOP,),
        )
    return {"Authorization": f"Bearer {secret}", "Origin": SHOP}


def view(user_id: str) -> dict[str, str]:
    return {"user_id": user_id, "product_id": "P1", "event_type": "view"}


def test_each_shopper_is_limited_apart(
    limited_client: LimitedClient, database: Database, make_account: Callable[..., Account]
) -> None:
    headers = page_key(database, make_account(Role.service))
    away_from_a_window_edge(DAY)
    with limited_client(rate_limit_api="100/day", rate_limit_shopper="2/day") as client:
        for _ in range(2):
            assert client.post("/api/v1/events", json=view("u1"), headers=headers).status_code == 201
        refused = client.post("/api/v1/events", json=view("u1"), headers=headers)
        assert_error_mentioning(refused, 429, "shopper u1")
        assert refused.headers["retry-after"]
        assert client.get("/api/v1/recommendations/u1", headers=headers).status_code == 429
        assert client.post("/api/v1/events", json=view("u2"), headers=headers).status_code == 201
        assert client.get("/api/v1/recommendations/u2", headers=headers).status_code != 429


def test_a_batch_counts_once_per_shopper_it_names(
    limited_client: LimitedClient, database: Database, make_account: Callable[..., Account]
) -> None:
    headers = page_key(database, make_account(Role.service))
    away_from_a_window_edge(DAY)
    with limited_client(rate_limit_api="100/day", rate_limit_shopper="2/day") as client:
        batch = [view("u1"), view("u1"), view("u2")]
        assert client.post("/api/v1/events", json=batch, headers=headers).status_code == 201
        assert client.post("/api/v1/events", json=batch, headers=headers).status_code == 201
        assert client.post("/api/v1/events", json=[view("u2")], headers=headers).status_code == 429


def test_the_key_counts_on_its_own_not_its_accounts(
    limited_client: LimitedClient,
    database: Database,
    make_account: Callable[..., Account],
    auth: Callable[[Account], dict[str, str]],
) -> None:
    account = make_account(Role.service)
    headers = page_key(database, account)
    away_from_a_window_edge(DAY)
    with limited_client(rate_limit_api="2/day", rate_limit_shopper="100/day") as client:
        for user in ("u1", "u2"):
            assert client.post("/api/v1/events", json=view(user), headers=headers).status_code == 201
        assert_error_mentioning(client.post("/api/v1/events", json=view("u3"), headers=headers), 429, "API key")
        backend = client.post("/api/v1/events", json=view("u3"), headers=auth(account))
        assert backend.status_code == 201, backend.text


def test_other_tokens_have_no_shopper_limit(
    limited_client: LimitedClient, make_account: Callable[..., Account], auth: Callable[[Account], dict[str, str]]
) -> None:
    headers = auth(make_account(Role.service))
    with limited_client(rate_limit_api="100/day", rate_limit_shopper="1/day") as client:
        for _ in range(3):
            assert client.post("/api/v1/events", json=view("u1"), headers=headers).status_code == 201
