"""Accounts managed by admins under /api/v1/accounts: create, read, change, deactivate, page."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from relevo.accounts.models import Account, Role
from relevo.core.config import Settings
from tests.conftest import PASSWORD
from tests.errors import assert_error

NEW_PASSWORD = "a-brand-new-passphrase"


def create_account(client: TestClient, headers: dict[str, str], **fields) -> dict:
    body = {"username": "new-shop-owner", "password": PASSWORD, "role": "owner", **fields}
    response = client.post("/api/v1/accounts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def patch_account(client: TestClient, headers: dict[str, str], account_id: int, **fields) -> dict:
    response = client.patch(f"/api/v1/accounts/{account_id}", json=fields, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def login(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/login", params={"username": username, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# Only admins


@pytest.mark.parametrize("role", [Role.owner, Role.service, Role.viewer])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/accounts"),
        ("POST", "/api/v1/accounts"),
        ("GET", "/api/v1/accounts/{id}"),
        ("PATCH", "/api/v1/accounts/{id}"),
        ("DELETE", "/api/v1/accounts/{id}"),
    ],
)
def test_only_admins_manage_accounts(
    client: TestClient, make_account: Callable, auth: Callable, role: Role, method: str, path: str
) -> None:
    caller = make_account(role)
    body = {"username": "sneaky", "password": PASSWORD, "role": "admin"} if method in ("POST", "PATCH") else None

    response = client.request(method, path.format(id=caller.id), json=body, headers=auth(caller))

    details = assert_error(response, 403, "Permission denied")
    assert "the scope admin" in details


def test_a_refused_caller_changed_nothing(client: TestClient, make_account: Callable, auth: Callable) -> None:
    viewer = make_account(Role.viewer)

    client.patch(f"/api/v1/accounts/{viewer.id}", json={"role": "admin"}, headers=auth(viewer))

    assert client.get("/api/v1/auth/me", headers=auth(viewer)).json()["role"] == "viewer"


# Create and read


def test_an_admin_creates_an_account_that_can_log_in(client: TestClient, admin_headers: dict[str, str]) -> None:
    created = create_account(client, admin_headers, username="alice.shop", role="owner")

    assert created == {
        "id": created["id"],
        "username": "alice.shop",
        "role": "owner",
        "is_active": True,
        "created_at": created["created_at"],
    }
    assert login(client, "alice.shop").status_code == 200


def test_a_new_account_is_a_viewer_unless_told(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/accounts", json={"username": "quiet", "password": PASSWORD}, headers=admin_headers)

    assert response.status_code == 201
    assert response.json()["role"] == "viewer"


def test_a_duplicate_username_conflicts(client: TestClient, admin_headers: dict[str, str]) -> None:
    create_account(client, admin_headers, username="taken")

    response = client.post(
        "/api/v1/accounts", json={"username": "taken", "password": PASSWORD, "role": "viewer"}, headers=admin_headers
    )

    assert "username" in assert_error(response, 409, "Already exists")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"role": "superuser"}, "role"),
        ({"password": "short"}, "password"),
        ({"username": "ab"}, "username"),
        ({"username": "has spaces"}, "username"),
        ({"username": "semi;colon"}, "username"),
        ({"username": None}, "username"),
    ],
    ids=["unknown role", "short password", "short username", "space in username", "bad character", "null username"],
)
def test_invalid_accounts_are_refused_naming_the_field(
    client: TestClient, admin_headers: dict[str, str], changes: dict, field: str
) -> None:
    body = {"username": "valid-name", "password": PASSWORD, "role": "viewer", **changes}

    response = client.post("/api/v1/accounts", json=body, headers=admin_headers)

    assert f"{field}:" in assert_error(response, 422, "Invalid parameter")
    assert client.post("/login", params={"username": "valid-name", "password": PASSWORD}).status_code == 401


def test_an_admin_reads_one_account(client: TestClient, make_account: Callable, admin_headers: dict[str, str]) -> None:
    account = make_account(Role.service)

    response = client.get(f"/api/v1/accounts/{account.id}", headers=admin_headers)

    assert response.status_code == 200
    assert response.json()["username"] == account.username
    assert response.json()["role"] == "service"
    assert "password" not in response.text


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_a_missing_account_is_not_found(client: TestClient, admin_headers: dict[str, str], method: str) -> None:
    response = client.request(method, "/api/v1/accounts/987654321", json={}, headers=admin_headers)

    assert "987654321" in assert_error(response, 404, "Not found")


def test_an_account_id_must_be_a_number(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.get("/api/v1/accounts/alice", headers=admin_headers)

    assert "account_id" in assert_error(response, 422, "Invalid parameter")


# Change


def test_changing_the_role_changes_what_the_account_may_do(
    client: TestClient, make_account: Callable, auth: Callable, admin_headers: dict[str, str]
) -> None:
    account = make_account(Role.viewer)
    headers = auth(account)
    event = {"user_id": "u-1", "product_id": "p-1"}
    assert client.post("/api/v1/events", json=event, headers=headers).status_code == 403

    assert patch_account(client, admin_headers, account.id, role="owner")["role"] == "owner"

    assert client.post("/api/v1/events", json=event, headers=headers).status_code == 201


def test_changing_the_password_replaces_the_old_one(
    client: TestClient, make_account: Callable, admin_headers: dict[str, str]
) -> None:
    account = make_account(Role.owner)

    patch_account(client, admin_headers, account.id, password=NEW_PASSWORD)

    assert_error(login(client, account.username), 401, "Invalid credentials")
    assert login(client, account.username, NEW_PASSWORD).status_code == 200


def test_switching_an_account_off_and_on(
    client: TestClient, make_account: Callable, auth: Callable, admin_headers: dict[str, str]
) -> None:
    account = make_account(Role.owner)
    headers = auth(account)

    assert patch_account(client, admin_headers, account.id, is_active=False)["is_active"] is False
    assert_error(login(client, account.username), 401, "Invalid credentials")
    # Refused as issued before the switch-off or, within the same second, as a deactivated
    # account's token.
    details = assert_error(client.get("/api/v1/auth/me", headers=headers), 401)
    assert "switched off" in details or "deactivated" in details, details

    assert patch_account(client, admin_headers, account.id, is_active=True)["is_active"] is True
    answer = login(client, account.username)
    assert answer.status_code == 200
    assert client.get("/api/v1/auth/me", headers=bearer(answer.json()["access_token"])).status_code == 200


def test_an_empty_change_leaves_the_account_as_it_was(
    client: TestClient, make_account: Callable, admin_headers: dict[str, str]
) -> None:
    account = make_account(Role.service)

    changed = patch_account(client, admin_headers, account.id)

    assert (changed["role"], changed["is_active"]) == ("service", True)
    assert login(client, account.username).status_code == 200


@pytest.mark.parametrize(
    ("changes", "field"), [({"role": "root"}, "role"), ({"password": "1234"}, "password")], ids=["role", "password"]
)
def test_invalid_changes_are_refused_naming_the_field(
    client: TestClient, make_account: Callable, admin_headers: dict[str, str], changes: dict, field: str
) -> None:
    account = make_account(Role.viewer)

    response = client.patch(f"/api/v1/accounts/{account.id}", json=changes, headers=admin_headers)

    assert field in assert_error(response, 422, "Invalid parameter")


# Deactivate


def test_deleting_an_account_deactivates_it_and_its_credentials(
    client: TestClient, make_account: Callable, auth: Callable, admin_headers: dict[str, str]
) -> None:
    account: Account = make_account(Role.service)
    token = login(client, account.username).json()["access_token"]
    key = client.post(
        "/api/v1/api-keys", json={"name": "feed", "scopes": ["events:write"]}, headers=bearer(token)
    ).json()["key"]

    response = client.delete(f"/api/v1/accounts/{account.id}", headers=admin_headers)

    assert response.status_code == 204
    assert response.content == b""
    assert client.get(f"/api/v1/accounts/{account.id}", headers=admin_headers).json()["is_active"] is False
    assert_error(login(client, account.username), 401, "Invalid credentials")
    details = assert_error(client.get("/api/v1/auth/me", headers=bearer(token)), 401)
    assert "switched off" in details or "deactivated" in details, details  # as for a switch-off
    assert_error(client.get("/api/v1/auth/me", headers=bearer(key)), 401, "Invalid token")
    [listed] = client.get("/api/v1/api-keys", headers=admin_headers).json()["items"]
    assert listed["revoked_at"] is not None


def test_reactivating_an_account_does_not_revive_its_revoked_keys(
    client: TestClient, make_account: Callable, auth: Callable, admin_headers: dict[str, str]
) -> None:
    account = make_account(Role.service)
    key = client.post(
        "/api/v1/api-keys", json={"name": "feed", "scopes": ["events:write"]}, headers=auth(account)
    ).json()["key"]
    client.delete(f"/api/v1/accounts/{account.id}", headers=admin_headers)

    patch_account(client, admin_headers, account.id, is_active=True)

    assert_error(client.get("/api/v1/auth/me", headers=bearer(key)), 401, "Invalid token")
    assert client.get("/api/v1/auth/me", headers=auth(account)).status_code == 200


# Pagination


def test_accounts_page_with_limit_and_cursor(
    client: TestClient, make_account: Callable, admin_headers: dict[str, str]
) -> None:
    made = {make_account(Role.viewer).id for _ in range(4)}
    seen: list[int] = []
    cursor = None

    for _ in range(10):
        params = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        page = client.get("/api/v1/accounts", params=params, headers=admin_headers).json()
        assert len(page["items"]) <= 2
        seen += [account["id"] for account in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert made < set(seen)  # the admin making the calls is listed too
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [({"cursor": "not-a-cursor"}, 400, "cursor"), ({"limit": 0}, 422, "limit"), ({"limit": "x"}, 422, "limit")],
)
def test_bad_paging_parameters_name_the_field(
    client: TestClient, admin_headers: dict[str, str], params: dict, status: int, field: str
) -> None:
    response = client.get("/api/v1/accounts", params=params, headers=admin_headers)

    assert field in assert_error(response, status, "Invalid parameter")


def token_issued_earlier(account: Account, settings: Settings, seconds: int = 10) -> dict[str, str]:
    """A JWT as /login would have issued it `seconds` ago."""
    issued = datetime.now(UTC) - timedelta(seconds=seconds)
    claims = {"sub": str(account.id), "name": account.username, "iat": issued, "exp": issued + timedelta(hours=1)}
    return bearer(jwt.encode(claims, settings.secret_key, algorithm="HS256"))


def test_a_password_change_ends_earlier_tokens(
    client: TestClient, make_account: Callable, admin_headers: dict[str, str], settings: Settings
) -> None:
    account = make_account(Role.viewer)
    earlier = token_issued_earlier(account, settings)
    assert client.get("/api/v1/auth/me", headers=earlier).status_code == 200
    patch_account(client, admin_headers, account.id, password=NEW_PASSWORD)
    assert_error(client.get("/api/v1/auth/me", headers=earlier), 401)
    fresh = bearer(login(client, account.username, NEW_PASSWORD).json()["access_token"])
    assert client.get("/api/v1/auth/me", headers=fresh).status_code == 200


def test_a_switched_off_account_switched_on_again_needs_new_tokens(
    client: TestClient, make_account: Callable, admin_headers: dict[str, str], settings: Settings
) -> None:
    account = make_account(Role.viewer)
    earlier = token_issued_earlier(account, settings)
    patch_account(client, admin_headers, account.id, is_active=False)
    patch_account(client, admin_headers, account.id, is_active=True)
    assert_error(client.get("/api/v1/auth/me", headers=earlier), 401)
    assert login(client, account.username).status_code == 200


@pytest.mark.parametrize("change", [{"role": "viewer"}, {"is_active": False}])
def test_the_last_active_admin_cannot_be_demoted_or_switched_off(
    client: TestClient, make_account: Callable, auth: Callable, change: dict
) -> None:
    only_admin = make_account(Role.admin)
    headers = auth(only_admin)
    response = client.patch(f"/api/v1/accounts/{only_admin.id}", json=change, headers=headers)
    assert "last active admin" in assert_error(response, 409, "Conflict")
    assert "last active admin" in assert_error(client.delete(f"/api/v1/accounts/{only_admin.id}", headers=headers), 409)
    assert client.get("/api/v1/auth/me", headers=headers).json()["role"] == "admin"


def test_an_admin_can_be_demoted_once_there_is_another(
    client: TestClient, make_account: Callable, auth: Callable
) -> None:
    first, second = make_account(Role.admin), make_account(Role.admin)
    response = client.patch(f"/api/v1/accounts/{first.id}", json={"role": "owner"}, headers=auth(second))
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "owner"


@pytest.mark.parametrize("change", [{"role": "owner"}, {"is_active": False}])
def test_an_admin_cannot_demote_or_switch_off_themself(
    client: TestClient, make_account: Callable, auth: Callable, change: dict
) -> None:
    me, _ = make_account(Role.admin), make_account(Role.admin)
    headers = auth(me)

    response = client.patch(f"/api/v1/accounts/{me.id}", json=change, headers=headers)

    assert "themselves" in assert_error(response, 409, "Conflict")
    assert "themselves" in assert_error(client.delete(f"/api/v1/accounts/{me.id}", headers=headers), 409)
    assert client.get("/api/v1/auth/me", headers=headers).json()["role"] == "admin"


def test_a_setting_lets_admins_step_down_themselves(
    client: TestClient, make_account: Callable, auth: Callable, settings: Settings
) -> None:
    settings.admin_self_demotion = True
    me, _ = make_account(Role.admin), make_account(Role.admin)

    response = client.patch(f"/api/v1/accounts/{me.id}", json={"role": "owner"}, headers=auth(me))

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "owner"
