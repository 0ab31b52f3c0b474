"""CSV rows to storable rows: headers, timestamps and the per-type row parsers (no database)."""

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from relevo.core.errors import InvalidArgument
from relevo.datasets.models import DatasetType
from relevo.datasets.rows import (
    MAX_ID_LENGTH,
    Header,
    RowRejected,
    interaction_parser,
    item_parser,
    parse_timestamp,
    user_parser,
)

NOW = datetime(2024, 6, 1, 12, 0, 0)
LATEST = NOW + timedelta(days=1)
ITEM_COLUMNS = "product_id,name,category,price,currency,description,quantity,store_id"


def header(columns: str, dataset_type: DatasetType = DatasetType.interactions) -> Header:
    return Header(columns.split(","), dataset_type)


def parse_interaction(columns: str, row: str):
    return interaction_parser(header(columns), NOW)(row.split(","))


def parse_item(row: str, columns: str = ITEM_COLUMNS, store_ids: frozenset[int] = frozenset({7})):
    return item_parser(header(columns, DatasetType.items), set(store_ids))(row.split(","))


def rejection(parse, *args) -> str:
    with pytest.raises(RowRejected) as caught:
        parse(*args)
    return str(caught.value)


# Header


def test_header_finds_columns_in_any_order_whatever_their_case() -> None:
    found = header(" Timestamp ,PRODUCT_ID,User_Id")
    assert found.position == {"timestamp": 0, "product_id": 1, "user_id": 2}
    assert found.width == 3
    assert found.extras == []


def test_header_keeps_unknown_columns_as_extras() -> None:
    found = header("user_id,product_id,Device,page")
    assert found.extras == [("device", 2), ("page", 3)]
    assert found.attributes(["u1", "p1", "mobile", ""]) == {"device": "mobile"}


@pytest.mark.parametrize(
    ("dataset_type", "columns", "missing"),
    [
        (DatasetType.interactions, "user_id,event_type", "product_id"),
        (DatasetType.interactions, "product_id", "user_id"),
        (DatasetType.items, "product_id,price", "name"),
        (DatasetType.users, "id,age", "user_id"),
    ],
)
def test_header_without_a_required_column_is_refused_naming_it(
    dataset_type: DatasetType, columns: str, missing: str
) -> None:
    with pytest.raises(InvalidArgument) as caught:
        header(columns, dataset_type)
    assert caught.value.details.startswith("file:")
    assert f"missing: {missing}" in caught.value.details


def test_header_naming_a_column_twice_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        header("user_id,product_id,USER_ID")
    assert "twice" in caught.value.details
    assert "user_id" in caught.value.details


def test_header_of_empty_names_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        header(",")
    assert "header" in caught.value.details


# Timestamps


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T12:00:00Z", datetime(2024, 3, 1, 12)),
        ("2024-03-01T14:00:00+02:00", datetime(2024, 3, 1, 12)),
        ("2024-03-01T07:30:00-04:30", datetime(2024, 3, 1, 12)),
        ("2024-03-01T12:00:00", datetime(2024, 3, 1, 12)),
        ("2024-03-01 12:00:00.250000", datetime(2024, 3, 1, 12, 0, 0, 250_000)),
        ("2024-03-01", datetime(2024, 3, 1)),
        ("1709294400", datetime(2024, 3, 1, 12)),
        ("1709294400.5", datetime(2024, 3, 1, 12, 0, 0, 500_000)),
    ],
)
def test_timestamps_are_iso_8601_or_unix_seconds_as_naive_utc(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text, LATEST)
    assert parsed == expected
    assert parsed.tzinfo is None


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "01/03/2024", "-5", "1e9", "12:00"])
def test_unreadable_timestamps_are_rejected_naming_the_field(text: str) -> None:
    reason = rejection(parse_timestamp, text, LATEST)
    assert reason.startswith("timestamp:")
    assert repr(text) in reason


def test_timestamps_more_than_a_day_ahead_are_rejected() -> None:
    assert parse_timestamp((NOW + timedelta(hours=23)).isoformat(), LATEST) == NOW + timedelta(hours=23)
    reason = rejection(parse_timestamp, "2999-01-01T00:00:00Z", LATEST)
    assert reason.startswith("timestamp:")
    assert "future" in reason


# Interactions


def test_interaction_defaults_to_a_view_now_without_value_or_context() -> None:
    row = parse_interaction("user_id,product_id", "u1,p1")
    assert (row.user_id, row.product_id, row.event_type) == ("u1", "p1", "view")
    assert row.occurred_at == NOW
    assert (row.value, row.event_id, row.session_id, row.context) == (None, None, None, None)


def test_interaction_reads_every_known_column() -> None:
    row = parse_interaction(
        "session_id,event_id,value,timestamp,event_type,product_id,user_id",
        "s-9,e-1,4.5,2024-05-01T10:00:00Z,Add_To_Cart, p1 , u1 ",
    )
    assert (row.user_id, row.product_id, row.event_type) == ("u1", "p1", "add_to_cart")
    assert row.occurred_at == datetime(2024, 5, 1, 10)
    assert (row.value, row.event_id, row.session_id) == (4.5, "e-1", "s-9")


