"""Field types of requests about customers: the date a prediction is made as of."""

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")


def _calendar_date(value: Any) -> date:
    """A date written YYYY-MM-DD or YYYYMMDD (the model-serving API's date ids), or an integer
    20240101; never a count of seconds, as pydantic would read a bare number."""
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    found = _DATE.match(value.strip()) if isinstance(value, str) else None
    if found is None or ("-" in value and value.count("-") != 2):
        raise ValueError("must be a date written YYYY-MM-DD or YYYYMMDD")
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError as exc:
        raise ValueError(f"is not a date ({exc})") from None


AsOfDate = Annotated[
    date,
    BeforeValidator(_calendar_date),
    Field(description="A date, YYYY-MM-DD or YYYYMMDD: only purchases before its start (UTC) are used"),
]
