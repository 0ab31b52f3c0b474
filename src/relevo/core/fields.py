"""Field types shared by the API schemas of several domains."""

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


def _text_id(value: Any) -> Any:
    """Integer ids are accepted wherever the shop's ids are strings."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def as_naive_utc(value: datetime) -> datetime:
    """Timestamps without a zone are taken as UTC; all are stored as naive UTC."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def _as_utc_text(value: datetime) -> str:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Integers the databases' 64-bit columns and clauses hold (offsets, the shop's numeric ids
# echoed back, numbers inside JSON): a larger one is refused, naming the field, where SQLite
# would overflow and PostgreSQL call it out of range.
MAX_DB_INT = 2**63 - 1
DbInt = Annotated[int, Field(ge=-MAX_DB_INT - 1, le=MAX_DB_INT)]

# Ids of Relevo's own rows (accounts, stores, products, datasets, model versions) and counts
# such as a product's quantity: their columns are 32-bit INTEGER on PostgreSQL.
MAX_DB_ID = 2**31 - 1
DbId = Annotated[int, Field(ge=-MAX_DB_ID - 1, le=MAX_DB_ID)]

# Text the databases can store: PostgreSQL refuses NUL characters.
Text = Annotated[str, AfterValidator(_without_nul)]

# The shop's own id for a user or product: a string (integers accepted and turned to text).
ExternalId = Annotated[Text, BeforeValidator(_text_id), Field(min_length=1, max_length=255)]

# How deep a free JSON document may nest (the JSON writer under the database gives up a little
# beyond 250 levels; no shop's context needs a tenth of this).
MAX_JSON_DEPTH = 32


def _json_problem(value: Any, depth: int) -> tuple[tuple[str | int, ...], str, str] | None:
    """The first value in a JSON document that the databases cannot store as it is: its path
    inside the document, an error type and a message; None when every value can be stored."""
    if isinstance(value, str):
        return None if "\x00" not in value else ((), "json_text", "must not contain NUL characters")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if -MAX_DB_INT - 1 <= value <= MAX_DB_INT else ((), "json_int", "integers must fit in 64 bits")
    if isinstance(value, float):
        return None if math.isfinite(value) else ((), "json_number", "numbers must be finite")
    if isinstance(value, dict | list | tuple) and depth >= MAX_JSON_DEPTH:
        return (), "json_depth", f"JSON nests at most {MAX_JSON_DEPTH} levels deep"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or "\x00" in key:
                return (str(key),), "json_key", "keys must be text without NUL characters"
            if (problem := _json_problem(item, depth + 1)) is not None:
                return ((key, *problem[0]), *problem[1:])
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if (problem := _json_problem(item, depth + 1)) is not None:
                return ((index, *problem[0]), *problem[1:])
        return None
    return (), "json_type", f"is not a JSON value ({type(value).__name__})"


def _storable_json(value: dict[str, Any]) -> dict[str, Any]:
    problem = _json_problem(value, 0)
    if problem is None:
        return value
    path, kind, message = problem
    # Raised as a validation error of its own, pydantic puts the path inside the document
    # after the field's, so the answer names e.g. `0.context.a.b`.
    error = InitErrorDetails(type=PydanticCustomError(kind, message), loc=path, input=value)
    raise ValidationError.from_exception_data("JSON document", [error])


# A free JSON object (an event's context, a product's attributes): stored as given, in both
# databases the same, so what neither can hold is refused naming the place: integers beyond
# 64 bits, NaN and infinities, NUL characters, nesting deeper than MAX_JSON_DEPTH.
JsonObject = Annotated[
    dict[str, Any],
    AfterValidator(_storable_json),
    Field(description=f"A JSON object: integers within 64 bits, no NUL characters, at most {MAX_JSON_DEPTH} levels"),
]

# Timestamps are stored as naive UTC; this says so on the way out ("...Z").
UtcDateTime = Annotated[datetime, PlainSerializer(_as_utc_text, when_used="json")]
