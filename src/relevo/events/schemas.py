"""Request and response bodies of the events API."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, PlainValidator, TypeAdapter, field_validator
from pydantic_core import PydanticCustomError

from relevo.core.fields import ExternalId, JsonObject, Text, UtcDateTime, as_naive_utc

_FUTURE_TOLERANCE = timedelta(days=1)


def _normalise_type(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


EventTypeName = Annotated[
    str,
    BeforeValidator(_normalise_type),
    Field(pattern=r"^[a-z][a-z0-9_]{0,31}$", description="view, click, add_to_cart, purchase, rating, ... or custom"),
]


def event_time(value: datetime) -> datetime:
    """An event's time as naive UTC; a time more than a day ahead is a client's clock error."""
    value = as_naive_utc(value)
    if value - datetime.now(UTC).replace(tzinfo=None) > _FUTURE_TOLERANCE:
        raise ValueError("is more than a day in the future")
    return value


class EventIn(BaseModel):
    user_id: ExternalId
    product_id: ExternalId
    event_type: EventTypeName = "view"
    value: float | None = Field(default=None, allow_inf_nan=False, description="rating, quantity or amount")
    session_id: Text | None = Field(default=None, max_length=255)
    device_type: Text | None = Field(default=None, max_length=32)
    context: JsonObject | None = None
    timestamp: datetime | None = Field(default=None, description="ISO 8601 or unix seconds; defaults to now")
    event_id: Text | None = Field(default=None, min_length=1, max_length=255, description="Idempotency key")
    recommendation_id: Text | None = Field(default=None, max_length=64)

    @field_validator("timestamp")
    @classmethod
    def _timestamp_in_utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else event_time(value)


_ONE_EVENT = TypeAdapter(EventIn)
_EVENT_LIST = TypeAdapter(list[EventIn])


def _one_or_many(value: Any) -> EventIn | list[EventIn]:
    # Told apart by shape, so that an error names the field as the caller sent it (`context.x`,
    # or `1.context.x` in the second event of a list), not once per shape it might have had.
    if isinstance(value, list):
        return _EVENT_LIST.validate_python(value)
    if isinstance(value, dict | EventIn):
        return _ONE_EVENT.validate_python(value)
    raise PydanticCustomError("one_or_many", "Input should be an event (a JSON object) or a list of events")


# A request body of the events routes: one event, or a list of them.
OneOrMoreEvents = Annotated[
    EventIn | list[EventIn], PlainValidator(_one_or_many, json_schema_input_type=EventIn | list[EventIn])
]


class IngestResult(BaseModel):
    received: int
    stored: int
    duplicates: int = Field(description="Events whose event_id was already stored")


class EventRead(BaseModel):
    id: int
    event_id: str | None
    user_id: str
    product_id: str
    event_type: str
    value: float | None
    session_id: str | None
    device_type: str | None
    context: dict[str, Any] | None
    recommendation_id: str | None
    dataset_id: int | None
    timestamp: UtcDateTime
