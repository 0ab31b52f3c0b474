"""import_csv against a real database: what each dataset type stores, counts and reports."""

import io
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.accounts.callers import Caller
from relevo.accounts.models import Account, Role
from relevo.accounts.scopes import ALL_SCOPES
from relevo.catalog import service as catalog_service
from relevo.catalog.models import Product, Store
from relevo.catalog.schemas import StoreCreate
from relevo.core.db import utcnow
from relevo.core.errors import InvalidArgument, NotFound
from relevo.datasets import service
from relevo.datasets.models import Dataset, DatasetStatus, DatasetType
from relevo.events import service as events_service
from relevo.events.models import Event
from relevo.events.schemas import EventIn
from relevo.storage import bulk
from relevo.users.models import User
from tests.datasets.csv_files import csv_bytes, csv_stream


def import_bytes(session: Session, content: bytes, dataset_type: DatasetType = DatasetType.interactions) -> Dataset:
    return service.import_csv(
        session=session, dataset_type=dataset_type, stream=io.BytesIO(content), filename="data.csv", caller=None
    )


def import_lines(session: Session, *lines: str, dataset_type: DatasetType = DatasetType.interactions) -> Dataset:
    return import_bytes(session, csv_bytes(*lines), dataset_type)


def stored_events(session: Session) -> list[dict[str, Any]]:
    """Every event with the shop's user and product ids, oldest first, then by product, user and event id
    (PostgreSQL stores the rows of one file in no particular order)."""
    query = (
        select(Event, User.external_id, Product.external_id)
        .join(User, User.id == Event.user_id)
        .join(Product, Product.id == Event.product_id)
        .order_by(Event.occurred_at, Product.external_id, User.external_id, Event.event_id)
    )
    return [
        {
            "user_id": user_id,
            "product_id": product_id,
            "event_type": event.event_type,
            "occurred_at": event.occurred_at,
            "value": event.value,
            "event_id": event.event_id,
            "session_id": event.session_id,
            "context": event.context,
            "dataset_id": event.dataset_id,
        }
        for event, user_id, product_id in session.execute(query)
    ]


def product(session: Session, external_id: str) -> Product:
    session.expire_all()
    found = catalog_service.get_by_external_id(session=session, external_id=external_id)
    assert found is not None, f"product {external_id} was not stored"
    return found


def user_attributes(session: Session, external_id: str) -> dict[str, Any]:
    session.expire_all()
    return session.scalar(select(User.attributes).where(User.external_id == external_id))


def counts(dataset: Dataset) -> tuple[int, int, int]:
    return dataset.rows_imported, dataset.rows_rejected, dataset.rows_duplicate


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def store(session: Session, make_account: Callable[..., Account]) -> Store:
    owner = make_account(Role.owner)
    return catalog_service.create_store(session=session, caller=Caller.of(owner), data=StoreCreate(name="Corner Shop"))


# Interactions


def test_interactions_are_stored_with_their_users_products_and_dataset(session: Session) -> None:
    dataset = import_lines(
        session,
        "user_id,product_id,event_type,timestamp,value,session_id",
        "u1,p1,view,2024-03-01T12:00:00Z,,s1",
        "u1,p2,purchase,2024-03-01T12:05:00Z,19.99,s1",
    )
    assert dataset.dataset_type == DatasetType.interactions
    assert dataset.status == DatasetStatus.imported
    assert dataset.completed_at is not None
    assert counts(dataset) == (2, 0, 0)
    assert dataset.rejected_lines == []
    assert stored_events(session) == [
        {
            "user_id": "u1",
            "product_id": "p1",
            "event_type": "view",
            "occurred_at": datetime(2024, 3, 1, 12),
            "value": None,
            "event_id": None,
            "session_id": "s1",
            "context": None,
            "dataset_id": dataset.id,
        },
        {
            "user_id": "u1",
            "product_id": "p2",
            "event_type": "purchase",
            "occurred_at": datetime(2024, 3, 1, 12, 5),
            "value": 19.99,
            "event_id": None,
            "session_id": "s1",
            "context": None,
            "dataset_id": dataset.id,
        },
    ]


