"""Rate-limit quotas: the rates an admin gives one API key or one account instead of the defaults
(a shop's backend key needs far more than 100 requests a minute).

A request through an API key counts, for each class of request, against the key's own quota
when it has one, else against its account's counter (the account's quota, or the default): a
key anyone can make for themselves never adds to what its account may do.
"""

import logging
from typing import NamedTuple

from sqlalchemy import or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from relevo.accounts.callers import CHANGED, Caller
from relevo.accounts.models import Account, ApiKey, RateLimitQuota
from relevo.accounts.schemas import QuotasUpdate
from relevo.core.config import Settings
from relevo.core.db import utcnow
from relevo.core.errors import NotFound
from relevo.core.rates import LimitClass, Quota, parse_rate

logger = logging.getLogger("relevo.accounts")


class Holder(NamedTuple):
    """Whom a quota is given to: an account or an API key."""

    kind: str  # "account" or "key"
    id: int

    @property
    def counter(self) -> str:
        """The name of the holder's own counters."""
        return f"{self.kind}:{self.id}"


def get(*, session: Session, holder: Holder) -> RateLimitQuota | None:
    """The holder's quotas, None if it has none; NotFound if the holder does not exist."""
    if session.get(ApiKey if holder.kind == "key" else Account, holder.id) is None:
        raise NotFound(f"{'API key' if holder.kind == 'key' else 'account'} {holder.id} does not exist")
    return session.scalar(select(RateLimitQuota).where(_column(holder) == holder.id))


def put(*, session: Session, caller: Caller, holder: Holder, data: QuotasUpdate) -> RateLimitQuota:
    """Sets the holder's quotas to `data` (a class left out or null keeps the default)."""
    row = get(session=session, holder=holder)
    if row is None:
        row = RateLimitQuota(**{_column(holder).key: holder.id})
        session.add(row)
    for limit_class in LimitClass:
        setattr(row, limit_class, getattr(data, limit_class))
    row.updated_at, row.updated_by = utcnow(), caller.id
    session.info[CHANGED] = True  # callers remembered with their quotas are looked up again
    session.flush()
    logger.info("rate limits of %s %d set by %s: %s", holder.kind, holder.id, caller.username, data.model_dump())
    return row


def delete(*, session: Session, caller: Caller, holder: Holder) -> None:
    """Back to the defaults."""
    row = get(session=session, holder=holder)
    if row is not None:
        session.delete(row)
        session.info[CHANGED] = True
        session.flush()
        logger.info("rate limits of %s %d removed by %s", holder.kind, holder.id, caller.username)


def of_caller(*, session: Session, account_id: int, key_id: int | None) -> dict[LimitClass, Quota]:
    """The quotas a request of this account (through this key, if any) counts against."""
    quotas: dict[LimitClass, Quota] = {}
    for holder, row in _rows(session=session, account_id=account_id, key_id=key_id):
        for limit_class in LimitClass:
            rate = getattr(row, limit_class)
            if rate is not None:
                quotas[limit_class] = Quota(holder=holder.counter, rate=parse_rate(rate))
    return quotas


def effective(*, session: Session, settings: Settings, holder: Holder) -> dict[LimitClass, str]:
    """The rate each class of request of this holder is limited to: its own quota, else (for a
    key) its account's, else the default."""
    account_id, key_id = holder.id, None
    if holder.kind == "key":
        account_id, key_id = session.get(ApiKey, holder.id).account_id, holder.id
    rates = {limit_class: getattr(settings, f"rate_limit_{limit_class}") for limit_class in LimitClass}
    for _, row in _rows(session=session, account_id=account_id, key_id=key_id):
        rates.update({limit_class: rate for limit_class in LimitClass if (rate := getattr(row, limit_class))})
    return rates


def _rows(*, session: Session, account_id: int, key_id: int | None) -> list[tuple[Holder, RateLimitQuota]]:
    """The account's quotas and the key's, in this order (the key's override the account's)."""
    holders = RateLimitQuota.account_id == account_id
    if key_id is not None:
        holders = or_(holders, RateLimitQuota.api_key_id == key_id)
    rows = sorted(session.scalars(select(RateLimitQuota).where(holders)), key=lambda row: row.api_key_id is not None)
    return [
        (Holder("account", row.account_id) if row.api_key_id is None else Holder("key", row.api_key_id), row)
        for row in rows
    ]


def _column(holder: Holder) -> InstrumentedAttribute:
    return RateLimitQuota.api_key_id if holder.kind == "key" else RateLimitQuota.account_id
