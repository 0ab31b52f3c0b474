"""API keys under /api/v1/api-keys: shown once, stored hashed, scoped to their owner, revocable."""

import hashlib
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from relevo.accounts.models import Account, ApiKey, Role
from relevo.core.db import Database
from tests.errors import assert_error


def create_key(client: TestClient, headers: dict[str, str], **fields) -> dict:
    body = {"name": "shop integration", "scopes": ["events:write", "recommendations:read"], **fields}
    response = client.post("/api/v1/api-keys", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def key_headers(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def listed_keys(client: TestClient, headers: dict[str, str]) -> dict[int, dict]:
    response = client.get("/api/v1/api-keys", headers=headers)
    assert response.status_code == 200
    return {key["id"]: key for key in response.json()["items"]}


def stored_key(database: Database, key_id: int) -> ApiKey:
    with database.session() as session:
        return session.scalar(select(ApiKey).where(ApiKey.id == key_id))


def test_creating_a_key_shows_the_secret_once(client: TestClient, make_account: Callable, auth: Callable) -> None:
    account = make_account(Role.service)

    created = create_key(client, auth(account))

    assert created["key"].startswith("rlv_")
    assert len(created["key"]) > 40
    assert created["prefix"] == created["key"][:12]
    assert created["account_id"] == account.id
    assert created["name"] == "shop integration"
    assert created["last_used_at"] is None
    assert created["revoked_at"] is None


def test_listing_keys_never_shows_the_secret(client: TestClient, make_account: Callable, auth: Callable) -> None:
    headers = auth(make_account(Role.service))
    created = create_key(client, headers)

    response = client.get("/api/v1/api-keys", headers=headers)

    assert response.status_code == 200
    [listed] = response.json()["items"]
    assert listed["id"] == created["id"]
    assert listed["prefix"] == created["prefix"]
    assert "key" not in listed
    assert created["key"] not in response.text


def test_keys_are_stored_as_a_digest(
    client: TestClient, make_account: Callable, auth: Callable, database: Database
) -> None:
    created = create_key(client, auth(make_account(Role.service)))

    row = stored_key(database, created["id"])

    assert row.key_hash != created["key"]
    assert row.key_hash == hashlib.sha256(created["key"].encode()).hexdigest()
    assert created["key"] not in {row.name, row.prefix, row.key_hash}


def test_a_key_authenticates_and_records_its_last_use(
    client: TestClient, make_account: Callable, auth: Callable, database: Database
) -> None:
    account = make_account(Role.service)
    created = create_key(client, auth(account))

    response = client.get("/api/v1/auth/me", headers=key_headers(created["key"]))

    assert response.status_code == 200
    assert response.json()["id"] == account.id
    assert stored_key(database, created["id"]).last_used_at is not None
    assert listed_keys(client, auth(account))[created["id"]]["last_used_at"].endswith("Z")


def test_a_key_may_post_events_for_a_writer(client: TestClient, make_account: Callable, auth: Callable) -> None:
    created = create_key(client, auth(make_account(Role.service)))

    response = client.post(
        "/api/v1/events", json={"user_id": "u-1", "product_id": "p-1"}, headers=key_headers(created["key"])
    )

    assert response.status_code == 201, response.text


def test_a_revoked_key_stops_working(client: TestClient, make_account: Callable, auth: Callable) -> None:
    headers = auth(make_account(Role.service))
    created = create_key(client, headers)
    assert client.get("/api/v1/auth/me", headers=key_headers(created["key"])).status_code == 200

    response = client.delete(f"/api/v1/api-keys/{created['id']}", headers=headers)

    assert response.status_code == 200
    assert response.json()["id"] == created["id"]
    assert response.json()["revoked_at"] is not None
    assert "key" not in response.json()
    refused = client.get("/api/v1/auth/me", headers=key_headers(created["key"]))
    assert "revoked" in assert_error(refused, 401, "Invalid token")
    assert listed_keys(client, headers)[created["id"]]["revoked_at"] is not None


def test_revoking_twice_keeps_the_first_revocation_time(
    client: TestClient, make_account: Callable, auth: Callable
) -> None:
    headers = auth(make_account(Role.service))
    created = create_key(client, headers)
    first = client.delete(f"/api/v1/api-keys/{created['id']}", headers=headers).json()

    again = client.delete(f"/api/v1/api-keys/{created['id']}", headers=headers)

    assert again.status_code == 200
    assert again.json()["revoked_at"] == first["revoked_at"]


def test_an_unknown_key_is_refused(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me", headers=key_headers("rlv_" + "x" * 43))

    assert_error(response, 401, "Invalid token")


def test_a_key_name_is_required(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/api-keys", json={"name": ""}, headers=admin_headers)

    assert "name" in assert_error(response, 422, "Invalid parameter")


def test_revoking_an_unknown_key_is_not_found(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.delete("/api/v1/api-keys/987654321", headers=admin_headers)

    assert "987654321" in assert_error(response, 404, "Not found")


# Whose keys: non-admins only their own; admins everyone's


def test_a_non_admin_may_not_create_a_key_for_another_account(
    client: TestClient, make_account: Callable, auth: Callable
) -> None:
    other = make_account(Role.service)

    response = client.post(
        "/api/v1/api-keys",
        json={"name": "stolen", "scopes": ["read"], "account_id": other.id},
        headers=auth(make_account(Role.owner)),
    )

    assert "admins" in assert_error(response, 403, "Permission denied")


def test_a_non_admin_sees_only_their_own_keys(client: TestClient, make_account: Callable, auth: Callable) -> None:
    mine = auth(make_account(Role.owner))
    theirs = auth(make_account(Role.service))
    my_key = create_key(client, mine)
    create_key(client, theirs)

    assert list(listed_keys(client, mine)) == [my_key["id"]]


def test_a_non_admin_may_not_revoke_anothers_key(client: TestClient, make_account: Callable, auth: Callable) -> None:
    their_key = create_key(client, auth(make_account(Role.service)))

    response = client.delete(f"/api/v1/api-keys/{their_key['id']}", headers=auth(make_account(Role.owner)))

    assert_error(response, 404, "Not found")
    assert client.get("/api/v1/auth/me", headers=key_headers(their_key["key"])).status_code == 200


def test_an_admin_creates_a_key_that_acts_as_another_account(
    client: TestClient, make_account: Callable, admin_headers: dict[str, str]
) -> None:
    other = make_account(Role.service)

    created = create_key(client, admin_headers, account_id=other.id)

    assert created["account_id"] == other.id
    me = client.get("/api/v1/auth/me", headers=key_headers(created["key"]))
    assert me.json()["username"] == other.username


def test_an_admin_may_not_create_a_key_for_a_missing_account(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/api-keys", json={"name": "ghost", "scopes": ["read"], "account_id": 987654321}, headers=admin_headers
    )

    assert "987654321" in assert_error(response, 404, "Not found")


def test_an_admin_sees_and_revokes_everyones_keys(
    client: TestClient, make_account: Callable, auth: Callable, admin_headers: dict[str, str]
) -> None:
    their_key = create_key(client, auth(make_account(Role.service)))
    assert their_key["id"] in listed_keys(client, admin_headers)

    response = client.delete(f"/api/v1/api-keys/{their_key['id']}", headers=admin_headers)

    assert response.status_code == 200
    assert_error(client.get("/api/v1/auth/me", headers=key_headers(their_key["key"])), 401, "Invalid token")


def test_keys_page_with_a_cursor(client: TestClient, make_account: Callable, auth: Callable) -> None:
    headers = auth(make_account(Role.service))
    created = [create_key(client, headers)["id"] for _ in range(3)]

    first = client.get("/api/v1/api-keys", params={"limit": 2}, headers=headers).json()
    second = client.get("/api/v1/api-keys", params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers)

    assert [key["id"] for key in first["items"]] == created[:0:-1]
    assert [key["id"] for key in second.json()["items"]] == created[:1]
    assert second.json()["next_cursor"] is None


def test_a_deactivated_accounts_key_stops_working(
    client: TestClient, make_account: Callable, auth: Callable, admin_headers: dict[str, str], database: Database
) -> None:
    account: Account = make_account(Role.service)
    created = create_key(client, auth(account))

    assert client.delete(f"/api/v1/accounts/{account.id}", headers=admin_headers).status_code == 204

    assert_error(client.get("/api/v1/auth/me", headers=key_headers(created["key"])), 401, "Invalid token")
    assert stored_key(database, created["id"]).revoked_at is not None


# Scopes: a key does what its scopes allow, never more than its creator and its account hold

SHOP_BACKEND = ["events:write", "recommendations:read"]


def test_a_key_carries_the_scopes_it_was_made_with(client: TestClient, admin_headers: dict[str, str]) -> None:
    created = create_key(client, admin_headers, scopes=SHOP_BACKEND)
    headers = key_headers(created["key"])

    assert created["scopes"] == SHOP_BACKEND
    event = {"user_id": "u1", "product_id": "p1", "event_type": "view"}
    assert client.post("/api/v1/events", json=event, headers=headers).status_code == 201
    refusals = [
        client.post("/api/v1/store/", json={"name": "Nope"}, headers=headers),
        client.post("/api/v1/models/default/train", json={"algorithm": "popular"}, headers=headers),
        client.get("/api/v1/accounts", headers=headers),
        client.get("/api/v1/jobs", headers=headers),
        client.post("/api/v1/api-keys", json={"name": "more", "scopes": ["events:write"]}, headers=headers),
    ]
    assert [response.status_code for response in refusals] == [403] * 5
    assert "keys:manage" in refusals[-1].json()["details"]
    assert listed_keys(client, admin_headers)[created["id"]]["scopes"] == SHOP_BACKEND


def test_a_key_never_holds_more_than_its_creator(client: TestClient, make_account: Callable, auth: Callable) -> None:
    owner = auth(make_account(Role.owner))

    response = client.post("/api/v1/api-keys", json={"name": "mine", "scopes": ["models:manage"]}, headers=owner)

    assert "models:manage" in assert_error(response, 403, "Permission denied")
    narrow = create_key(client, owner, scopes=["keys:manage", "read"])
    from_key = client.post(
        "/api/v1/api-keys",
        json={"name": "wider", "scopes": ["read", "events:write"]},
        headers=key_headers(narrow["key"]),
    )
    assert "events:write" in assert_error(from_key, 403)


def test_an_admins_key_for_another_account_holds_no_more_than_that_accounts_role(
    client: TestClient, make_account: Callable, admin_headers: dict[str, str]
) -> None:
    service = make_account(Role.service)

    response = client.post(
        "/api/v1/api-keys",
        json={"name": "too wide", "scopes": ["catalog:write"], "account_id": service.id},
        headers=admin_headers,
    )

    assert "service" in assert_error(response, 400)
    made = create_key(client, admin_headers, scopes=SHOP_BACKEND, account_id=service.id)
    assert made["account_id"] == service.id


def test_a_keys_scopes_shrink_with_its_accounts_role(
    client: TestClient, make_account: Callable, auth: Callable, admin_headers: dict[str, str]
) -> None:
    owner: Account = make_account(Role.owner)
    created = create_key(client, auth(owner), scopes=["catalog:write", "read"])
    headers = key_headers(created["key"])
    assert client.post("/api/v1/store/", json={"name": "Mine"}, headers=headers).status_code == 201

    demoted = client.patch(f"/api/v1/accounts/{owner.id}", json={"role": "viewer"}, headers=admin_headers)

    assert demoted.status_code == 200
    assert client.post("/api/v1/store/", json={"name": "Another"}, headers=headers).status_code == 403
    assert client.get("/api/v1/store/", headers=headers).status_code == 200


@pytest.mark.parametrize("scopes", [[], ["everything"], ["read", "admin:all"]])
def test_scopes_must_be_known_and_given(client: TestClient, admin_headers: dict[str, str], scopes: list) -> None:
    response = client.post("/api/v1/api-keys", json={"name": "odd", "scopes": scopes}, headers=admin_headers)

    assert "scopes" in assert_error(response, 422)


def test_me_says_what_the_token_may_do(client: TestClient, admin_headers: dict[str, str]) -> None:
    created = create_key(client, admin_headers, scopes=SHOP_BACKEND)

    assert client.get("/api/v1/auth/me", headers=key_headers(created["key"])).json()["scopes"] == SHOP_BACKEND
    assert "models:manage" in client.get("/api/v1/auth/me", headers=admin_headers).json()["scopes"]
