"""Field types shared by the API schemas of several domains."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer


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


# Integers the databases' 64-bit columns hold (ids, offsets): a larger one is refused, naming
# the field, where SQLite would overflow and PostgreSQL call it out of range.
MAX_DB_INT = 2**63 - 1
DbInt = Annotated[int, Field(ge=-MAX_DB_INT - 1, le=MAX_DB_INT)]

# Text the databases can store: PostgreSQL refuses NUL characters.
Text = Annotated[str, AfterValidator(_without_nul)]

# The shop's own id for a user or product: a string (integers accepted and turned to text).
ExternalId = Annotated[Text, BeforeValidator(_text_id), Field(min_length=1, max_length=255)]

# Timestamps are stored as naive UTC; this says so on the way out ("...Z").
UtcDateTime = Annotated[datetime, PlainSerializer(_as_utc_text, when_used="json")]