def test_interaction_keeps_extra_columns_as_context() -> None:
    row = parse_interaction("user_id,product_id,device,page", "u1,p1,mobile,")
    assert row.context == {"device": "mobile"}
    assert parse_interaction("user_id,product_id,device", "u1,p1,").context is None


def test_interaction_accepts_custom_event_types() -> None:
    assert parse_interaction("user_id,product_id,event_type", "u1,p1,wishlist_add").event_type == "wishlist_add"


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (",p1,view,,", "user_id"),
        ("  ,p1,view,,", "user_id"),
        ("u1,,view,,", "product_id"),
        (f"{'u' * (MAX_ID_LENGTH + 1)},p1,view,,", "user_id"),
        ("u1,p1,add to cart,,", "event_type"),
        ("u1,p1,9lives,,", "event_type"),
        ("u1,p1,view,last tuesday,", "timestamp"),
        ("u1,p1,view,2999-01-01T00:00:00,", "timestamp"),
        ("u1,p1,rating,,five", "value"),
        ("u1,p1,rating,,nan", "value"),
        ("u1,p1,rating,,1e400", "value"),
    ],
)
def test_bad_interactions_are_rejected_naming_the_field(row: str, field: str) -> None:
    reason = rejection(parse_interaction, "user_id,product_id,event_type,timestamp,value", row)
    assert reason.startswith(f"{field}:")


@pytest.mark.parametrize("row", ["u1", "u1,p1,view", "u1,p1,view,,,"])
def test_rows_with_the_wrong_number_of_fields_are_rejected(row: str) -> None:
    reason = rejection(parse_interaction, "user_id,product_id,event_type,timestamp,value", row)
    assert f"has {len(row.split(','))} fields" in reason
    assert "header has 5" in reason


def test_fields_with_a_nul_character_are_rejected_naming_the_column() -> None:
    reason = rejection(parse_interaction, "user_id,product_id,note", "u1,p1,a\x00b")
    assert reason.startswith("note:")
    assert "NUL" in reason


def test_header_with_a_nul_character_is_refused() -> None:
    with pytest.raises(InvalidArgument) as caught:
        header("user_id,product_id,co\x00lor")
    assert "NUL" in caught.value.details


# Items


def test_item_row_holds_every_field_ready_to_store() -> None:
    row = parse_item("sku-1,Desk Lamp,Home > Lamps,19.5,eur,Bright,12,7")
    assert row == ("sku-1", "Desk Lamp", "Home > Lamps", Decimal("19.50"), "EUR", "Bright", 12, 7, "{}")


def test_item_fields_left_empty_are_not_given() -> None:
    row = parse_item("sku-1,Desk Lamp,,,,,,")
    assert row == ("sku-1", "Desk Lamp", None, None, None, None, None, None, "{}")


def test_item_extra_columns_become_attributes() -> None:
    row = parse_item("sku-1,Lamp,Blue,", columns="product_id,name,Color,size")
    assert json.loads(row[-1]) == {"color": "Blue"}


@pytest.mark.parametrize(
    ("price", "expected"),
    [("10", "10.00"), ("9.999", "10.00"), ("1.005", "1.01"), ("0.004", "0.00"), ("0", "0.00"), ("1e3", "1000.00")],
)
def test_item_prices_are_rounded_to_cents(price: str, expected: str) -> None:
    assert parse_item(f"sku-1,Lamp,,{price},,,,")[3] == Decimal(expected)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (",Lamp,,,,,,", "product_id"),
        ("sku-1,,,,,,,", "name"),
        (f"sku-1,{'n' * 256},,,,,,", "name"),
        (f"sku-1,Lamp,{'c' * 256},,,,,", "category"),
        ("sku-1,Lamp,,-1,,,,", "price"),
        ("sku-1,Lamp,,ten,,,,", "price"),
        ("sku-1,Lamp,,NaN,,,,", "price"),
        ("sku-1,Lamp,,1e12,,,,", "price"),
        ("sku-1,Lamp,,,dollars,,,", "currency"),
        ("sku-1,Lamp,,,U$D,,,", "currency"),
        ("sku-1,Lamp,,,,,-1,", "quantity"),
        ("sku-1,Lamp,,,,,1.5,", "quantity"),
        ("sku-1,Lamp,,,,,99999999999,", "quantity"),
        ("sku-1,Lamp,,,,,,8", "store_id"),
        ("sku-1,Lamp,,,,,,main", "store_id"),
    ],
)
def test_bad_items_are_rejected_naming_the_field(row: str, field: str) -> None:
    assert rejection(parse_item, row).startswith(f"{field}:")


def test_item_naming_an_unknown_store_says_so() -> None:
    assert rejection(parse_item, "sku-1,Lamp,,,,,,8") == "store_id: store 8 does not exist"


# Users


def test_user_row_is_the_id_and_its_attributes() -> None:
    parse = user_parser(header("Segment,user_id,age", DatasetType.users))
    user_id, attributes = parse(["vip", " u1 ", ""])
    assert user_id == "u1"
    assert json.loads(attributes) == {"segment": "vip"}


def test_user_without_an_id_is_rejected() -> None:
    parse = user_parser(header("user_id,age", DatasetType.users))
    assert rejection(parse, ["", "40"]).startswith("user_id:")
    assert "has 1 fields" in rejection(parse, ["u1"])
