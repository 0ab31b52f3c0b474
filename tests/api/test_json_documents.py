"""Free JSON fields (an event's context, a product's attributes, a training config), on every
route that takes one: a value the databases cannot store is refused naming its place, on
SQLite and PostgreSQL alike, and a value they can store comes back as sent."""

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.core.fields import MAX_JSON_DEPTH
from relevo.events.models import Event
from tests.errors import assert_error, assert_error_mentioning

Body = Callable[[Any], Any]  # a request body with `bad` placed somewhere inside a JSON field


def event(**fields: Any) -> dict[str, Any]:
    return {"user_id": "u-1", "product_id": "p-1", **fields}


# (method, path, body with the value placed in it, where the answer must say it is, status)
ROUTES: list[tuple[str, str, Body, str, int]] = [
    ("POST", "/api/v1/events", lambda bad: event(context={"a": {"b": bad}}), "context.a.b", 422),
    (
        "POST",
        "/api/v1/events",
        lambda bad: [event(event_id="fine"), event(event_id="bad", context={"x": [1, bad]})],
        "1.context.x.1",
        422,
    ),
    (
        "POST",
        "/api/streaming-event/",
        lambda bad: {"user_id": 1, "product_id": 2, "event_type": "click", "context": {"page": bad}},
        "context.page",
        422,
    ),
    (
        "POST",
        "/api/v1/store/products/",
        lambda bad: {"name": "Lamp", "price": "10.00", "quantity": 1, "attributes": {"size": {"mm": bad}}},
        "attributes.size.mm",
        400,  # the store API answers bad input with 400
    ),
    ("PATCH", "/api/v1/store/products/1/", lambda bad: {"attributes": {"tags": [bad]}}, "attributes.tags.0", 400),
    ("PUT", "/api/v1/store/products/1/", lambda bad: {"attributes": {"w": bad}}, "attributes.w", 400),
    (
        "POST",
        "/api/v1/models/default/train",
        lambda bad: {"algorithm": "popular", "config": {"kind": bad}},
        "config.kind",
        422,
    ),
]
ROUTE_IDS = [f"{method} {path} {where}" for method, path, _, where, _ in ROUTES]

# Values sent as JSON text, since the standard JSON writer refuses NaN, and what the answer says.
UNSTORABLE = [
    ("18446744073709551616", "integers must fit in 64 bits"),  # 2**64: the JSON writers' limit
    ("9223372036854775808", "integers must fit in 64 bits"),  # 2**63: beyond a signed 64-bit integer
    ("-9223372036854775809", "integers must fit in 64 bits"),
    ("123456789012345678901234567890123456789", "integers must fit in 64 bits"),
    ("NaN", "numbers must be finite"),
    ("-Infinity", "numbers must be finite"),
    ('"a\\u0000b"', "must not contain NUL characters"),
]


def send(client: TestClient, headers: dict[str, str], method: str, path: str, body: Any, bad: str) -> Any:
    """Sends `body` with the JSON text `bad` in the place of the marker string."""
    marker = "__bad_value__"
    content = orjson.dumps(body(marker)).replace(f'"{marker}"'.encode(), bad.encode())
    return client.request(method, path, content=content, headers={**headers, "Content-Type": "application/json"})


@pytest.mark.parametrize(("bad", "problem"), UNSTORABLE, ids=[value for value, _ in UNSTORABLE])
@pytest.mark.parametrize(("method", "path", "body", "where", "status"), ROUTES, ids=ROUTE_IDS)
def test_a_value_no_database_can_store_is_refused_naming_its_place(
    client: TestClient,
    admin_headers: dict[str, str],
    session: Session,
    method: str,
    path: str,
    body: Body,
    where: str,
    status: int,
    bad: str,
    problem: str,
) -> None:
    response = send(client, admin_headers, method, path, body, bad)

    assert assert_error(response, status) == f"{where}: {problem}"  # that place and nothing else
    assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_a_document_nested_too_deep_is_refused_naming_the_depth(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    context: dict[str, Any] = {}
    inner = context
    for _ in range(MAX_JSON_DEPTH):
        inner["n"] = {}
        inner = inner["n"]

    response = client.post("/api/v1/events", json=event(context=context), headers=admin_headers)

    where = ".".join(["context", *["n"] * MAX_JSON_DEPTH])
    assert_error_mentioning(response, 422, f"{where}: JSON nests at most {MAX_JSON_DEPTH} levels deep")


EDGES = {
    "largest": 2**63 - 1,
    "smallest": -(2**63),
    "tiny": 5e-324,
    "huge": 1.7976931348623157e308,
    "text": "naïve – ✓",
    "deep": [[[[[[{"k": None, "t": True}]]]]]],
}


def test_64_bit_integers_and_other_edge_values_round_trip_in_an_events_context(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    response = client.post("/api/v1/events", json=event(context=EDGES), headers=admin_headers)
    assert response.status_code == 201, response.text

    [stored] = client.get("/api/v1/events", headers=admin_headers).json()["items"]
    assert stored["context"] == EDGES


def test_64_bit_integers_round_trip_in_a_products_attributes(client: TestClient, admin_headers: dict[str, str]) -> None:
    store = client.post("/api/v1/store/", json={"name": "Corner"}, headers=admin_headers).json()
    body = {"name": "Lamp", "price": "10.00", "quantity": 1, "store_id": store["id"], "attributes": EDGES}

    created = client.post("/api/v1/store/products/", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text

    read = client.get(f"/api/v1/store/products/{created.json()['id']}/", headers=admin_headers)
    assert read.json()["attributes"] == EDGES
