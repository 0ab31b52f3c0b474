"""The request statistics table: per minute, route and latency bucket, what every server
process answered, added into the same rows."""

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from relevo.core.db import Base


class RequestStatistic(Base):
    """The requests to one route in one minute whose time to answer fell in one latency bucket
    (above the bucket below, at most `latency_bound_us`): a histogram per minute and route,
    sparse (only buckets some request fell in have a row), whose rows add up across minutes,
    routes and processes."""

    __tablename__ = "request_statistics"

    minute: Mapped[datetime] = mapped_column(primary_key=True)  # its start, naive UTC
    route: Mapped[str] = mapped_column(String(255), primary_key=True)  # "GET /api/v1/popular"
    latency_bound_us: Mapped[int] = mapped_column(primary_key=True)  # performance.latency.BOUNDS_US
    requests: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)  # answered 5xx
    answers: Mapped[int] = mapped_column(default=0)  # requests that served a person recommendations
    cache_hits: Mapped[int] = mapped_column(default=0)  # of those, answers kept from an earlier request
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)  # the requests' times added up
