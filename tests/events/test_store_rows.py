"""The events service's storage: `store_rows` by its two paths (a short list in a few
statements, or any number of rows through the backend's bulk path) and `ingest`, which feeds
it from the API."""

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from relevo.catalog.models import Product
from relevo.core.errors import InvalidArgument
from relevo.datasets.models import Dataset, DatasetType
from relevo.events import service
from relevo.events.models import Event
from relevo.events.schemas import EventIn
from relevo.events.service import SMALL_BATCH, EventRow, ingest, store_rows
from relevo.storage import bulk
from relevo.users.models import User
from tests.events.stored import stored_rows

Feed = Callable[[list[EventRow]], Iterable[EventRow]]
MOMENT = datetime(2024, 5, 1, 12, 30, 15, 123456)


def row(user_id: str = "u1", product_id: str = "p1", **fields: Any) -> EventRow:
    defaults: dict[str, Any] = {
        "event_id": None,
        "event_type": "view",
        "value": None,
        "session_id": None,
        "device_type": None,
        "context": None,
        "recommendation_id": None,
        "occurred_at": MOMENT,
    }
    return EventRow(user_id=user_id, product_id=product_id, **{**defaults, **fields})


def as_generator(rows: list[EventRow]) -> Iterator[EventRow]:
    yield from rows


@pytest.fixture(params=["list", "generator"])
def feed(request: pytest.FixtureRequest) -> Feed:
    """The same rows as a short list (the small-batch path) or a generator (always the bulk path)."""
    return list if request.param == "list" else as_generator


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def category_of(session: Session, external_id: str) -> str | None:
    return session.scalar(select(Product.category).where(Product.external_id == external_id))


# store_rows, by either path


def test_every_field_is_stored(session: Session, feed: Feed) -> None:
    rows = [
        row(
            "u1",
            "p1",
            event_id="e1",
            event_type="rating",
            value=4.5,
            session_id="session\twith a tab",
            device_type="mobile",
            context={"page": "home", "query": 'red "shoes"\nsize \\ 42', "basket": ["🛒", 2], "ab": {"arm": "b"}},
            recommendation_id="rec-1",
        ),
        row("ü2", "p/2", event_type="purchase", occurred_at=datetime(2023, 1, 2, 3, 4, 5)),
    ]

    assert store_rows(session=session, rows=feed(rows)) == 2

    assert stored_rows(session) == rows


def test_unknown_users_and_products_are_created_bare(session: Session, feed: Feed) -> None:
    rows = [row("u1", "p1"), row("u1", "p2"), row("u2", "p1"), row("u2", "p2")]

    store_rows(session=session, rows=feed(rows))

    users = session.scalars(select(User).order_by(User.external_id)).all()
    assert [(user.external_id, user.attributes, user.account_id) for user in users] == [
        ("u1", {}, None),
        ("u2", {}, None),
    ]
    products = session.scalars(select(Product).order_by(Product.external_id)).all()
    assert [product.external_id for product in products] == ["p1", "p2"]
    for product in products:
        assert (product.name, product.store_id, product.category, product.price) == (None, None, None, None)
        assert (product.attributes, product.views_count, product.is_active) == ({}, 0, True)
        assert product.created_at is not None


def test_known_users_and_products_are_reused(session: Session, feed: Feed) -> None:
    user = User(external_id="u1", attributes={"tier": "gold"})
    product = Product(external_id="p1", name="Lamp", category="Lighting", attributes={})
    session.add_all([user, product])
    session.flush()

    store_rows(session=session, rows=feed([row("u1", "p1"), row("u1", "p1", event_type="purchase")]))

    assert (count(session, User), count(session, Product)) == (1, 1)
    events = session.scalars(select(Event)).all()
    assert {(event.user_id, event.product_id) for event in events} == {(user.id, product.id)}
    session.refresh(user)
    session.refresh(product)
    assert user.attributes == {"tier": "gold"}
    assert (product.name, product.category) == ("Lamp", "Lighting")


def test_an_event_id_is_stored_once(session: Session, feed: Feed) -> None:
    assert store_rows(session=session, rows=feed([row(event_id="e1"), row(event_id="e2")])) == 2

    again = [
        row(event_id="e1", event_type="purchase"),  # already stored
        row(event_id="e3"),
        row(event_id="e3", event_type="click"),  # twice in this feed
        row(event_id="e2"),
    ]
    assert store_rows(session=session, rows=feed(again)) == 1

    stored = {stored.event_id: stored.event_type for stored in stored_rows(session)}
    assert stored.keys() == {"e1", "e2", "e3"}
    assert stored["e1"] == "view", "a resent event keeps its first version"
    # Which copy of an id repeated within one feed is kept is left to the backend's plan.
    assert stored["e3"] in ("view", "click")


def test_events_without_event_id_are_never_deduplicated(session: Session, feed: Feed) -> None:
    same = [row(), row()]

    assert store_rows(session=session, rows=feed(same)) == 2
    assert store_rows(session=session, rows=feed(same)) == 2

    assert count(session, Event) == 4


