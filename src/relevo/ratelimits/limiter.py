"""The rate limiter of an app: whose counter a request counts on, against which rate, and the
verdict the response reports (ratelimits/headers.py) or refuses with (429).

A request with a token counts on its API key's or account's counter (accounts/quotas.py says
which), any other on its client's address (ratelimits/addresses.py). A request is counted
once per limit it is subject to (ratelimits/routes.py), and a refused one is not counted.
"""

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

from limits import RateLimitItem
from limits.errors import StorageError
from starlette.types import Scope

from relevo.accounts.callers import Caller
from relevo.core import metrics
from relevo.core.config import Settings
from relevo.core.errors import TooManyRequests
from relevo.core.rates import LimitClass, describe, parse_rate
from relevo.ratelimits.addresses import ClientAddresses
from relevo.ratelimits.counters import Counters, open_counters

logger = logging.getLogger("relevo.ratelimits")

SHOPPER = "shopper"  # the limit of each shopper a publishable key names (RELEVO_RATE_LIMIT_SHOPPER)
VERDICTS = "relevo.rate_limits"  # in a request's ASGI scope: its verdicts, for its response's headers
_UNREACHABLE_LOG_SECONDS = 60.0  # at most one warning this often while the counters cannot be reached


@dataclass(frozen=True)
class Policy:
    """The limit one request counts against: its class, its rate and whose counter."""

    limit_class: LimitClass | str  # a LimitClass, or SHOPPER
    rate: RateLimitItem
    holder: str  # "key:7", "account:3", "address:203.0.113.9" or "key:7:shopper:u1"

    @property
    def window(self) -> int:
        """In seconds."""
        return self.rate.get_expiry()

    def whose(self) -> str:
        key, shopper_of, shopper = self.holder.partition(":shopper:")
        if shopper_of:
            return f"shopper {shopper} with API key {key.removeprefix('key:')}"
        kind, _, name = self.holder.partition(":")
        return f"{'API key' if kind == 'key' else kind} {name}"


@dataclass(frozen=True)
class Verdict:
    policy: Policy
    allowed: bool
    remaining: int
    reset_seconds: int  # whole seconds within which no more than `remaining` requests are allowed

    def refusal(self) -> str:
        """What a 429 says: which limit, whose, and when it lets a request through again."""
        return (
            f"{self.policy.limit_class}: the limit of {describe(self.policy.rate)} for {self.policy.whose()} "
            f"is reached; the next request is allowed in {max(1, self.reset_seconds)} s"
        )


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.defaults = {
            limit_class: parse_rate(getattr(settings, f"rate_limit_{limit_class}")) for limit_class in LimitClass
        }
        self.shopper_rate = parse_rate(settings.rate_limit_shopper)
        self.addresses = ClientAddresses(settings.trusted_proxy_networks)
        self._storage = settings.resolved_rate_limit_storage
        self._prefix = settings.rate_limit_key_prefix
        # Opened by the first request, in the event loop that serves the app (Redis connections
        # belong to one loop), and closed when the app stops.
        self._counters: Counters | None = None
        self._unreachable_logged_at = -math.inf

    def policy(self, limit_class: LimitClass, caller: Caller | None, scope: Scope) -> Policy:
        if caller is None:
            return Policy(limit_class, self.defaults[limit_class], f"address:{self.addresses.of(scope)}")
        quota = caller.quotas.get(limit_class)
        if quota is not None:
            return Policy(limit_class, quota.rate, quota.holder)
        if caller.origins is not None:  # a publishable key: in pages anyone loads, so never the account's
            return Policy(limit_class, self.defaults[limit_class], f"key:{caller.key_id}")
        return Policy(limit_class, self.defaults[limit_class], f"account:{caller.id}")

    async def check(self, scope: Scope, caller: Caller | None, classes: tuple[LimitClass, ...]) -> None:
        """Counts the request (its ASGI `scope`) against each of `classes` in turn, keeping the
        verdicts in the scope; TooManyRequests at the first limit that has no room left."""
        await self._check(scope, [self.policy(limit_class, caller, scope) for limit_class in classes])

    async def check_shoppers(self, scope: Scope, caller: Caller, user_ids: Iterable[str]) -> None:
        """Counts a publishable key's request against the limit of each shopper it names."""
        policies = [
            Policy(SHOPPER, self.shopper_rate, f"key:{caller.key_id}:shopper:{user_id}")
            for user_id in sorted(set(user_ids))
        ]
        await self._check(scope, policies)

    async def _check(self, scope: Scope, policies: list[Policy]) -> None:
        verdicts = scope.setdefault(VERDICTS, [])
        for policy in policies:
            verdict = await self.charge(policy)
            if verdict is None:
                return
            verdicts.append(verdict)
            if not verdict.allowed:
                metrics.RATE_LIMIT_REFUSALS.labels(policy.limit_class).inc()
                raise TooManyRequests(verdict.refusal())

    async def charge(self, policy: Policy) -> Verdict | None:
        """One request counted against `policy`; None when the counters cannot be reached (Redis
        down): the request then goes through unlimited, rather than every request failing."""
        if self._counters is None:
            self._counters = open_counters(self._storage, self._prefix)
        try:
            count = await self._counters.hit(policy.rate, policy.limit_class, policy.holder)
        except StorageError as error:
            self._unreachable(error)
            return None
        return Verdict(policy, count.allowed, count.remaining, max(0, math.ceil(count.reset_seconds)))

    async def close(self) -> None:
        if self._counters is not None:
            await self._counters.close()
            self._counters = None

    def _unreachable(self, error: StorageError) -> None:
        now = time.monotonic()
        if now - self._unreachable_logged_at >= _UNREACHABLE_LOG_SECONDS:
            self._unreachable_logged_at = now
            logger.warning("rate limits not applied: their counters cannot be reached (%s)", error.storage_error)
