"""The SmartCommerce API's ingestion routes: POST /api/interaction/ and POST /api/streaming-event/, thin
adapters over the events service that echo the caller's ids as they were sent."""

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.accounts.models import Role
from relevo.catalog.models import Product
from relevo.events.models import Event
from relevo.users.models import User
from tests.errors import assert_error_mentioning as assert_error

INTERACTION = "/api/interaction/"
STREAMING_EVENT = "/api/streaming-event/"
EXAMPLE_INTERACTION = {"user_id": 123, "product_id": 456, "interaction_type": "purchase"}
EXAMPLE_STREAMING_EVENT = {
    "user_id": "123",
    "product_id": "456",
    "event_type": "view",
    "session_id": "session_abc123",
    "device_type": "mobile",
    "context": {},
}
EXAMPLE_BODIES = {INTERACTION: EXAMPLE_INTERACTION, STREAMING_EVENT: EXAMPLE_STREAMING_EVENT}


def post_created(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def stored_events(session: Session) -> list[tuple[Event, str, str]]:
    """Every stored event with its user's and product's shop ids, in arrival order."""
    session.expire_all()
    query = (
        select(Event, User.external_id, Product.external_id)
        .join(User, User.id == Event.user_id)
        .join(Product, Product.id == Event.product_id)
        .order_by(Event.id)
    )
    return [tuple(row) for row in session.execute(query)]


# POST /api/interaction/


def test_the_example_interaction_is_recorded_with_integer_ids(
    client: TestClient, admin_headers: dict, session: Session
) -> None:
    body = post_created(client, INTERACTION, EXAMPLE_INTERACTION, admin_headers)

    assert body == {
        "status": "success",
        "message": "Interaction recorded",
        "user_id": 123,
        "product_id": 456,
        "interaction_type": "purchase",
        "stored": True,
    }
    [(event, user_id, product_id)] = stored_events(session)
    assert (user_id, product_id, event.event_type) == ("123", "456", "purchase")


def test_string_ids_are_echoed_as_strings(client: TestClient, admin_headers: dict, session: Session) -> None:
    sent = {"user_id": "123", "product_id": "sku-456", "interaction_type": "click"}

    body = post_created(client, INTERACTION, sent, admin_headers)

    assert (body["user_id"], body["product_id"], body["interaction_type"]) == ("123", "sku-456", "click")
    [(_, user_id, product_id)] = stored_events(session)
    assert (user_id, product_id) == ("123", "sku-456")


def test_integer_and_string_ids_name_the_same_user(client: TestClient, admin_headers: dict, session: Session) -> None:
    post_created(client, INTERACTION, EXAMPLE_INTERACTION, admin_headers)
    post_created(client, INTERACTION, {**EXAMPLE_INTERACTION, "user_id": "123", "product_id": "456"}, admin_headers)

    assert {(user_id, product_id) for _, user_id, product_id in stored_events(session)} == {("123", "456")}
    assert len(session.scalars(select(User)).all()) == 1


def test_the_interaction_type_defaults_to_view(client: TestClient, admin_headers: dict, session: Session) -> None:
    body = post_created(client, INTERACTION, {"user_id": 1, "product_id": 2}, admin_headers)

    assert body["interaction_type"] == "view"
    assert [event.event_type for event, _, _ in stored_events(session)] == ["view"]


def test_optional_interaction_fields_are_stored(client: TestClient, admin_headers: dict, session: Session) -> None:
    sent = {**EXAMPLE_INTERACTION, "interaction_type": "rating", "value": 4.0, "recommendation_id": "rec-9"}

    post_created(client, INTERACTION, sent, admin_headers)

    [(event, _, _)] = stored_events(session)
    assert (event.event_type, event.value, event.recommendation_id) == ("rating", 4.0, "rec-9")


def test_a_repeated_event_id_is_stored_once(client: TestClient, admin_headers: dict, session: Session) -> None:
    sent = {**EXAMPLE_INTERACTION, "event_id": "order-77-line-1"}

    assert post_created(client, INTERACTION, sent, admin_headers)["stored"] is True
    assert post_created(client, INTERACTION, sent, admin_headers)["stored"] is False

    assert len(stored_events(session)) == 1


@pytest.mark.parametrize("missing", ["user_id", "product_id"])
def test_an_interaction_without_an_id_is_refused(
    client: TestClient, admin_headers: dict, session: Session, missing: str
) -> None:
    sent = {name: value for name, value in EXAMPLE_INTERACTION.items() if name != missing}

    assert_error(client.post(INTERACTION, json=sent, headers=admin_headers), 422, missing)
    assert stored_events(session) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("interaction_type", "Bad Type!"), ("user_id", ""), ("product_id", None), ("value", "lots")],
)
def test_a_bad_interaction_field_is_refused(client: TestClient, admin_headers: dict, field: str, value: Any) -> None:
    sent = {**EXAMPLE_INTERACTION, field: value}

    assert_error(client.post(INTERACTION, json=sent, headers=admin_headers), 422, field)


# POST /api/streaming-event/