def test_columns_come_in_any_order_and_any_case(session: Session) -> None:
    import_lines(session, "Timestamp,PRODUCT_ID,Event_Type,User_ID", "2024-03-01T12:00:00Z,p1,Click,u1")
    [event] = stored_events(session)
    assert (event["user_id"], event["product_id"], event["event_type"]) == ("u1", "p1", "click")
    assert event["occurred_at"] == datetime(2024, 3, 1, 12)


def test_event_type_defaults_to_view_and_timestamp_to_the_import_time(session: Session) -> None:
    before = utcnow()
    import_lines(session, "user_id,product_id,event_type", "u1,p1,", "u1,p2,add_to_cart")
    after = utcnow()
    events = stored_events(session)
    assert [event["event_type"] for event in events] == ["view", "add_to_cart"]
    assert all(before <= event["occurred_at"] <= after for event in events)


def test_timestamps_in_every_accepted_form_are_stored_as_utc(session: Session) -> None:
    import_lines(
        session,
        "user_id,product_id,timestamp",
        "u1,p1,2024-03-01T12:00:00Z",
        "u1,p2,2024-03-01T14:00:00+02:00",
        "u1,p3,2024-03-01T12:00:00",
        "u1,p4,1709294400",
    )
    assert [event["occurred_at"] for event in stored_events(session)] == [datetime(2024, 3, 1, 12)] * 4


def test_extra_columns_are_kept_in_the_event_context(session: Session) -> None:
    import_lines(session, "user_id,product_id,Device,page", "u1,p1,mobile,home", "u1,p2,,search", "u1,p3,,")
    assert [event["context"] for event in stored_events(session)] == [
        {"device": "mobile", "page": "home"},
        {"page": "search"},
        None,
    ]


def test_unknown_users_and_products_are_created_once_and_known_ones_reused(session: Session) -> None:
    import_lines(session, "user_id,product_id", "u1,p1", "u2,p1", "u1,p2")
    import_lines(session, "user_id,product_id", "u1,p1", "u3,p3")
    assert session.scalars(select(User.external_id).order_by(User.external_id)).all() == ["u1", "u2", "u3"]
    assert session.scalars(select(Product.external_id).order_by(Product.external_id)).all() == ["p1", "p2", "p3"]
    bare = product(session, "p3")
    assert (bare.name, bare.category, bare.price, bare.is_active) == (None, None, None, True)


def test_event_ids_repeated_in_the_file_are_stored_once_and_counted_as_duplicates(session: Session) -> None:
    dataset = import_lines(
        session,
        "user_id,product_id,event_id",
        "u1,p1,e1",
        "u1,p2,e2",
        "u1,p1,e1",
        "u2,p3,",
        "u2,p3,",
        "u1,p2,e2",
    )
    assert counts(dataset) == (4, 0, 2)
    assert sorted(event["event_id"] or "" for event in stored_events(session)) == ["", "", "e1", "e2"]


def test_event_ids_already_stored_are_not_stored_again(session: Session) -> None:
    events_service.ingest(
        session=session, events=[EventIn(user_id="u1", product_id="p1", event_id="e1")], source="test", max_batch=10
    )
    first = import_lines(session, "user_id,product_id,event_id", "u1,p1,e1", "u1,p1,e2")
    second = import_lines(session, "user_id,product_id,event_id", "u1,p1,e1", "u1,p1,e2", "u1,p1,e3")
    assert counts(first) == (1, 0, 1)
    assert counts(second) == (1, 0, 2)
    assert [event["event_id"] for event in stored_events(session)] == ["e1", "e2", "e3"]
    assert [event["dataset_id"] for event in stored_events(session)] == [None, first.id, second.id]


