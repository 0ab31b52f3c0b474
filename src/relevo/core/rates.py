"""Rate limits as people write them (`100/minute`), and the classes of requests they limit.

One home for both, since the settings (the defaults), the quotas an admin gives a key or an
account, and the limiter all read them the same way.
"""

from dataclasses import dataclass
from enum import StrEnum

import limits
from limits import RateLimitItem


class LimitClass(StrEnum):
    """What a limit counts. Every limited request is an `api` call; a training start and a bulk
    operation count against their own limit as well."""

    api = "api"
    training = "training"  # a request that starts a training
    bulk = "bulk"  # dataset uploads, batch jobs, event batches over BULK_EVENTS events


# An event batch over this many events is a bulk operation.
BULK_EVENTS = 1_000


def parse_rate(text: str) -> RateLimitItem:
    """`100/minute`, `10 per hour`, `1000/2 hours` (second, minute, hour, day, month, year):
    one limit, of at least one request. ValueError saying what is wrong otherwise."""
    text = text.strip()
    try:
        items = limits.parse_many(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a rate: write it as requests/period, e.g. 100/minute or 10/hour") from None
    if len(items) != 1:
        raise ValueError(f"{text!r} names {len(items)} rates; give one, e.g. 100/minute")
    if items[0].amount < 1:
        raise ValueError(f"{text!r} allows no request at all; the count must be at least 1")
    return items[0]


def describe(rate: RateLimitItem) -> str:
    """`100 requests per minute`, `10 requests per 2 hours`."""
    noun = "request" if rate.amount == 1 else "requests"
    granularity = rate.GRANULARITY.name
    period = granularity if rate.multiples == 1 else f"{rate.multiples} {granularity}s"
    return f"{rate.amount} {noun} per {period}"


@dataclass(frozen=True)
class Quota:
    """A rate an admin gave one API key or one account, counted on the holder's own counter
    (`holder`: `key:7` or `account:3`)."""

    holder: str
    rate: RateLimitItem
