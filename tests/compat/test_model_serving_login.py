"""The model-serving API's POST /login: the credentials in a JSON body, a form body, or the
query string as its clients send them; what is missing or wrong named in the error."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from relevo.accounts.models import Account, Role
from tests.conftest import PASSWORD
from tests.errors import assert_error, assert_error_mentioning


@pytest.fixture
def account(make_account: Callable[..., Account]) -> Account:
    return make_account(Role.owner)


def sent_as(way: str, credentials: dict[str, Any]) -> dict[str, Any]:
    """The request options that send `credentials` one way."""
    if way == "json":
        return {"json": credentials}
    if way == "form":
        return {"data": credentials}
    return {"params": credentials}


WAYS = ["json", "form", "query"]


@pytest.mark.parametrize("way", WAYS)
def test_each_way_of_sending_the_credentials_logs_in(client: TestClient, account: Account, way: str) -> None:
    response = client.post("/login", **sent_as(way, {"username": account.username, "password": PASSWORD}))

    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == account.username


@pytest.mark.parametrize("way", WAYS)
def test_a_wrong_password_is_refused_whichever_way_it_comes(client: TestClient, account: Account, way: str) -> None:
    response = client.post("/login", **sent_as(way, {"username": account.username, "password": "not-the-password"}))

    assert_error(response, 401, "Invalid credentials")


@pytest.mark.parametrize("way", WAYS)
def test_missing_credentials_are_named(client: TestClient, way: str) -> None:
    response = client.post("/login", **sent_as(way, {"username": "someone"}))

    assert_error_mentioning(response, 422, "password: Field required")


@pytest.mark.parametrize(
    ("credentials", "named"),
    [
        ({"username": "", "password": PASSWORD}, "username: String should have at least 1 character"),
        ({"username": "someone", "password": "x" * 201}, "password: String should have at most 200 characters"),
        ({"username": "some\u0000one", "password": PASSWORD}, "username: Value error, must not contain NUL characters"),
        ({"username": ["a"], "password": PASSWORD}, "username: Input should be a valid string"),
    ],
)
def test_bad_credentials_in_a_json_body_are_named(client: TestClient, credentials: dict, named: str) -> None:
    response = client.post("/login", json=credentials)

    assert_error_mentioning(response, 422, named)


def test_a_json_body_that_is_not_an_object_is_refused(client: TestClient) -> None:
    response = client.post("/login", json=["admin", PASSWORD])

    assert_error_mentioning(response, 422, "body: Input should be a valid dictionary")


def test_a_body_that_is_not_json_is_refused(client: TestClient) -> None:
    response = client.post("/login", content=b'{"username": ', headers={"Content-Type": "application/json"})

    assert_error_mentioning(response, 400, "body: is not valid JSON")


def test_the_body_wins_over_the_query_string(client: TestClient, account: Account) -> None:
    response = client.post(
        "/login",
        params={"username": account.username, "password": "not-the-password"},
        json={"username": account.username, "password": PASSWORD},
    )

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("media_type", ["application/json", "application/x-www-form-urlencoded"])
def test_query_credentials_with_an_empty_body_log_in(client: TestClient, account: Account, media_type: str) -> None:
    response = client.post(
        "/login",
        params={"username": account.username, "password": PASSWORD},
        content=b"",
        headers={"Content-Type": media_type},
    )

    assert response.status_code == 200, response.text


def test_the_openapi_document_describes_every_way(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/login"]["post"]

    content = operation["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-www-form-urlencoded"}
    for media in content.values():
        assert media["schema"]["required"] == ["username", "password"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(parameters) == {"username", "password"}
    assert all(parameter["in"] == "query" and parameter["deprecated"] for parameter in parameters.values())
    assert set(operation["responses"]) >= {"200", "401", "422"}
