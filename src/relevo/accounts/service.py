"""Accounts: create and manage them, check passwords and tokens, issue and revoke API keys."""

import time

from sqlalchemy import bindparam, func, select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from relevo.accounts import publishable, quotas
from relevo.accounts.callers import CHANGED, Caller
from relevo.accounts.models import Account, ApiKey, KeyKind, Role
from relevo.accounts.schemas import AccountCreate, AccountUpdate
from relevo.accounts.scopes import ROLE_SCOPES, Scope, format_scopes, key_scopes
from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.core.errors import AlreadyExists, Conflict, InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from relevo.core.pagination import paginate_by_id
from relevo.core.security import (
    create_access_token,
    decode_access_token,
    digest_api_key,
    generate_api_key,
    hash_password,
    is_api_key,
    verify_password,
)

# How stale an API key's last-used time may get (seconds) before a request writes it again.
_LAST_USED_RESOLUTION = 60.0
_use_noted: dict[str, float] = {}  # key digest → when this process last wrote its use


def get(*, session: Session, account_id: int) -> Account | None:
    return session.get(Account, account_id)


def get_or_raise(*, session: Session, account_id: int) -> Account:
    account = get(session=session, account_id=account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account


def get_by_username(*, session: Session, username: str) -> Account | None:
    return session.scalar(select(Account).where(Account.username == username))


def list_accounts(*, session: Session, limit: int, cursor: str | None) -> tuple[list[Account], str | None]:
    return paginate_by_id(session, select(Account), Account.id, limit=limit, cursor=cursor)


def create(*, session: Session, data: AccountCreate) -> Account:
    if get_by_username(session=session, username=data.username) is not None:
        raise AlreadyExists(f"username: an account named {data.username!r} already exists")
    account = Account(username=data.username, password_hash=hash_password(data.password), role=data.role)
    session.add(account)
    session.flush()
    return account


def update(
    *, session: Session, caller: Caller, account: Account, data: AccountUpdate, self_demotion: bool = False
) -> Account:
    if (data.role is not None and data.role != Role.admin) or data.is_active is False:
        _keep_an_admin(session=session, caller=caller, account=account, self_demotion=self_demotion)
    if data.password is not None:
        account.password_hash = hash_password(data.password)
        _end_sessions(account)
    if data.role is not None:
        account.role = data.role
    if data.is_active is not None:
        account.is_active = data.is_active
        if not data.is_active:
            _end_sessions(account)
    session.info[CHANGED] = True
    session.flush()
    return account


def deactivate(*, session: Session, caller: Caller, account: Account, self_demotion: bool = False) -> None:
    """Accounts own stores and datasets, so they are switched off rather than removed."""
    _keep_an_admin(session=session, caller=caller, account=account, self_demotion=self_demotion)
    account.is_active = False
    _end_sessions(account)
    session.info[CHANGED] = True
    now = utcnow()
    for key in session.scalars(select(ApiKey).where(ApiKey.account_id == account.id, ApiKey.revoked_at.is_(None))):
        key.revoked_at = now
    session.flush()


def _keep_an_admin(*, session: Session, caller: Caller, account: Account, self_demotion: bool) -> None:
    """Refuses to demote or switch off the last active admin (nobody could manage accounts),
    and an admin's own account unless RELEVO_ADMIN_SELF_DEMOTION allows it (a slip of the
    caller's own hand would lock them out)."""
    if account.role != Role.admin or not account.is_active:
        return
    active_admins = select(func.count()).select_from(Account).where(Account.role == Role.admin, Account.is_active)
    if session.scalar(active_admins) <= 1:
        raise Conflict(f"{account.username!r} is the last active admin; make another admin first")
    if account.id == caller.id and not self_demotion:
        raise Conflict("admins cannot demote or deactivate themselves; ask another admin")


def _end_sessions(account: Account) -> None:
    """Access tokens issued until now stop working (to the second: tokens carry whole seconds)."""
    account.tokens_valid_after = utcnow().replace(microsecond=0)


def ensure_admin(*, session: Session, username: str, password: str) -> Account | None:
    """Creates the configured admin when the database has no admin yet; returns it if created."""
    has_admin = session.scalar(select(func.count()).select_from(Account).where(Account.role == Role.admin))
    if has_admin:
        return None
    if get_by_username(session=session, username=username) is not None:
        raise AlreadyExists(f"an account named {username!r} exists but is not an admin")
    return create(session=session, data=AccountCreate(username=username, password=password, role=Role.admin))


def authenticate_password(*, session: Session, username: str, password: str) -> Account:
    account = get_by_username(session=session, username=username)
    if account is None or not verify_password(password, account.password_hash):
        raise Unauthenticated("wrong username or password", error="Invalid credentials")
    if not account.is_active:
        raise Unauthenticated("this account is deactivated", error="Invalid credentials")
    return account


def issue_access_token(*, account: Account, settings: Settings) -> str:
    return create_access_token(
        account_id=account.id,
        username=account.username,
        secret_key=settings.secret_key,
        minutes=settings.access_token_minutes,
    )


def authenticate_token(*, session: Session, token: str, settings: Settings) -> Caller:
    """The active account behind a JWT or an API key (one query either way), with the rate-limit
    quotas it counts against (one more)."""
    key = is_api_key(token)
    key_id = kind = stored_origins = None
    if key:
        found = session.execute(_ACCOUNT_BY_KEY, {"digest": digest_api_key(token)}).first()
        if found is None:
            raise Unauthenticated("the API key is unknown or revoked", error="Invalid token")
        account, stored_scopes, key_id, kind, stored_origins = found
    else:
        claims = decode_access_token(token, secret_key=settings.secret_key)
        account = session.get(Account, claims.account_id)
        if account is not None and account.tokens_valid_after and claims.issued_at < account.tokens_valid_after:
            raise Unauthenticated("the password changed or the account was switched off since; log in again")
    if account is None or not account.is_active:
        raise Unauthenticated("the account behind this token is deactivated or gone", error="Invalid token")
    scopes = key_scopes(role=Role(account.role), stored=stored_scopes) if key else None
    origins = None
    if key and kind == KeyKind.publishable:
        scopes, origins = scopes & publishable.SCOPES, frozenset((stored_origins or "").split())
    limits = quotas.of_caller(session=session, account_id=account.id, key_id=key_id)
    return Caller.of(account, scopes, limits, key_id=key_id, origins=origins)


_ACCOUNT_BY_KEY = (
    select(Account, ApiKey.scopes, ApiKey.id, ApiKey.kind, ApiKey.origins)
    .join(ApiKey, ApiKey.account_id == Account.id)
    .where(ApiKey.key_hash == bindparam("digest"), ApiKey.revoked_at.is_(None))
)


def note_api_key_use(*, database: Database, token: str) -> None:
    """Records when an API key was last used, at most once a minute per key and process, in a
    transaction of its own: written from every request, the same row would make concurrent
    requests queue for its lock."""
    digest, now = digest_api_key(token), time.monotonic()
    if now - _use_noted.get(digest, -_LAST_USED_RESOLUTION) < _LAST_USED_RESOLUTION:
        return
    _use_noted[digest] = now
    with database.transaction() as session:
        session.execute(update_rows(ApiKey).where(ApiKey.key_hash == digest).values(last_used_at=utcnow()))


def create_api_key(
    *,
    session: Session,
    caller: Caller,
    name: str,
    scopes: frozenset[Scope],
    account_id: int | None,
    kind: KeyKind = KeyKind.secret,
    origins: tuple[str, ...] = (),
) -> tuple[ApiKey, str]:
    """A new key for the caller (or, for admins, any account) with `scopes`, never more than the
    caller holds nor than the key's account's role holds; the secret is returned once. A
    publishable key holds no more than publishable.SCOPES and needs the origins it is used from."""
    _check_kind(kind=kind, scopes=scopes, origins=origins)
    owner_id = caller.id if account_id is None else account_id
    if owner_id != caller.id and not caller.may(Scope.admin):
        raise PermissionDenied("only admins may create API keys for other accounts")
    owner = get_or_raise(session=session, account_id=owner_id)
    beyond_caller = scopes - caller.scopes
    if beyond_caller:
        raise PermissionDenied(f"scopes: a key cannot hold more than its creator: {format_scopes(beyond_caller)}")
    beyond_role = scopes - ROLE_SCOPES[Role(owner.role)]
    if beyond_role:
        raise InvalidArgument(
            f"scopes: the role {owner.role} of {owner.username!r} does not hold {format_scopes(beyond_role)}"
        )
    new_key = generate_api_key(publishable=kind == KeyKind.publishable)
    key = ApiKey(
        account_id=owner_id,
        name=name,
        prefix=new_key.prefix,
        key_hash=new_key.digest,
        scopes=format_scopes(scopes),
        kind=kind,
        origins=" ".join(dict.fromkeys(origins)) or None,
    )
    session.add(key)
    session.info[CHANGED] = True  # the origins CORS allows may change
    session.flush()
    return key, new_key.secret


def _check_kind(*, kind: KeyKind, scopes: frozenset[Scope], origins: tuple[str, ...]) -> None:
    if kind == KeyKind.secret:
        if origins:
            raise InvalidArgument("origins: only a publishable key is bound to origins")
        return
    if not origins:
        raise InvalidArgument("origins: a publishable key needs the origins of the pages it is used from")
    beyond = scopes - publishable.SCOPES
    if beyond:
        raise InvalidArgument(
            f"scopes: a publishable key may hold only {format_scopes(publishable.SCOPES)}, not {format_scopes(beyond)}"
        )


def list_api_keys(
    *, session: Session, caller: Caller, limit: int, cursor: str | None
) -> tuple[list[ApiKey], str | None]:
    query = select(ApiKey)
    if not caller.may(Scope.admin):
        query = query.where(ApiKey.account_id == caller.id)
    return paginate_by_id(session, query, ApiKey.id, limit=limit, cursor=cursor)


def revoke_api_key(*, session: Session, caller: Caller, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or (key.account_id != caller.id and not caller.may(Scope.admin)):
        raise NotFound(f"API key {key_id} does not exist")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.info[CHANGED] = True
        session.flush()
    return key
