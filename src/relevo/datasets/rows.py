"""CSV rows to storable rows: one parser per dataset type, built from the header, which says
why each bad row is refused. Columns beyond the known ones are kept as attributes."""

import json
import math
import re
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from relevo.core import categories
from relevo.core.errors import InvalidArgument
from relevo.datasets.models import DatasetType
from relevo.events.service import EventRow

MAX_ID_LENGTH = 255
_EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_CENT = Decimal("0.01")
_NUL = "\x00"

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
        if any(_NUL in name for name in names):
            raise InvalidArgument("file: the header contains a NUL character; send a UTF-8 text CSV")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise InvalidArgument(f"file: the header names these columns twice: {', '.join(duplicates)}")
        missing = [name for name in REQUIRED_COLUMNS[dataset_type] if name not in names]
        if missing:
            needed = ", ".join(REQUIRED_COLUMNS[dataset_type])
            raise InvalidArgument(
                f"file: a {dataset_type} CSV needs the columns {needed}; missing: {', '.join(missing)}"
            )
        self.names = names
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
        elif text[-1] in "Zz":
            moment = datetime.fromisoformat(text[:-1])  # the common case, and 8x cheaper than replace()
        else:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        raise RowRejected(f"timestamp: {text!r} is neither ISO 8601 nor unix seconds") from None
    if moment.tzinfo is not None or moment > latest:
        reason = "has two time zones" if moment.tzinfo is not None else "is more than a day in the future"
        raise RowRejected(f"timestamp: {text!r} {reason}")
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


def _check_fields(fields: list[str], header: Header) -> None:
    """The row has the header's width and no NUL character, which PostgreSQL cannot store."""
    if len(fields) != header.width:
        raise RowRejected(f"has {len(fields)} fields; the header has {header.width}")
    if _NUL in "".join(fields):
        raise RowRejected(_nul_reason(fields, header))


def _nul_reason(fields: list[str], header: Header) -> str:
    column = next(name for name, field in zip(header.names, fields, strict=True) if _NUL in field)
    return f"{column}: contains a NUL character"


def interaction_parser(header: Header, now: datetime) -> Callable[[list[str]], EventRow]:
    """The hot loop of an interactions import: written for speed, with column positions
    looked up once and the checks inlined."""
    position = header.position
    width, user_at, product_at = header.width, position["user_id"], position["product_id"]
    type_at, time_at, value_at = position.get("event_type"), position.get("timestamp"), position.get("value")
    event_id_at, session_at = position.get("event_id"), position.get("session_id")
    latest = now + timedelta(days=1)
    valid_types: set[str] = set()

    def parse(fields: list[str]) -> EventRow:
        if len(fields) != width:
            raise RowRejected(f"has {len(fields)} fields; the header has {width}")
        if _NUL in "".join(fields):
            raise RowRejected(_nul_reason(fields, header))
        user_id = fields[user_at].strip()
        if not user_id or len(user_id) > MAX_ID_LENGTH:
            raise RowRejected(_bad_identifier("user_id", user_id))
        product_id = fields[product_at].strip()
        if not product_id or len(product_id) > MAX_ID_LENGTH:
            raise RowRejected(_bad_identifier("product_id", product_id))
        event_type = (type_at is not None and fields[type_at].strip().lower()) or "view"
        if event_type not in valid_types:
            if not _EVENT_TYPE.match(event_type):
                raise RowRejected(f"event_type: {event_type!r} must be lower-case letters, digits and _")
            valid_types.add(event_type)
        stamp = time_at is not None and fields[time_at].strip()
        occurred_at = parse_timestamp(stamp, latest) if stamp else now
        value = None
        if value_at is not None and (value_text := fields[value_at].strip()):
            value = _finite_number(value_text)
        event_id = (event_id_at is not None and fields[event_id_at].strip()) or None
        session_id = (session_at is not None and fields[session_at].strip()) or None
        if (event_id and len(event_id) > MAX_ID_LENGTH) or (session_id and len(session_id) > MAX_ID_LENGTH):
            name = "event_id" if event_id and len(event_id) > MAX_ID_LENGTH else "session_id"
            raise RowRejected(f"{name}: is longer than {MAX_ID_LENGTH} characters")
        context = (header.attributes(fields) or None) if header.extras else None
        return EventRow(event_id, user_id, product_id, event_type, value, session_id, None, context, None, occurred_at)

    return parse


def _bad_identifier(name: str, value: str) -> str:
    return f"{name}: is empty" if not value else f"{name}: is longer than {MAX_ID_LENGTH} characters"


def _finite_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RowRejected(f"value: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise RowRejected(f"value: {text!r} is not a finite number")
    return value


def item_parser(
    header: Header, store_ids: set[int], currencies: Collection[str] | None = None
) -> Callable[[list[str]], tuple[Any, ...]]:
    """`currencies`, when given, are the only codes accepted (those the rate table converts)."""
    position = header.position

    def parse(fields: list[str]) -> tuple[Any, ...]:
        _check_fields(fields, header)
        product_id = _identifier(fields, position["product_id"], "product_id")
        name = fields[position["name"]].strip()
        if not name:
            raise RowRejected("name: is empty")
        if len(name) > 255:
            raise RowRejected("name: is longer than 255 characters")
        category = _optional(fields, position, "category")
        if category is not None and len(category) > 255:
            raise RowRejected("category: is longer than 255 characters")
        category = categories.normalise(category) or None
        price = _price(_optional(fields, position, "price"))
        currency = _optional(fields, position, "currency")
        if currency is not None:
            if not _CURRENCY.match(currency):
                raise RowRejected(f"currency: {currency!r} is not a three-letter code")
            currency = currency.upper()
            if currencies is not None and currency not in currencies:
                raise RowRejected(f"currency: no exchange rate for {currency!r}")
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
        _check_fields(fields, header)
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