def test_the_example_streaming_event_is_processed(client: TestClient, admin_headers: dict, session: Session) -> None:
    body = post_created(client, STREAMING_EVENT, EXAMPLE_STREAMING_EVENT, admin_headers)

    assert body == {
        "status": "processed",
        "user_id": "123",
        "product_id": "456",
        "event_type": "view",
        "session_id": "session_abc123",
        "stored": True,
    }
    [(event, user_id, product_id)] = stored_events(session)
    assert (user_id, product_id, event.event_type) == ("123", "456", "view")
    assert (event.session_id, event.device_type, event.context) == ("session_abc123", "mobile", {})


def test_a_streaming_event_with_integer_ids_echoes_integers(
    client: TestClient, admin_headers: dict, session: Session
) -> None:
    sent = {**EXAMPLE_STREAMING_EVENT, "user_id": 123, "product_id": 456, "event_type": "add_to_cart"}

    body = post_created(client, STREAMING_EVENT, sent, admin_headers)

    assert (body["user_id"], body["product_id"], body["event_type"]) == (123, 456, "add_to_cart")
    [(_, user_id, product_id)] = stored_events(session)
    assert (user_id, product_id) == ("123", "456")


def test_a_streaming_events_context_round_trips(client: TestClient, admin_headers: dict, session: Session) -> None:
    context = {"page": "product", "referrer": "search", "position": 2, "experiment": {"variant": "treatment"}}

    post_created(client, STREAMING_EVENT, {**EXAMPLE_STREAMING_EVENT, "context": context}, admin_headers)

    [(event, _, _)] = stored_events(session)
    assert event.context == context
    listed = client.get("/api/v1/events", params={"session_id": "session_abc123"}, headers=admin_headers).json()
    assert [item["context"] for item in listed["items"]] == [context]


def test_a_streaming_event_needs_only_ids_and_type(client: TestClient, admin_headers: dict, session: Session) -> None:
    body = post_created(
        client, STREAMING_EVENT, {"user_id": "u", "product_id": "p", "event_type": "view"}, admin_headers
    )

    assert body["session_id"] is None
    [(event, _, _)] = stored_events(session)
    assert (event.session_id, event.device_type, event.context) == (None, None, {})


@pytest.mark.parametrize("missing", ["user_id", "product_id", "event_type"])
def test_a_streaming_event_without_a_required_field_is_refused(
    client: TestClient, admin_headers: dict, session: Session, missing: str
) -> None:
    sent = {name: value for name, value in EXAMPLE_STREAMING_EVENT.items() if name != missing}

    assert_error(client.post(STREAMING_EVENT, json=sent, headers=admin_headers), 422, missing)
    assert stored_events(session) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("event_type", "Bad Type!"), ("context", "not an object"), ("device_type", "x" * 33), ("session_id", 5)],
)
def test_a_bad_streaming_event_field_is_refused(
    client: TestClient, admin_headers: dict, field: str, value: Any
) -> None:
    sent = {**EXAMPLE_STREAMING_EVENT, field: value}

    assert_error(client.post(STREAMING_EVENT, json=sent, headers=admin_headers), 422, field)


# Who may send them


@pytest.mark.parametrize("path", [INTERACTION, STREAMING_EVENT])
@pytest.mark.parametrize("role", [Role.service, Role.owner, Role.admin])
def test_writers_may_send_events(
    client: TestClient, make_account: Callable, auth: Callable, path: str, role: Role
) -> None:
    assert post_created(client, path, EXAMPLE_BODIES[path], auth(make_account(role)))["stored"] is True


@pytest.mark.parametrize("path", [INTERACTION, STREAMING_EVENT])
def test_viewers_may_not_send_events(
    client: TestClient, make_account: Callable, auth: Callable, session: Session, path: str
) -> None:
    response = client.post(path, json=EXAMPLE_BODIES[path], headers=auth(make_account(Role.viewer)))

    assert_error(response, 403)
    assert stored_events(session) == []


@pytest.mark.parametrize("path", [INTERACTION, STREAMING_EVENT])
@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic dXNlcjpwYXNz"}]
)
def test_callers_without_a_valid_token_are_refused(
    client: TestClient, session: Session, path: str, headers: dict[str, str]
) -> None:
    response = client.post(path, json=EXAMPLE_BODIES[path], headers=headers)

    assert_error(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert stored_events(session) == []


@pytest.mark.parametrize("path", [INTERACTION, STREAMING_EVENT])
def test_an_api_key_works_as_a_bearer_token(
    client: TestClient, make_account: Callable, auth: Callable, session: Session, path: str
) -> None:
    service_account = make_account(Role.service)
    created = client.post(
        "/api/v1/api-keys",
        json={"name": "shop backend", "scopes": ["events:write", "recommendations:read"]},
        headers=auth(service_account),
    )
    assert created.status_code == 201, created.text

    post_created(client, path, EXAMPLE_BODIES[path], {"Authorization": f"Bearer {created.json()['key']}"})

    assert len(stored_events(session)) == 1


def test_a_revoked_api_key_is_refused(client: TestClient, make_account: Callable, auth: Callable) -> None:
    headers = auth(make_account(Role.service))
    created = client.post(
        "/api/v1/api-keys", json={"name": "old key", "scopes": ["events:write"]}, headers=headers
    ).json()
    assert client.delete(f"/api/v1/api-keys/{created['id']}", headers=headers).status_code == 200

    response = client.post(INTERACTION, json=EXAMPLE_INTERACTION, headers={"Authorization": f"Bearer {created['key']}"})

    assert_error(response, 401)