@pytest.mark.parametrize(
    ("bad_row", "reason_starts"),
    [
        (",p1,view,2024-03-01T12:00:00Z,", "user_id:"),
        ("u1,,view,2024-03-01T12:00:00Z,", "product_id:"),
        ("u1,p1,view,not-a-date,", "timestamp:"),
        ("u1,p1,view,2999-01-01T00:00:00Z,", "timestamp:"),
        ("u1,p1,rating,2024-03-01T12:00:00Z,five", "value:"),
        ("u1,p1,add to cart,2024-03-01T12:00:00Z,", "event_type:"),
        ("u1,p1,view", "has 3 fields"),
        ("u1,p1,view,2024-03-01T12:00:00Z,,extra", "has 6 fields"),
    ],
)
def test_a_bad_row_is_rejected_by_line_and_the_good_rows_imported(
    session: Session, bad_row: str, reason_starts: str
) -> None:
    dataset = import_lines(
        session,
        "user_id,product_id,event_type,timestamp,value",
        "u1,p1,view,2024-03-01T12:00:00Z,",
        bad_row,
        "u2,p2,purchase,2024-03-01T12:00:00Z,5",
    )
    assert counts(dataset) == (2, 1, 0)
    [rejected] = dataset.rejected_lines
    assert rejected["line"] == 3
    assert rejected["reason"].startswith(reason_starts), rejected["reason"]
    assert [event["user_id"] for event in stored_events(session)] == ["u1", "u2"]


def test_rejected_lines_are_physical_lines_counting_blank_and_quoted_newlines(session: Session) -> None:
    dataset = import_lines(
        session,
        "user_id,product_id,note",
        'u1,p1,"a note',
        'over two lines"',
        "",
        ",p2,first bad row starts on line 5",
        'u3,,"second bad row',
        'starts on line 6"',
        "u4,p4,fine",
    )
    assert counts(dataset) == (2, 2, 0)
    assert [line["line"] for line in dataset.rejected_lines] == [5, 6]
    assert [line["reason"].split(":")[0] for line in dataset.rejected_lines] == ["user_id", "product_id"]
    assert stored_events(session)[0]["context"] == {"note": "a note\nover two lines"}


def test_only_the_first_rejections_are_reported_but_all_are_counted(session: Session) -> None:
    bad_rows = [f",p{number}" for number in range(service.REPORTED_REJECTIONS + 5)]
    dataset = import_lines(session, "user_id,product_id", "u1,p1", *bad_rows, "u2,p2")
    assert counts(dataset) == (2, service.REPORTED_REJECTIONS + 5, 0)
    assert len(dataset.rejected_lines) == service.REPORTED_REJECTIONS
    assert dataset.rejected_lines[0] == {"line": 3, "reason": "user_id: is empty"}
    assert dataset.rejected_lines[-1]["line"] == service.REPORTED_REJECTIONS + 2


def test_a_file_of_only_bad_rows_imports_nothing(session: Session) -> None:
    dataset = import_lines(session, "user_id,product_id", ",p1", "u1,")
    assert counts(dataset) == (0, 2, 0)
    assert dataset.status == DatasetStatus.imported
    assert count(session, Event) == 0


def test_a_row_with_a_nul_character_is_rejected_on_every_backend(session: Session) -> None:
    dataset = import_bytes(session, b"user_id,product_id,note\nu1,p1,a\x00b\nu2,p2,fine\n")
    assert counts(dataset) == (1, 1, 0)
    assert dataset.rejected_lines == [{"line": 2, "reason": "note: contains a NUL character"}]


def test_a_larger_file_is_counted_exactly(session: Session) -> None:
    lines = [f"u{number % 37},p{number % 101},view,,e{number % 450}" for number in range(600)]
    lines[10] = "u1,,view,,"
    dataset = import_lines(session, "user_id,product_id,event_type,timestamp,event_id", *lines)
    assert counts(dataset) == (450, 1, 149)
    assert count(session, Event) == 450


# Items


