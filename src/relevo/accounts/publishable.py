"""Publishable keys, made to be put in a storefront's pages: what they may do (shoppers' events
and recommendation reads, nothing else), from which origins, and the origins they make CORS allow."""

from collections.abc import Sequence

from sqlalchemy import select

from relevo.accounts.callers import Caller, forget_on_account_changes
from relevo.accounts.models import ApiKey, KeyKind
from relevo.accounts.scopes import Scope
from relevo.core.caches import LockedCache
from relevo.core.db import Database
from relevo.core.errors import InvalidArgument, PermissionDenied

SCOPES = frozenset({Scope.events_write, Scope.recommendations_read})
# What a shopper's browser sends; purchases come from the shop's backend, which knows they happened.
EVENT_TYPES = frozenset({"view", "click", "add_to_cart", "remove_from_cart"})
# Events in one request: a page sends them as they happen, and each shopper named costs a count.
MAX_EVENTS = 20
EVENTS_ROUTE = "/api/v1/events"
# (method, route template) of everything a publishable key may call.
ROUTES = frozenset(
    {
        ("POST", EVENTS_ROUTE),
        ("GET", "/api/v1/recommendations/{user_id}"),
        ("GET", "/api/v1/products/{product_id}/similar"),
        ("GET", "/api/v1/products/{product_id}/bought-together"),
        ("GET", "/api/v1/popular"),
    }
)
PATHS = sorted({path for _, path in ROUTES})


def admit(caller: Caller, *, method: str, route: str | None, origin: str | None) -> None:
    """PermissionDenied unless the publishable key `caller` may call `route` from `origin`."""
    if caller.origins is None:
        return
    if (method, route) not in ROUTES:
        raise PermissionDenied(
            f"a publishable key may only send shoppers' events and read recommendations, not {method} {route}"
        )
    if origin is None:
        raise PermissionDenied("a publishable key is used from a web page only: the request has no Origin header")
    if origin.lower() not in caller.origins:
        raise PermissionDenied(f"origin: this publishable key may not be used from {origin}")


def check_events(caller: Caller, event_types: Sequence[str]) -> None:
    """PermissionDenied if a publishable key sends an event a shopper's browser does not send;
    InvalidArgument if it sends more than MAX_EVENTS at once."""
    if caller.origins is None:
        return
    if len(event_types) > MAX_EVENTS:
        raise InvalidArgument(f"events: a publishable key sends at most {MAX_EVENTS} events at a time")
    refused = sorted(set(event_types) - EVENT_TYPES)
    if refused:
        allowed = ", ".join(sorted(EVENT_TYPES))
        raise PermissionDenied(f"event_type: a publishable key may send {allowed}; not {', '.join(refused)}")


class KeyOrigins:
    """The origins of the publishable keys not revoked, for CORS; looked up again after
    `seconds`, or at once when this process commits a change to the keys."""

    def __init__(self, database: Database, seconds: float) -> None:
        self.database = database
        self._known = LockedCache.ttl(1, seconds) if seconds > 0 else None
        forget_on_account_changes(self)

    def __call__(self) -> frozenset[str]:
        origins = None if self._known is None else self._known.get("origins")
        if origins is None:
            origins = self._look_up()
            if self._known is not None:
                self._known.put("origins", origins)
        return origins

    def clear(self) -> None:
        if self._known is not None:
            self._known.clear()

    def _look_up(self) -> frozenset[str]:
        query = select(ApiKey.origins).where(ApiKey.kind == KeyKind.publishable, ApiKey.revoked_at.is_(None))
        with self.database.transaction(write=False) as session:
            return frozenset(origin for listed in session.scalars(query) for origin in (listed or "").split())
