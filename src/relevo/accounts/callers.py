"""Who is calling: the authenticated caller of a request, and a short-lived memory of tokens
already checked, so that a busy integration does not cost a database query per request."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from weakref import WeakSet

from sqlalchemy import event
from sqlalchemy.orm import Session

from relevo.accounts.models import Account, Role
from relevo.accounts.scopes import ROLE_SCOPES, Scope
from relevo.core.caches import LockedCache
from relevo.core.errors import PermissionDenied
from relevo.core.rates import LimitClass, Quota

CHANGED = "relevo.accounts_changed"  # set in session.info by changes to what a caller may do (or how often)


@dataclass(frozen=True)
class Caller:
    """An authenticated account, as requests see it: immutable, safe to share between threads.

    `scopes` say what this caller may do (a login carries its role's, a key its own); the role
    says which objects that reaches: an admin's reach every store, job and dataset, anyone
    else's only their own. `quotas` are the rates an admin gave its key or account, by class of
    request (the defaults apply to the classes absent).
    """

    id: int
    username: str
    role: Role
    scopes: frozenset[Scope]
    quotas: Mapping[LimitClass, Quota] = field(default_factory=dict, compare=False)
    key_id: int | None = None  # the API key the request came with, if any
    # A publishable key's origins (accounts/publishable.py); None for any other token.
    origins: frozenset[str] | None = None

    @classmethod
    def of(
        cls,
        account: Account,
        scopes: frozenset[Scope] | None = None,
        quotas: Mapping[LimitClass, Quota] | None = None,
        *,
        key_id: int | None = None,
        origins: frozenset[str] | None = None,
    ) -> "Caller":
        role = Role(account.role)
        return cls(
            id=account.id,
            username=account.username,
            role=role,
            scopes=ROLE_SCOPES[role] if scopes is None else scopes,
            quotas=quotas or {},
            key_id=key_id,
            origins=origins,
        )

    @property
    def sees_everything(self) -> bool:
        return self.role == Role.admin

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes

    def require(self, scope: Scope, refusal: str | None = None) -> None:
        """PermissionDenied unless this caller holds `scope`; `refusal` replaces the message
        where an API documents its own (the store API's)."""
        if scope not in self.scopes:
            held = " ".join(sorted(self.scopes)) or "none"
            raise PermissionDenied(
                refusal or f"this action needs the scope {scope}; this token (of a {self.role} account) holds: {held}"
            )

    def owns(self, owner_id: int | None) -> bool:
        """Whether an object made by `owner_id` is this caller's to see and manage."""
        return self.sees_everything or (owner_id is not None and owner_id == self.id)


_CALLERS = 10_000  # tokens remembered per process, those used last


class CallerCache:
    """Tokens checked in the last `seconds`, by token digest.

    Any committed change to accounts or keys (a revocation, a deactivation, a new role, a quota) empties
    every cache of the process at once; other processes see it when their entries expire.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries = LockedCache.ttl(_CALLERS, seconds) if seconds > 0 else None
        forget_on_account_changes(self)

    def get(self, digest: str) -> Caller | None:
        return None if self._entries is None else self._entries.get(digest)

    def put(self, digest: str, caller: Caller) -> None:
        if self._entries is not None:
            self._entries.put(digest, caller)

    def clear(self) -> None:
        if self._entries is not None:
            self._entries.clear()


class Forgetful(Protocol):
    def clear(self) -> None: ...


_all_caches: "WeakSet[Forgetful]" = WeakSet()


def forget_on_account_changes(cache: Forgetful) -> None:
    """Has `cache` emptied whenever this process commits a change to accounts or keys."""
    _all_caches.add(cache)


@event.listens_for(Session, "after_commit")
def _forget_callers_after_account_changes(session: Session) -> None:
    if session.info.pop(CHANGED, False):
        for cache in list(_all_caches):
            cache.clear()


@event.listens_for(Session, "after_rollback")
def _keep_callers_after_rollback(session: Session) -> None:
    session.info.pop(CHANGED, None)