def test_items_are_stored_with_every_field(session: Session, store: Store) -> None:
    dataset = import_lines(
        session,
        "product_id,name,category,price,currency,description,quantity,store_id",
        f"sku-1,Desk Lamp,Home > Furniture > Lamps,19.999,eur,Warm light,12,{store.id}",
        dataset_type=DatasetType.items,
    )
    assert counts(dataset) == (1, 0, 0)
    lamp = product(session, "sku-1")
    assert (lamp.name, lamp.category, lamp.description) == ("Desk Lamp", "Home > Furniture > Lamps", "Warm light")
    assert (lamp.price, lamp.currency, lamp.quantity, lamp.store_id) == (Decimal("20.00"), "EUR", 12, store.id)
    assert (lamp.attributes, lamp.views_count, lamp.is_active) == ({}, 0, True)


def test_item_extra_columns_become_attributes_merged_on_reimport(session: Session) -> None:
    import_lines(session, "product_id,name,Color,size", "sku-1,Lamp,blue,L", dataset_type=DatasetType.items)
    import_lines(session, "product_id,name,color,brand", "sku-1,Lamp,red,Lumen", dataset_type=DatasetType.items)
    assert product(session, "sku-1").attributes == {"color": "red", "size": "L", "brand": "Lumen"}


def test_item_reimport_updates_given_fields_and_keeps_empty_ones(session: Session, store: Store) -> None:
    columns = "product_id,name,category,price,currency,description,quantity,store_id"
    import_lines(session, columns, f"sku-1,Lamp,Lamps,10,USD,Old text,5,{store.id}", dataset_type=DatasetType.items)
    import_lines(session, columns, "sku-1,Desk Lamp,,12.50,,,0,", dataset_type=DatasetType.items)
    lamp = product(session, "sku-1")
    assert (lamp.name, lamp.category, lamp.price, lamp.currency) == ("Desk Lamp", "Lamps", Decimal("12.50"), "USD")
    assert (lamp.description, lamp.quantity, lamp.store_id) == ("Old text", 0, store.id)


def test_item_named_twice_in_a_file_takes_the_last_row(session: Session) -> None:
    dataset = import_lines(
        session,
        "product_id,name,price,shade",
        "sku-1,First,1,red",
        "sku-2,Other,2,",
        "sku-1,Last,3,",
        dataset_type=DatasetType.items,
    )
    assert dataset.rows_rejected == 0
    assert count(session, Product) == 2
    lamp = product(session, "sku-1")
    assert (lamp.name, lamp.price, lamp.attributes) == ("Last", Decimal("3.00"), {})


def test_items_fill_in_products_first_seen_in_events(session: Session) -> None:
    import_lines(session, "user_id,product_id", "u1,sku-1")
    import_lines(session, "product_id,name,category", "sku-1,Lamp,Lamps", dataset_type=DatasetType.items)
    assert count(session, Product) == 1
    assert (product(session, "sku-1").name, product(session, "sku-1").category) == ("Lamp", "Lamps")
    assert stored_events(session)[0]["product_id"] == "sku-1"


@pytest.mark.parametrize(
    ("bad_row", "field"),
    [
        (",Nameless id,", "product_id"),
        ("sku-9,,", "name"),
        ("sku-9,Lamp,-0.01", "price"),
        ("sku-9,Lamp,cheap", "price"),
        ("sku-9,Lamp,1,Euro", "currency"),
        ("sku-9,Lamp,1,USD,-2", "quantity"),
        ("sku-9,Lamp,1,USD,2,999999", "store_id"),
    ],
)
def test_a_bad_item_is_rejected_naming_the_field(session: Session, bad_row: str, field: str) -> None:
    padded = bad_row + "," * (5 - bad_row.count(","))
    dataset = import_lines(
        session,
        "product_id,name,price,currency,quantity,store_id",
        "sku-1,Lamp,1,USD,2,",
        padded,
        dataset_type=DatasetType.items,
    )
    assert counts(dataset) == (1, 1, 0)
    assert dataset.rejected_lines[0]["line"] == 3
    assert dataset.rejected_lines[0]["reason"].startswith(f"{field}:"), dataset.rejected_lines
    assert session.scalars(select(Product.external_id)).all() == ["sku-1"]


# Users