def test_context_is_stored_as_a_json_document(session: Session, feed: Feed) -> None:
    rows = [row(context={"page": "home", "slot": 3}), row(context={"page": "cart"}), row(context=None)]

    store_rows(session=session, rows=feed(rows))

    # A JSON path reaches into it on every backend: a document, not a quoted string.
    on_home = select(func.count()).where(Event.context["page"].as_string() == "home")
    assert session.scalar(on_home) == 1
    assert [stored.context for stored in stored_rows(session)] == [{"page": "home", "slot": 3}, {"page": "cart"}, None]


def test_dataset_id_is_set_when_passed(session: Session, feed: Feed) -> None:
    dataset = Dataset(dataset_type=DatasetType.interactions, filename="interactions.csv")
    session.add(dataset)
    session.flush()

    store_rows(session=session, rows=feed([row("u1"), row("u2")]), dataset_id=dataset.id)
    store_rows(session=session, rows=feed([row("u3")]))

    session.expire_all()
    assert session.scalars(select(Event.dataset_id).order_by(Event.id)).all() == [dataset.id, dataset.id, None]


def test_nothing_to_store(session: Session, feed: Feed) -> None:
    assert store_rows(session=session, rows=feed([])) == 0
    assert count(session, Event) == 0


def test_a_list_over_small_batch_stores_like_a_short_one(session: Session) -> None:
    rows = [row(f"u{i % 7}", f"p{i % 11}", event_id=f"e{i % (SMALL_BATCH + 20)}") for i in range(SMALL_BATCH + 40)]

    assert store_rows(session=session, rows=rows) == SMALL_BATCH + 20

    assert (count(session, User), count(session, Product), count(session, Event)) == (7, 11, SMALL_BATCH + 20)


@pytest.mark.parametrize(
    ("make_rows", "bulk_path"),
    [
        (lambda: [row()] * SMALL_BATCH, False),
        (lambda: tuple([row()] * 3), False),
        (lambda: [row()] * (SMALL_BATCH + 1), True),
        (lambda: as_generator([row()]), True),
    ],
    ids=["list at SMALL_BATCH", "short tuple", "list over SMALL_BATCH", "generator"],
)
def test_the_path_is_chosen_by_size(
    session: Session, monkeypatch: pytest.MonkeyPatch, make_rows: Callable[[], Iterable[EventRow]], bulk_path: bool
) -> None:
    calls = []
    store_many = service._store_many

    def recording_store_many(*args: Any) -> int:
        calls.append(args)
        return store_many(*args)

    monkeypatch.setattr(service, "_store_many", recording_store_many)

    store_rows(session=session, rows=make_rows())

    assert bool(calls) == bulk_path


# ingest


def event(user_id: str = "u1", product_id: str = "p1", **fields: Any) -> EventIn:
    return EventIn(user_id=user_id, product_id=product_id, **fields)


def test_ingest_counts_received_stored_and_duplicates(session: Session) -> None:
    ingest(session=session, events=[event(event_id="e1")], source="test", max_batch=10)

    events = [event(event_id="e1"), event(event_id="e2"), event(event_id="e2"), event()]
    result = ingest(session=session, events=events, source="test", max_batch=10)

    assert (result.received, result.stored, result.duplicates) == (4, 2, 2)


def test_ingest_stamps_events_without_timestamp_with_one_time(session: Session) -> None:
    ingest(session=session, events=[event("u1"), event("u2")], source="test", max_batch=10)

    assert len({stored.occurred_at for stored in stored_rows(session)}) == 1


def test_ingest_fills_the_category_of_products_without_one(session: Session) -> None:
    session.add(Product(external_id="bare", attributes={}))
    session.flush()

    ingest(
        session=session,
        events=[event(product_id="new"), event(product_id="bare")],
        source="test",
        max_batch=10,
        categories={"new": "Electronics", "bare": "Garden"},
    )

    session.expire_all()
    assert (category_of(session, "new"), category_of(session, "bare")) == ("Electronics", "Garden")


def test_ingest_keeps_an_existing_category(session: Session) -> None:
    session.add(Product(external_id="p1", category="Phones", attributes={}))
    session.flush()

    ingest(session=session, events=[event()], source="test", max_batch=10, categories={"p1": "Electronics"})

    session.expire_all()
    assert category_of(session, "p1") == "Phones"


def test_ingest_without_categories_leaves_them_empty(session: Session) -> None:
    ingest(session=session, events=[event()], source="test", max_batch=10)

    assert category_of(session, "p1") is None


def test_ingest_refuses_an_empty_batch(session: Session) -> None:
    with pytest.raises(InvalidArgument, match="at least one event"):
        ingest(session=session, events=[], source="test", max_batch=10)


def test_ingest_refuses_a_batch_over_the_limit(session: Session) -> None:
    with pytest.raises(InvalidArgument, match="at most 2 events"):
        ingest(session=session, events=[event(), event(), event()], source="test", max_batch=2)
    assert count(session, Event) == 0


def test_a_large_load_brings_the_planners_statistics_up_to_date(session: Session) -> None:
    # PostgreSQL plans on the tables' figures of before the load until they are analysed: the
    # events since an id, read every second by every server, were a full scan until then.
    rows = [row(f"u{n % 500}", f"p{n % 300}") for n in range(bulk.ANALYZE_AFTER_ROWS)]

    assert store_rows(session=session, rows=as_generator(rows)) == len(rows)
    if session.get_bind().dialect.name == "postgresql":
        analysed = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'events'"))
        assert analysed >= len(rows)
