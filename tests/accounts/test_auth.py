"""Logging in (the model-serving API's /login and the OAuth2 form), and what an Authorization header must be."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from relevo.accounts.models import Account, Role
from relevo.core.config import Settings
from relevo.core.security import create_access_token
from tests.conftest import PASSWORD
from tests.errors import assert_error

EVENT = {"user_id": "shopper-1", "product_id": "sku-1", "event_type": "view"}


def login(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/login", params={"username": username, "password": password})


def who_am_i(client: TestClient, authorization: str):
    return client.get("/api/v1/auth/me", headers={"Authorization": authorization})


def deactivate(client: TestClient, account: Account, admin_headers: dict[str, str]) -> None:
    response = client.delete(f"/api/v1/accounts/{account.id}", headers=admin_headers)
    assert response.status_code == 204


def token_for(account: Account, settings: Settings, *, minutes: int = 5, secret_key: str | None = None) -> str:
    return create_access_token(
        account_id=account.id,
        username=account.username,
        secret_key=secret_key or settings.secret_key,
        minutes=minutes,
    )


# The model-serving API: POST /login?username=&password=


def test_login_returns_an_access_token_that_authenticates(client: TestClient, make_account: Callable) -> None:
    account = make_account(Role.owner)

    response = login(client, account.username)

    assert response.status_code == 200
    token = response.json()["access_token"]
    assert token.count(".") == 2  # a JWT, as in the model-serving API
    me = who_am_i(client, f"Bearer {token}")
    assert me.status_code == 200
    assert me.json()["id"] == account.id
    assert me.json()["username"] == account.username
    assert me.json()["role"] == "owner"


@pytest.mark.parametrize(
    ("username", "password"),
    [("known", "wrong-password-1"), ("nobody-has-this-name", PASSWORD)],
    ids=["wrong password", "unknown user"],
)
def test_login_refuses_bad_credentials(
    client: TestClient, make_account: Callable, username: str, password: str
) -> None:
    make_account(Role.viewer, username="known")

    response = login(client, username, password)

    details = assert_error(response, 401, "Invalid credentials")
    assert "wrong username or password" in details
    assert "access_token" not in response.json()


def test_login_refuses_a_deactivated_account(
    client: TestClient, make_account: Callable, admin_headers: dict[str, str]
) -> None:
    account = make_account(Role.owner)
    deactivate(client, account, admin_headers)

    response = login(client, account.username)

    assert "deactivated" in assert_error(response, 401, "Invalid credentials")


def test_login_without_a_password_names_the_missing_field(client: TestClient) -> None:
    response = client.post("/login", params={"username": "someone"})

    assert "password" in assert_error(response, 422, "Invalid parameter")


# OAuth2 password form: POST /api/v1/auth/token


def test_oauth2_form_issues_a_token_that_authenticates(
    client: TestClient, make_account: Callable, settings: Settings
) -> None:
    account = make_account(Role.service)

    response = client.post("/api/v1/auth/token", data={"username": account.username, "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_minutes * 60
    assert who_am_i(client, f"Bearer {body['access_token']}").json()["id"] == account.id


def test_oauth2_form_refuses_a_wrong_password(client: TestClient, make_account: Callable) -> None:
    account = make_account(Role.service)

    response = client.post("/api/v1/auth/token", data={"username": account.username, "password": "not-it-at-all"})

    assert_error(response, 401, "Invalid credentials")


def test_oauth2_form_names_missing_fields(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "someone"})

    assert "password" in assert_error(response, 422, "Invalid parameter")


def test_me_describes_the_caller_without_secrets(client: TestClient, make_account: Callable, auth: Callable) -> None:
    account = make_account(Role.viewer)

    response = client.get("/api/v1/auth/me", headers=auth(account))

    assert response.status_code == 200
    assert response.json() == {
        "id": account.id,
        "username": account.username,
        "role": "viewer",
        "is_active": True,
        "created_at": response.json()["created_at"],
        "scopes": ["keys:manage", "read", "recommendations:read"],
    }
    assert response.json()["created_at"].endswith("Z")


# The Authorization header: Bearer or Token, a JWT or an API key


@pytest.mark.parametrize("scheme", ["Bearer", "Token", "bearer", "token"])
@pytest.mark.parametrize("credential", ["jwt", "api key"])
def test_bearer_and_token_schemes_accept_jwts_and_api_keys(
    client: TestClient, make_account: Callable, auth: Callable, scheme: str, credential: str
) -> None:
    account = make_account(Role.owner)
    if credential == "jwt":
        token = auth(account)["Authorization"].split(" ", 1)[1]
    else:
        created = client.post(
            "/api/v1/api-keys", json={"name": "integration", "scopes": ["events:write"]}, headers=auth(account)
        )
        token = created.json()["key"]

    response = who_am_i(client, f"{scheme} {token}")

    assert response.status_code == 200, response.text
    assert response.json()["id"] == account.id


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token", "Bearertoken", "JWT abc.def.ghi"])
def test_a_malformed_authorization_header_is_refused(client: TestClient, header: str) -> None:
    response = who_am_i(client, header)

    assert "Bearer <token>" in assert_error(response, 401, "Not authenticated")


def test_no_authorization_header_is_refused(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me")

    assert_error(response, 401, "Not authenticated")


def test_an_expired_jwt_is_refused(client: TestClient, make_account: Callable, settings: Settings) -> None:
    token = token_for(make_account(Role.admin), settings, minutes=-1)

    response = who_am_i(client, f"Bearer {token}")

    assert "expired" in assert_error(response, 401, "Token expired")


def test_a_jwt_signed_with_another_secret_is_refused(
    client: TestClient, make_account: Callable, settings: Settings
) -> None:
    token = token_for(make_account(Role.admin), settings, secret_key="another-secret-key-of-sufficient-length")

    response = who_am_i(client, f"Bearer {token}")

    assert_error(response, 401, "Invalid token")


def test_an_unsigned_jwt_is_refused(client: TestClient, make_account: Callable) -> None:
    account = make_account(Role.admin)
    expires = datetime.now(UTC) + timedelta(minutes=5)
    token = jwt.encode({"sub": str(account.id), "exp": expires}, None, algorithm="none")

    response = who_am_i(client, f"Bearer {token}")

    assert_error(response, 401, "Invalid token")


def test_a_jwt_without_an_expiry_is_refused(client: TestClient, make_account: Callable, settings: Settings) -> None:
    account = make_account(Role.admin)
    token = jwt.encode({"sub": str(account.id)}, settings.secret_key, algorithm="HS256")

    response = who_am_i(client, f"Bearer {token}")

    assert_error(response, 401, "Invalid token")


def test_a_jwt_naming_a_missing_account_is_refused(client: TestClient, settings: Settings) -> None:
    token = create_access_token(account_id=987_654_321, username="ghost", secret_key=settings.secret_key, minutes=5)

    response = who_am_i(client, f"Bearer {token}")

    assert_error(response, 401, "Invalid token")


def test_a_deactivated_accounts_jwt_stops_working(
    client: TestClient, make_account: Callable, auth: Callable, admin_headers: dict[str, str]
) -> None:
    account = make_account(Role.owner)
    headers = auth(account)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200

    deactivate(client, account, admin_headers)

    # Refused either as issued before the switch-off or, within the same second, as the token of
    # a deactivated account.
    details = assert_error(client.get("/api/v1/auth/me", headers=headers), 401)
    assert "switched off" in details or "deactivated" in details, details


# Roles


def test_a_viewer_may_not_post_events(client: TestClient, make_account: Callable, auth: Callable) -> None:
    response = client.post("/api/v1/events", json=EVENT, headers=auth(make_account(Role.viewer)))

    details = assert_error(response, 403, "Permission denied")
    assert "events:write" in details


@pytest.mark.parametrize("role", [Role.owner, Role.service, Role.admin])
def test_writers_may_post_events(
    client: TestClient, make_account: Callable, auth: Callable, admin_headers: dict, role: Role
) -> None:
    response = client.post("/api/v1/events", json=EVENT, headers=auth(make_account(role)))

    assert response.status_code == 201, response.text
    assert response.json() == {"received": 1, "stored": 1, "duplicates": 0}
    stored = client.get("/api/v1/events", params={"user_id": "shopper-1"}, headers=admin_headers).json()["items"]
    assert [(event["product_id"], event["event_type"]) for event in stored] == [("sku-1", "view")]


@pytest.mark.parametrize("role", [Role.owner, Role.service, Role.viewer])
def test_only_admins_read_every_shoppers_events(
    client: TestClient, make_account: Callable, auth: Callable, role: Role
) -> None:
    response = client.get("/api/v1/events", headers=auth(make_account(role)))

    assert "the scope admin" in assert_error(response, 403)