def test_users_are_stored_with_attributes_merged_on_reimport(session: Session) -> None:
    first = import_lines(session, "user_id,Segment,age", "u1,vip,40", "u2,new,", dataset_type=DatasetType.users)
    second = import_lines(session, "user_id,segment,city", "u1,regular,Oslo", dataset_type=DatasetType.users)
    assert counts(first) == (2, 0, 0)
    assert counts(second) == (1, 0, 0)
    assert user_attributes(session, "u1") == {"segment": "regular", "age": "40", "city": "Oslo"}
    assert user_attributes(session, "u2") == {"segment": "new"}


def test_users_first_seen_in_events_get_their_attributes(session: Session) -> None:
    import_lines(session, "user_id,product_id", "u1,p1")
    import_lines(session, "user_id,tier", "u1,gold", dataset_type=DatasetType.users)
    assert count(session, User) == 1
    assert user_attributes(session, "u1") == {"tier": "gold"}


def test_a_user_without_an_id_is_rejected(session: Session) -> None:
    dataset = import_lines(session, "user_id,tier", "u1,gold", ",silver", dataset_type=DatasetType.users)
    assert counts(dataset) == (1, 1, 0)
    assert dataset.rejected_lines == [{"line": 3, "reason": "user_id: is empty"}]


# Whole files


def test_a_utf8_byte_order_mark_is_accepted(session: Session) -> None:
    dataset = import_bytes(session, "\ufeffuser_id,product_id\nü1,p1\n".encode())
    assert counts(dataset) == (1, 0, 0)
    assert stored_events(session)[0]["user_id"] == "ü1"


def test_windows_line_endings_are_accepted(session: Session) -> None:
    dataset = import_bytes(session, b"user_id,product_id\r\nu1,p1\r\n,p2\r\n")
    assert counts(dataset) == (1, 1, 0)
    assert dataset.rejected_lines[0]["line"] == 3


