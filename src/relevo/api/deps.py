"""Dependencies shared by the routers: settings, the request's session, and who is calling."""

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from relevo.accounts import service as accounts_service
from relevo.accounts.models import Account, Role
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.errors import PermissionDenied, Unauthenticated
from relevo.core.security import secrets_match

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_authorization = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="`Bearer <token>` or `Token <token>`, where the token is a JWT from /login or an API key",
)


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.database


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with request.app.state.database.transaction(write=request.method not in _READ_METHODS) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() not in ("bearer", "token") or not token.strip():
        raise Unauthenticated("the Authorization header must be `Bearer <token>` or `Token <token>`")
    return token.strip()


def get_optional_account(
    session: SessionDep, settings: SettingsDep, authorization: Annotated[str | None, Depends(_authorization)]
) -> Account | None:
    token = _bearer_token(authorization)
    if token is None:
        return None
    return accounts_service.authenticate_token(session=session, token=token, settings=settings)


OptionalAccount = Annotated[Account | None, Depends(get_optional_account)]


def get_current_account(account: OptionalAccount) -> Account:
    if account is None:
        raise Unauthenticated("send `Authorization: Bearer <token>`; get a token from POST /login or an API key")
    return account


CurrentAccount = Annotated[Account, Depends(get_current_account)]


def require_roles(*roles: Role) -> Callable[[Account], Account]:
    allowed = frozenset(roles)

    def check(account: CurrentAccount) -> Account:
        if account.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise PermissionDenied(f"this action needs one of the roles: {names}; yours is {account.role}")
        return account

    return check


AdminAccount = Annotated[Account, Depends(require_roles(Role.admin))]
# Accounts that may send data in: events, datasets, catalog upserts.
WriterAccount = Annotated[Account, Depends(require_roles(Role.admin, Role.owner, Role.service))]


def get_internal_caller(request: Request, settings: SettingsDep, account: OptionalAccount) -> Account | None:
    """Seed 003's internal routes: the shared secret header, or else a writer's token.

    Returns the account, or None when the caller proved itself with the shared secret.
    """
    if settings.client_secret:
        given = request.headers.get(settings.client_secret_header)
        if given is not None:
            if secrets_match(given, settings.client_secret):
                return None
            raise Unauthenticated(f"the {settings.client_secret_header} header does not match")
    if account is None:
        raise Unauthenticated(f"send the {settings.client_secret_header} header or `Authorization: Bearer <token>`")
    if request.method not in _READ_METHODS and account.role not in (Role.admin, Role.owner, Role.service):
        raise PermissionDenied(f"sending data needs the role admin, owner or service; yours is {account.role}")
    return account


InternalCaller = Annotated[Account | None, Depends(get_internal_caller)]
