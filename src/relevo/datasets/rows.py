"""CSV rows to storable rows: one parser per dataset type, built from the header, which says
why each bad row is refused. Columns beyond the known ones are kept as attributes."""

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from relevo.core.errors import InvalidArgument
from relevo.datasets.models import DatasetType
from relevo.events.service import EventRow

MAX_ID_LENGTH = 255
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_CENT = Decimal("0.01")

KNOWN_COLUMNS = {
    DatasetType.interactions: ("user_id", "product_id", "event_type", "timestamp", "value", "event_id", "session_id"),
    DatasetType.items: ("product_id", "name", "category", "price", "currency", "description", "quantity", "store_id"),
    DatasetType.users: ("user_id",),
}
REQUIRED_COLUMNS = {
    DatasetType.interactions: ("user_id", "product_id"),
    DatasetType.items: ("product_id", "name"),
    DatasetType.users: ("user_id",),
}


class RowRejected(Exception):
    """A row that cannot be imported; the message says which field and why."""


class Header:
    """Where each known column sits, and which columns are extra."""

    def __init__(self, fields: list[str], dataset_type: DatasetType) -> None:
        names = [field.strip().lower() for field in fields]
        if not any(names):
            raise InvalidArgument("file: the first line must be a header row naming the columns")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise InvalidArgument(f"file: the header names these columns twice: {', '.join(duplicates)}")
        missing = [name for name in REQUIRED_COLUMNS[dataset_type] if name not in names]
        if missing:
            needed = ", ".join(REQUIRED_COLUMNS[dataset_type])
            raise InvalidArgument(
                f"file: a {dataset_type} CSV needs the columns {needed}; missing: {', '.join(missing)}"
            )
        self.width = len(names)
        self.position = {name: index for index, name in enumerate(names)}
        known = KNOWN_COLUMNS[dataset_type]
        self.extras = [(name, index) for index, name in enumerate(names) if name and name not in known]

    def attributes(self, fields: list[str]) -> dict[str, str]:
        return {name: fields[index] for name, index in self.extras if fields[index] != ""}


def parse_timestamp(text: str, latest: datetime) -> datetime:
    """ISO 8601 (zone optional, UTC assumed) or unix seconds, as naive UTC."""
    try:
        if text[0].isdigit() and text.replace(".", "", 1).isdigit():
            moment = datetime.fromtimestamp(float(text), UTC).replace(tzinfo=None)
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        raise RowRejected(f"timestamp: {text!r} is neither ISO 8601 nor unix seconds") from None
    if moment > latest:
        raise RowRejected(f"timestamp: {text!r} is more than a day in the future")
    return moment


def _identifier(fields: list[str], index: int, name: str) -> str:
    value = fields[index].strip()
    if not value:
        raise RowRejected(f"{name}: is empty")
    if len(value) > MAX_ID_LENGTH:
        raise RowRejected(f"{name}: is longer than {MAX_ID_LENGTH} characters")
    return value


def _optional(fields: list[str], position: dict[str, int], name: str) -> str | None:
    index = position.get(name)
    if index is None:
        return None
    value = fields[index].strip()
    return value or None


def _check_width(fields: list[str], header: Header) -> None:
    if len(fields) != header.width:
        raise RowRejected(f"has {len(fields)} fields; the header has {header.width}")


def interaction_parser(header: Header, now: datetime) -> Callable[[list[str]], EventRow]:
    position = header.position
    user_index, product_index = position["user_id"], position["product_id"]
    latest = now + timedelta(days=1)
    known_types: set[str] = set()

    def parse(fields: list[str]) -> EventRow:
        _check_width(fields, header)
        user_id = _identifier(fields, user_index, "user_id")
        product_id = _identifier(fields, product_index, "product_id")
        event_type = (_optional(fields, position, "event_type") or "view").lower()
        if event_type not in known_types:
            if not _EVENT_TYPE.match(event_type):
                raise RowRejected(f"event_type: {event_type!r} must be lower-case letters, digits and _")
            known_types.add(event_type)
        stamp = _optional(fields, position, "timestamp")
        occurred_at = now if stamp is None else parse_timestamp(stamp, latest)
        value_text = _optional(fields, position, "value")
        value = None
        if value_text is not None:
            try:
                value = float(value_text)
            except ValueError:
                raise RowRejected(f"value: {value_text!r} is not a number") from None
            if not math.isfinite(value):
                raise RowRejected(f"value: {value_text!r} is not a finite number")
        event_id = _optional(fields, position, "event_id")
        session_id = _optional(fields, position, "session_id")
        for name, text in (("event_id", event_id), ("session_id", session_id)):
            if text is not None and len(text) > MAX_ID_LENGTH:
                raise RowRejected(f"{name}: is longer than {MAX_ID_LENGTH} characters")
        context = header.attributes(fields) if header.extras else None
        return EventRow(
            event_id, user_id, product_id, event_type, value, session_id, None, context or None, None, occurred_at
        )

    return parse


def item_parser(header: Header, store_ids: set[int]) -> Callable[[list[str]], tuple[Any, ...]]:
    position = header.position

    def parse(fields: list[str]) -> tuple[Any, ...]:
        _check_width(fields, header)
        product_id = _identifier(fields, position["product_id"], "product_id")
        name = fields[position["name"]].strip()
        if not name:
            raise RowRejected("name: is empty")
        if len(name) > 255:
            raise RowRejected("name: is longer than 255 characters")
        category = _optional(fields, position, "category")
        if category is not None and len(category) > 255:
            raise RowRejected("category: is longer than 255 characters")
        price = _price(_optional(fields, position, "price"))
        currency = _optional(fields, position, "currency")
        if currency is not None:
            if not _CURRENCY.match(currency):
                raise RowRejected(f"currency: {currency!r} is not a three-letter code")
            currency = currency.upper()
        quantity = _whole_number(_optional(fields, position, "quantity"), "quantity")
        store_id = _whole_number(_optional(fields, position, "store_id"), "store_id")
        if store_id is not None and store_id not in store_ids:
            raise RowRejected(f"store_id: store {store_id} does not exist")
        description = _optional(fields, position, "description")
        attributes = json.dumps(header.attributes(fields))
        return (product_id, name, category, price, currency, description, quantity, store_id, attributes)

    return parse


def user_parser(header: Header) -> Callable[[list[str]], tuple[str, str]]:
    user_index = header.position["user_id"]

    def parse(fields: list[str]) -> tuple[str, str]:
        _check_width(fields, header)
        return (_identifier(fields, user_index, "user_id"), json.dumps(header.attributes(fields)))

    return parse


def _price(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise RowRejected(f"price: {text!r} is not a number") from None
    if not price.is_finite() or price < 0 or price >= Decimal("1e10"):
        raise RowRejected(f"price: {text!r} must be between 0 and 9,999,999,999.99")
    return price.quantize(_CENT, rounding=ROUND_HALF_UP)


def _whole_number(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise RowRejected(f"{name}: {text!r} is not a whole number of zero or more")
    number = int(text)
    if number > 2_147_483_647:
        raise RowRejected(f"{name}: {text!r} is too large")
    return number