@pytest.mark.parametrize(
    ("content", "dataset_type", "words"),
    [
        (b"", DatasetType.interactions, ["empty"]),
        (csv_bytes("user_id,item_id", "u1,p1"), DatasetType.interactions, ["missing: product_id"]),
        (csv_bytes("product_id,price", "p1,2"), DatasetType.items, ["missing: name"]),
        (csv_bytes("id,age", "u1,3"), DatasetType.users, ["missing: user_id"]),
        (csv_bytes("user_id,product_id,User_Id", "u1,p1,u1"), DatasetType.interactions, ["twice", "user_id"]),
        (b"user_id,product_id\nu\xff\xfe1,p1\n", DatasetType.interactions, ["UTF-8"]),
        ("user_id,product_id\nu1,p1\n".encode("utf-16"), DatasetType.interactions, ["UTF-8"]),
    ],
)
def test_unusable_files_are_refused_as_a_whole(
    session: Session, content: bytes, dataset_type: DatasetType, words: list[str]
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        import_bytes(session, content, dataset_type)
    assert caught.value.details.startswith("file:")
    for word in words:
        assert word in caught.value.details


def test_bytes_that_are_not_utf8_deep_in_a_file_refuse_it(session: Session) -> None:
    content = csv_bytes("user_id,product_id", *(f"u{n},p{n}" for n in range(3000))) + b"u\xff,p\n"
    with pytest.raises(InvalidArgument) as caught:
        import_bytes(session, content)
    assert "UTF-8" in caught.value.details


def test_a_field_over_the_csv_size_limit_refuses_the_file(session: Session) -> None:
    with pytest.raises(InvalidArgument) as caught:
        import_bytes(session, csv_bytes("user_id,product_id", "u1,p1", "u2," + "x" * 200_000))
    assert caught.value.details.startswith("file: line 3:")


# Reading datasets back


# An admin, who sees every dataset (owners' own are tested through the API).
ADMIN = Caller(id=0, username="admin", role=Role.admin, scopes=ALL_SCOPES)


def test_datasets_are_listed_newest_first_page_by_page(session: Session) -> None:
    made = [import_lines(session, "user_id,product_id", f"u{n},p{n}") for n in range(3)]
    page, cursor = service.list_datasets(session=session, caller=ADMIN, limit=2, cursor=None)
    assert [dataset.id for dataset in page] == [made[2].id, made[1].id]
    rest, end = service.list_datasets(session=session, caller=ADMIN, limit=2, cursor=cursor)
    assert ([dataset.id for dataset in rest], end) == ([made[0].id], None)


def test_get_or_raise_finds_a_dataset_or_says_it_does_not_exist(session: Session) -> None:
    dataset = import_lines(session, "user_id,product_id", "u1,p1")
    assert service.get_or_raise(session=session, caller=ADMIN, dataset_id=dataset.id) is dataset
    with pytest.raises(NotFound, match=f"dataset {dataset.id + 1} does not exist"):
        service.get_or_raise(session=session, caller=ADMIN, dataset_id=dataset.id + 1)


def test_the_file_name_keeps_only_its_last_part(session: Session) -> None:
    for given, kept in [("../../etc/passwd.csv", "passwd.csv"), ("C:\\data\\x.csv", "x.csv"), ("", "upload.csv")]:
        dataset = service.import_csv(
            session=session,
            dataset_type=DatasetType.interactions,
            stream=csv_stream("user_id,product_id"),
            filename=given,
            caller=None,
            allow_duplicate=True,  # the same file each time
        )
        assert dataset.filename == kept


def test_progress_is_reported_in_bytes_read(session: Session) -> None:
    content = csv_bytes("user_id,product_id", "u1,p1", "u2,p2")
    seen: list[int] = []
    service.import_csv(
        session=session,
        dataset_type=DatasetType.interactions,
        stream=io.BytesIO(content),
        filename="x.csv",
        caller=None,
        progress=seen.append,
    )
    assert seen[-1] == len(content)


def test_recent_timestamps_just_ahead_of_the_clock_are_accepted(session: Session) -> None:
    soon = (utcnow() + timedelta(hours=1)).replace(microsecond=0)
    dataset = import_lines(session, "user_id,product_id,timestamp", f"u1,p1,{soon.isoformat()}Z")
    assert counts(dataset) == (1, 0, 0)
    assert stored_events(session)[0]["occurred_at"] == soon


def test_a_file_larger_than_one_storage_chunk_is_counted_exactly(session: Session) -> None:
    """Ids resolved, duplicates skipped and lines numbered across the chunks a big import is stored in."""
    rows = bulk.CHUNK_ROWS + 10_000
    lines = [f"u{n % 500},p{n % 300}," for n in range(rows)]
    for n in range(10):
        lines[n] += f"e{n}"
        lines[rows - 1 - n] += f"e{n}"
    lines[bulk.CHUNK_ROWS + 5] = ",p1,"
    dataset = import_lines(session, "user_id,product_id,event_id", *lines)
    assert counts(dataset) == (rows - 1 - 10, 1, 10)
    assert dataset.rejected_lines == [{"line": bulk.CHUNK_ROWS + 7, "reason": "user_id: is empty"}]
    assert [count(session, Event), count(session, User), count(session, Product)] == [rows - 11, 500, 300]


def test_items_in_a_currency_without_a_rate_are_rejected(session: Session) -> None:
    dataset = service.import_csv(
        session=session,
        dataset_type=DatasetType.items,
        stream=csv_stream("product_id,name,price,currency", "a,Lamp,10.00,EUR", "b,Desk,99.00,XYZ"),
        filename="items.csv",
        caller=None,
        currencies={"USD", "EUR"},
    )
    assert counts(dataset) == (1, 1, 0)
    assert dataset.rejected_lines == [{"line": 3, "reason": "currency: no exchange rate for 'XYZ'"}]


def test_listing_an_item_again_brings_a_deleted_product_back(session: Session) -> None:
    import_lines(session, "product_id,name", "lamp,Lamp", dataset_type=DatasetType.items)
    product(session, "lamp").deleted_at = utcnow()
    session.flush()
    import_lines(session, "product_id,name", "lamp,Desk lamp", dataset_type=DatasetType.items)
    session.expire_all()
    assert (product(session, "lamp").deleted_at, product(session, "lamp").name) == (None, "Desk lamp")
