"""Every route that takes behaviour (events, interactions, streaming events, purchases) names
a wrong field once, as the caller sent it: never once per shape the body or the field might
have had (`EventIn.product_id: ...; list[EventIn]: ...`)."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.events.models import Event
from tests.conftest import CLIENT_SECRET
from tests.errors import assert_error

EVENT = {"user_id": "u-1", "product_id": "p-1", "event_type": "view"}
WITHOUT_PRODUCT = {"user_id": "u-1", "event_type": "view"}

# (route, body, the whole of the answer's details)
CASES = [
    # POST /api/v1/events takes one event or a list of them.
    ("/api/v1/events", WITHOUT_PRODUCT, "product_id: Field required"),
    ("/api/v1/events", [WITHOUT_PRODUCT], "0.product_id: Field required"),
    ("/api/v1/events", [EVENT, WITHOUT_PRODUCT], "1.product_id: Field required"),
    ("/api/v1/events", {**EVENT, "product_id": 1.5}, "product_id: Input should be a valid string"),
    ("/api/v1/events", "view", "body: Input should be an event (a JSON object) or a list of events"),
    # The compatible APIs' routes take one object each.
    ("/api/interaction/", {"user_id": 1}, "product_id: Field required"),
    (
        "/api/interaction/",
        {"user_id": 1.5, "product_id": 2},
        "user_id: Input should be a valid integer, got a number with a fractional part",
    ),
    ("/api/interaction/", {"user_id": "", "product_id": 2}, "user_id: String should have at least 1 character"),
    ("/api/interaction/", {"user_id": 1, "product_id": None}, "product_id: Input should be an integer or a string"),
    ("/api/streaming-event/", WITHOUT_PRODUCT, "product_id: Field required"),
    ("/api/streaming-event/", {**EVENT, "user_id": [1]}, "user_id: Input should be an integer or a string"),
    ("/purchases", {"user_id": "u-1"}, "products: Field required"),
    ("/purchases", {"user_id": "u-1", "products": ["p-1", 1.5]}, "products.1: Input should be a valid string"),
    ("/interactions", {"user_id": "u-1"}, "product_id: Field required"),
    ("/ai/interactions", {"user_id": "u-1"}, "product_id: Field required"),
]


@pytest.mark.parametrize(("path", "body", "details"), CASES)
def test_a_wrong_field_is_named_once_as_sent(
    client: TestClient, admin_headers: dict[str, str], session: Session, path: str, body: Any, details: str
) -> None:
    headers = {**admin_headers, "CLIENT-HEADER-SECRET": CLIENT_SECRET}

    response = client.post(path, json=body, headers=headers)

    assert assert_error(response, 422, "Invalid parameter") == details
    assert session.scalar(select(func.count()).select_from(Event)) == 0


@pytest.mark.parametrize("user_id", [7, "7"])
def test_the_smartcommerce_api_still_takes_integer_and_string_ids(
    client: TestClient, admin_headers: dict[str, str], user_id: int | str
) -> None:
    response = client.post("/api/interaction/", json={"user_id": user_id, "product_id": 8}, headers=admin_headers)

    assert response.status_code == 201, response.text
    assert (response.json()["user_id"], response.json()["product_id"]) == (user_id, 8)
