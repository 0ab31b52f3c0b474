"""The canonical events API: POST /api/v1/events (one event or a batch) and GET /api/v1/events."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.accounts.models import Role
from relevo.catalog.models import Product
from relevo.core.config import Settings
from relevo.events.models import Event
from relevo.events.service import SMALL_BATCH
from relevo.users.models import User
from tests.events.stored import stored_rows

EVENTS = "/api/v1/events"
LARGE_BATCH = 300

assert LARGE_BATCH > SMALL_BATCH, "the large batch must take the staging-table path"


def event(user_id: Any = "u1", product_id: Any = "p1", **fields: Any) -> dict[str, Any]:
    return {"user_id": user_id, "product_id": product_id, **fields}


def post(client: TestClient, headers: dict[str, str], body: Any) -> Response:
    return client.post(EVENTS, json=body, headers=headers)


def post_ok(client: TestClient, headers: dict[str, str], body: Any) -> dict[str, int]:
    response = post(client, headers, body)
    assert response.status_code == 201, response.text
    return response.json()


def get_ok(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get(EVENTS, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def assert_invalid(response: Response, status_code: int, field: str) -> None:
    assert response.status_code == status_code, response.text
    body = response.json()
    assert set(body) == {"error", "details"}
    assert field in body["details"]


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def iso(moment: datetime) -> str:
    return moment.isoformat()


# Posting events


def test_one_event_object_is_stored(client: TestClient, admin_headers: dict, session: Session) -> None:
    result = post_ok(client, admin_headers, event("u1", "p1", event_type="click"))

    assert result == {"received": 1, "stored": 1, "duplicates": 0}
    [stored] = stored_rows(session)
    assert (stored.user_id, stored.product_id, stored.event_type) == ("u1", "p1", "click")


def test_a_list_of_events_is_stored(client: TestClient, admin_headers: dict, session: Session) -> None:
    body = [event("u1", "p1"), event("u1", "p2", event_type="add_to_cart"), event("u2", "p1", event_type="purchase")]

    assert post_ok(client, admin_headers, body) == {"received": 3, "stored": 3, "duplicates": 0}
    stored = [(row.user_id, row.product_id, row.event_type) for row in stored_rows(session)]
    assert stored == [("u1", "p1", "view"), ("u1", "p2", "add_to_cart"), ("u2", "p1", "purchase")]


def test_event_type_defaults_to_view_and_is_normalised(
    client: TestClient, admin_headers: dict, session: Session
) -> None:
    post_ok(client, admin_headers, [event("u1", "p1"), event("u1", "p2", event_type=" Purchase ")])

    assert [row.event_type for row in stored_rows(session)] == ["view", "purchase"]


def test_integer_ids_are_stored_as_text(client: TestClient, admin_headers: dict, session: Session) -> None:
    post_ok(client, admin_headers, event(123, 456))

    [stored] = stored_rows(session)
    assert (stored.user_id, stored.product_id) == ("123", "456")
    assert get_ok(client, admin_headers)["items"][0]["user_id"] == "123"


def test_unknown_users_and_products_are_created_bare(client: TestClient, admin_headers: dict, session: Session) -> None:
    post_ok(client, admin_headers, [event("new-user", "new-product"), event("new-user", "other-product")])

    session.expire_all()
    user = session.scalar(select(User).where(User.external_id == "new-user"))
    assert user is not None
    assert user.attributes == {}
    products = session.scalars(select(Product).order_by(Product.external_id)).all()
    assert [product.external_id for product in products] == ["new-product", "other-product"]
    for product in products:
        assert (product.name, product.store_id, product.category, product.price) == (None, None, None, None)
        assert product.views_count == 0
        assert product.is_active


def test_known_users_and_products_are_reused(client: TestClient, admin_headers: dict, session: Session) -> None:
    post_ok(client, admin_headers, [event("u1", "p1"), event("u1", "p1", event_type="click")])
    post_ok(client, admin_headers, event("u1", "p1", event_type="purchase"))

    assert count(session, User) == 1
    assert count(session, Product) == 1
    assert count(session, Event) == 3


@pytest.mark.parametrize("size", [3, LARGE_BATCH], ids=["small batch", "large batch"])
def test_an_event_id_is_stored_once(client: TestClient, admin_headers: dict, session: Session, size: int) -> None:
    # The first batch repeats e0 within itself; the second resends every id plus one new one.
    first = [event(f"u{i}", f"p{i}", event_id=f"e{i}") for i in range(size - 1)] + [event("u0", "p0", event_id="e0")]
    second = [event(f"u{i}", f"p{i}", event_id=f"e{i}") for i in range(size)]

    assert post_ok(client, admin_headers, first) == {"received": size, "stored": size - 1, "duplicates": 1}
    assert post_ok(client, admin_headers, second) == {"received": size, "stored": 1, "duplicates": size - 1}

    event_ids = [row.event_id for row in stored_rows(session)]
    assert sorted(event_ids) == sorted(f"e{i}" for i in range(size))


def test_a_resent_event_keeps_its_first_version(client: TestClient, admin_headers: dict, session: Session) -> None:
    post_ok(client, admin_headers, event("u1", "p1", event_type="click", event_id="e1"))

    result = post_ok(client, admin_headers, event("u1", "p1", event_type="purchase", event_id="e1"))

    assert result == {"received": 1, "stored": 0, "duplicates": 1}
    assert [row.event_type for row in stored_rows(session)] == ["click"]


@pytest.mark.parametrize("size", [2, LARGE_BATCH], ids=["small batch", "large batch"])
def test_events_without_event_id_are_never_deduplicated(
    client: TestClient, admin_headers: dict, session: Session, size: int
) -> None:
    same = [event("u1", "p1", timestamp="2024-05-01T12:00:00Z")] * size

    post_ok(client, admin_headers, same)
    assert post_ok(client, admin_headers, same) == {"received": size, "stored": size, "duplicates": 0}

    assert count(session, Event) == 2 * size


@pytest.mark.parametrize(
    "timestamp",
    ["2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z", "2024-05-01T12:00:00", 1714564800],
    ids=["ISO with zone", "ISO in UTC", "naive ISO", "unix seconds"],
)
def test_timestamps_are_stored_in_utc(
    client: TestClient, admin_headers: dict, session: Session, timestamp: Any
) -> None:
    post_ok(client, admin_headers, event(timestamp=timestamp))

    [stored] = stored_rows(session)
    assert stored.occurred_at == datetime(2024, 5, 1, 12, 0)
    assert get_ok(client, admin_headers)["items"][0]["timestamp"] == "2024-05-01T12:00:00Z"


def test_an_event_without_timestamp_is_stamped_now(client: TestClient, admin_headers: dict, session: Session) -> None:
    before = datetime.now(UTC).replace(tzinfo=None)
    post_ok(client, admin_headers, event())
    after = datetime.now(UTC).replace(tzinfo=None)

    [stored] = stored_rows(session)
    assert before <= stored.occurred_at <= after


def test_a_timestamp_more_than_a_day_ahead_is_refused(
    client: TestClient, admin_headers: dict, session: Session
) -> None:
    future = datetime.now(UTC) + timedelta(days=2)

    assert_invalid(post(client, admin_headers, event(timestamp=iso(future))), 422, "timestamp")
    assert_invalid(post(client, admin_headers, [event(timestamp=iso(future))]), 422, "timestamp")
    assert count(session, Event) == 0


def test_a_timestamp_slightly_ahead_is_accepted_as_clock_skew(client: TestClient, admin_headers: dict) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)

    assert post_ok(client, admin_headers, event(timestamp=iso(soon)))["stored"] == 1


def test_a_malformed_timestamp_is_refused(client: TestClient, admin_headers: dict) -> None:
    assert_invalid(post(client, admin_headers, event(timestamp="yesterday")), 422, "timestamp")


@pytest.mark.parametrize("event_type", ["Bad Type!", "", "1st", "x" * 33])
def test_a_bad_event_type_is_refused(client: TestClient, admin_headers: dict, event_type: str) -> None:
    assert_invalid(post(client, admin_headers, event(event_type=event_type)), 422, "event_type")


def test_custom_event_types_are_accepted(client: TestClient, admin_headers: dict, session: Session) -> None:
    post_ok(client, admin_headers, event(event_type="wishlist"))

    assert [row.event_type for row in stored_rows(session)] == ["wishlist"]
    assert get_ok(client, admin_headers, event_type="wishlist")["items"][0]["event_type"] == "wishlist"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_value_that_is_not_a_finite_number_is_refused(
    client: TestClient, admin_headers: dict, session: Session, value: str
) -> None:
    body = f'{{"user_id": "u1", "product_id": "p1", "event_type": "rating", "value": {value}}}'

    response = client.post(EVENTS, content=body, headers={**admin_headers, "Content-Type": "application/json"})

    assert_invalid(response, 422, "value")
    assert count(session, Event) == 0


def test_a_numeric_value_is_stored(client: TestClient, admin_headers: dict, session: Session) -> None:
    post_ok(client, admin_headers, event(event_type="rating", value=4.5))

    assert [row.value for row in stored_rows(session)] == [4.5]


@pytest.mark.parametrize("missing", ["user_id", "product_id"])
def test_a_missing_id_is_refused(client: TestClient, admin_headers: dict, missing: str) -> None:
    body = event()
    del body[missing]

    assert_invalid(post(client, admin_headers, body), 422, missing)


def test_an_empty_id_is_refused(client: TestClient, admin_headers: dict) -> None:
    assert_invalid(post(client, admin_headers, event(user_id="")), 422, "user_id")


def test_an_empty_list_is_refused(client: TestClient, admin_headers: dict) -> None:
    assert_invalid(post(client, admin_headers, []), 400, "events")


def test_a_batch_over_the_limit_is_refused(
    client: TestClient, admin_headers: dict, session: Session, settings: Settings
) -> None:
    limit = settings.max_event_batch

    response = post(client, admin_headers, [event(f"u{i}") for i in range(limit + 1)])

    assert_invalid(response, 400, "events")
    assert f"at most {limit}" in response.json()["details"]
    assert count(session, Event) == 0


def test_a_batch_at_the_limit_is_accepted(client: TestClient, admin_headers: dict, settings: Settings) -> None:
    limit = settings.max_event_batch

    result = post_ok(client, admin_headers, [event(f"u{i}") for i in range(limit)])

    assert result == {"received": limit, "stored": limit, "duplicates": 0}


def test_malformed_json_is_refused(client: TestClient, admin_headers: dict) -> None:
    headers = {**admin_headers, "Content-Type": "application/json"}

    response = client.post(EVENTS, content='{"user_id": "u1",', headers=headers)

    assert response.status_code == 400
    assert response.json()["error"] == "Invalid JSON"


@pytest.mark.parametrize("role", [Role.service, Role.owner, Role.admin])
def test_writers_may_post_events(client: TestClient, make_account: Callable, auth: Callable, role: Role) -> None:
    assert post_ok(client, auth(make_account(role)), event())["stored"] == 1


def test_viewers_may_not_post_events(
    client: TestClient, make_account: Callable, auth: Callable, session: Session
) -> None:
    response = post(client, auth(make_account(Role.viewer)), event())

    assert response.status_code == 403
    assert response.json()["error"] == "Permission denied"
    assert count(session, Event) == 0


def test_anonymous_callers_may_not_post_events(client: TestClient) -> None:
    response = client.post(EVENTS, json=event())

    assert response.status_code == 401
    assert set(response.json()) == {"error", "details"}


def test_every_field_round_trips(client: TestClient, admin_headers: dict, session: Session) -> None:
    context = {"page": "home", "position": 3, "tags": ["sale", "new"], "nested": {"ab": True, "score": 0.5}}
    body = event(
        "u1",
        "p1",
        event_type="click",
        value=2.0,
        session_id="session_abc123",
        device_type="mobile",
        context=context,
        timestamp="2024-05-01T12:00:00Z",
        event_id="evt-1",
        recommendation_id="rec-42",
    )

    post_ok(client, admin_headers, body)

    [stored] = stored_rows(session)
    assert stored.context == context
    assert (stored.session_id, stored.device_type, stored.recommendation_id) == ("session_abc123", "mobile", "rec-42")
    [read] = get_ok(client, admin_headers)["items"]
    assert read == {
        "id": read["id"],
        "event_id": "evt-1",
        "user_id": "u1",
        "product_id": "p1",
        "event_type": "click",
        "value": 2.0,
        "session_id": "session_abc123",
        "device_type": "mobile",
        "context": context,
        "recommendation_id": "rec-42",
        "dataset_id": None,
        "timestamp": "2024-05-01T12:00:00Z",
    }


def test_context_round_trips_through_the_large_batch_path(client: TestClient, admin_headers: dict) -> None:
    context = {"page": "search", "query": "red shoes", "filters": {"size": [41, 42]}}
    body = [event(f"u{i}", "p1", context=context, session_id="s1", device_type="tablet") for i in range(LARGE_BATCH)]

    post_ok(client, admin_headers, body)

    items = get_ok(client, admin_headers, limit=1000)["items"]
    assert len(items) == LARGE_BATCH
    assert all(item["context"] == context for item in items)
    assert {(item["session_id"], item["device_type"]) for item in items} == {("s1", "tablet")}


# Reading events


def seed_events(client: TestClient, headers: dict[str, str]) -> None:
    """Five events an hour apart from 10:00 on 2024-05-01, posted oldest first."""
    post_ok(
        client,
        headers,
        [
            event("alice", "p1", event_type="view", session_id="s1", timestamp="2024-05-01T10:00:00Z"),
            event("alice", "p2", event_type="click", session_id="s1", timestamp="2024-05-01T11:00:00Z"),
            event("bob", "p1", event_type="purchase", session_id="s2", timestamp="2024-05-01T12:00:00Z"),
            event("alice", "p1", event_type="purchase", session_id="s1", timestamp="2024-05-01T13:00:00Z"),
            event("bob", "p3", event_type="view", timestamp="2024-05-01T14:00:00Z"),
        ],
    )


def hours(items: list[dict[str, Any]]) -> list[int]:
    """The hour of each listed event, which identifies it in seed_events."""
    return [int(item["timestamp"][11:13]) for item in items]


def test_events_are_listed_newest_first(client: TestClient, admin_headers: dict) -> None:
    seed_events(client, admin_headers)

    page = get_ok(client, admin_headers)

    assert hours(page["items"]) == [14, 13, 12, 11, 10]
    assert page["next_cursor"] is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"user_id": "alice"}, [13, 11, 10]),
        ({"product_id": "p1"}, [13, 12, 10]),
        ({"event_type": "purchase"}, [13, 12]),
        ({"session_id": "s1"}, [13, 11, 10]),
        ({"since": "2024-05-01T12:00:00Z"}, [14, 13, 12]),
        ({"until": "2024-05-01T12:00:00Z"}, [11, 10]),
        ({"since": "2024-05-01T13:00:00+02:00", "until": "2024-05-01T13:00:00"}, [12, 11]),
        ({"user_id": "bob", "event_type": "purchase"}, [12]),
        ({"user_id": "nobody"}, []),
    ],
    ids=["user", "product", "type", "session", "since", "until", "zoned since", "combined", "no match"],
)
def test_events_are_filtered(
    client: TestClient, admin_headers: dict, filters: dict[str, str], expected: list[int]
) -> None:
    seed_events(client, admin_headers)

    assert hours(get_ok(client, admin_headers, **filters)["items"]) == expected


def test_time_filters_apply_to_events_stored_by_the_large_batch_path(client: TestClient, admin_headers: dict) -> None:
    start = datetime(2024, 5, 1, tzinfo=UTC)
    body = [event(f"u{i}", "p1", timestamp=iso(start + timedelta(minutes=i))) for i in range(LARGE_BATCH)]
    post_ok(client, admin_headers, body)

    since = iso(start + timedelta(minutes=100))
    until = iso(start + timedelta(minutes=150))
    items = get_ok(client, admin_headers, since=since, until=until, limit=1000)["items"]

    assert sorted(item["user_id"] for item in items) == sorted(f"u{i}" for i in range(100, 150))


def walk_pages(client: TestClient, headers: dict[str, str], limit: int) -> list[list[dict[str, Any]]]:
    """Every page of the event list, following next_cursor to the end."""
    pages, cursor = [], None
    while True:
        params = {"limit": limit} if cursor is None else {"limit": limit, "cursor": cursor}
        page = get_ok(client, headers, **params)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize(("limit", "page_sizes"), [(2, [2, 2, 1]), (5, [5]), (1, [1, 1, 1, 1, 1])])
def test_pages_walk_every_event_exactly_once(
    client: TestClient, admin_headers: dict, limit: int, page_sizes: list[int]
) -> None:
    seed_events(client, admin_headers)

    pages = walk_pages(client, admin_headers, limit)

    assert [len(page) for page in pages] == page_sizes
    assert hours([item for page in pages for item in page]) == [14, 13, 12, 11, 10]


def test_filters_apply_on_every_page(client: TestClient, admin_headers: dict) -> None:
    seed_events(client, admin_headers)

    first = get_ok(client, admin_headers, user_id="alice", limit=2)
    second = get_ok(client, admin_headers, user_id="alice", limit=2, cursor=first["next_cursor"])

    assert hours(first["items"]) + hours(second["items"]) == [13, 11, 10]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["abc", "-1", "1.5", "²", "99999999999999999999999999"])
def test_a_bad_cursor_is_refused(client: TestClient, admin_headers: dict, cursor: str) -> None:
    seed_events(client, admin_headers)

    assert_invalid(client.get(EVENTS, params={"cursor": cursor}, headers=admin_headers), 400, "cursor")


@pytest.mark.parametrize(("param", "value"), [("limit", "0"), ("limit", "1001"), ("since", "not-a-time")])
def test_bad_list_parameters_are_refused(client: TestClient, admin_headers: dict, param: str, value: str) -> None:
    assert_invalid(client.get(EVENTS, params={param: value}, headers=admin_headers), 422, param)


@pytest.mark.parametrize("role", [Role.viewer, Role.service, Role.owner, Role.admin])
def test_only_admins_read_the_behaviour_log(
    client: TestClient, admin_headers: dict, make_account: Callable, auth: Callable, role: Role
) -> None:
    seed_events(client, admin_headers)
    headers = auth(make_account(role))

    if role != Role.admin:  # every store's shoppers: reading them all is an admin's matter
        assert client.get(EVENTS, headers=headers).status_code == 403
        return
    assert len(get_ok(client, headers)["items"]) == 5


def test_anonymous_callers_may_not_read_events(client: TestClient) -> None:
    assert client.get(EVENTS).status_code == 401


@pytest.mark.parametrize("field", ["user_id", "product_id", "session_id", "event_id"])
def test_nul_characters_are_refused_by_name(
    client: TestClient, admin_headers: dict, session: Session, field: str
) -> None:
    body = event(**{field: "a\u0000b"})
    assert_invalid(post(client, admin_headers, body), 422, field)
    assert stored_rows(session) == []


def test_a_nul_character_in_the_context_is_refused_by_name_on_every_database(
    client: TestClient, admin_headers: dict, session: Session
) -> None:
    # PostgreSQL's JSON documents cannot hold \u0000; SQLite could, but both answer alike.
    response = post(client, admin_headers, event(context={"note": "a\u0000b"}))

    assert_invalid(response, 422, "context.note: must not contain NUL characters")
    assert stored_rows(session) == []
