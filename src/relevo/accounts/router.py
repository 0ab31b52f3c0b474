"""Routes of the accounts API: tokens, accounts (admins), API keys, and the rate-limit quotas
admins give accounts and keys."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session

from relevo.accounts import quotas, service
from relevo.accounts.quotas import Holder
from relevo.accounts.schemas import (
    AccessToken,
    AccountCreate,
    AccountRead,
    AccountUpdate,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    CallerRead,
    QuotasRead,
    QuotasUpdate,
)
from relevo.api.deps import AdminCaller, CurrentCaller, KeyManager, LimitedRoute, SessionDep, SettingsDep
from relevo.core.config import Settings
from relevo.core.fields import DbId
from relevo.core.pagination import Page
from relevo.core.rates import LimitClass

router = APIRouter(prefix="/api/v1", tags=["accounts"], route_class=LimitedRoute)
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post("/auth/token", response_model=AccessToken)
def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, settings: SettingsDep
) -> AccessToken:
    account = service.authenticate_password(session=session, username=form.username, password=form.password)
    token = service.issue_access_token(account=account, settings=settings)
    return AccessToken(access_token=token, expires_in=settings.access_token_minutes * 60)


@router.get("/auth/me", response_model=CallerRead)
def read_me(caller: CurrentCaller, session: SessionDep) -> CallerRead:
    """The account behind the token, and what this token may do."""
    account = AccountRead.model_validate(service.get_or_raise(session=session, account_id=caller.id))
    return CallerRead(**account.model_dump(), scopes=sorted(caller.scopes))


@router.get("/accounts", response_model=Page[AccountRead])
def list_accounts(_: AdminCaller, session: SessionDep, limit: Limit = 100, cursor: str | None = None) -> Page:
    accounts, next_cursor = service.list_accounts(session=session, limit=limit, cursor=cursor)
    return Page(items=[AccountRead.model_validate(a) for a in accounts], next_cursor=next_cursor)


@router.post("/accounts", response_model=AccountRead, status_code=status.HTTP_201_CREATED)
def create_account(data: AccountCreate, _: AdminCaller, session: SessionDep) -> AccountRead:
    return AccountRead.model_validate(service.create(session=session, data=data))


@router.get("/accounts/{account_id}", response_model=AccountRead)
def read_account(account_id: DbId, _: AdminCaller, session: SessionDep) -> AccountRead:
    return AccountRead.model_validate(service.get_or_raise(session=session, account_id=account_id))


@router.patch("/accounts/{account_id}", response_model=AccountRead)
def update_account(
    account_id: DbId, data: AccountUpdate, caller: AdminCaller, session: SessionDep, settings: SettingsDep
) -> AccountRead:
    account = service.get_or_raise(session=session, account_id=account_id)
    changed = service.update(
        session=session, caller=caller, account=account, data=data, self_demotion=settings.admin_self_demotion
    )
    return AccountRead.model_validate(changed)


@router.delete("/accounts/{account_id}", status_code=status.HTTP_204_NO_CONTENT)
def deactivate_account(account_id: DbId, caller: AdminCaller, session: SessionDep, settings: SettingsDep) -> None:
    account = service.get_or_raise(session=session, account_id=account_id)
    service.deactivate(session=session, caller=caller, account=account, self_demotion=settings.admin_self_demotion)


@router.get("/api-keys", response_model=Page[ApiKeyRead])
def list_api_keys(caller: KeyManager, session: SessionDep, limit: Limit = 100, cursor: str | None = None) -> Page:
    keys, next_cursor = service.list_api_keys(session=session, caller=caller, limit=limit, cursor=cursor)
    return Page(items=[ApiKeyRead.model_validate(k) for k in keys], next_cursor=next_cursor)


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=status.HTTP_201_CREATED)
def create_api_key(data: ApiKeyCreate, caller: KeyManager, session: SessionDep) -> ApiKeyCreated:
    key, secret = service.create_api_key(
        session=session,
        caller=caller,
        name=data.name,
        scopes=frozenset(data.scopes),
        account_id=data.account_id,
        kind=data.kind,
        origins=tuple(data.origins),
    )
    return ApiKeyCreated(**ApiKeyRead.model_validate(key).model_dump(), key=secret)


@router.delete("/api-keys/{key_id}", response_model=ApiKeyRead)
def revoke_api_key(key_id: DbId, caller: KeyManager, session: SessionDep) -> ApiKeyRead:
    return ApiKeyRead.model_validate(service.revoke_api_key(session=session, caller=caller, key_id=key_id))


@router.get("/accounts/{account_id}/rate-limits", response_model=QuotasRead)
def read_account_quotas(account_id: DbId, _: AdminCaller, session: SessionDep, settings: SettingsDep) -> QuotasRead:
    return _quotas_read(session, settings, Holder("account", account_id))


@router.put("/accounts/{account_id}/rate-limits", response_model=QuotasRead)
def set_account_quotas(
    account_id: DbId, data: QuotasUpdate, caller: AdminCaller, session: SessionDep, settings: SettingsDep
) -> QuotasRead:
    """The account's own rates, per class of request (its keys share them, unless given their own)."""
    quotas.put(session=session, caller=caller, holder=Holder("account", account_id), data=data)
    return _quotas_read(session, settings, Holder("account", account_id))


@router.delete("/accounts/{account_id}/rate-limits", status_code=status.HTTP_204_NO_CONTENT)
def remove_account_quotas(account_id: DbId, caller: AdminCaller, session: SessionDep) -> None:
    quotas.delete(session=session, caller=caller, holder=Holder("account", account_id))


@router.get("/api-keys/{key_id}/rate-limits", response_model=QuotasRead)
def read_key_quotas(key_id: DbId, _: AdminCaller, session: SessionDep, settings: SettingsDep) -> QuotasRead:
    return _quotas_read(session, settings, Holder("key", key_id))


@router.put("/api-keys/{key_id}/rate-limits", response_model=QuotasRead)
def set_key_quotas(
    key_id: DbId, data: QuotasUpdate, caller: AdminCaller, session: SessionDep, settings: SettingsDep
) -> QuotasRead:
    """The key's own rates, per class of request, counted apart from its account's."""
    quotas.put(session=session, caller=caller, holder=Holder("key", key_id), data=data)
    return _quotas_read(session, settings, Holder("key", key_id))


@router.delete("/api-keys/{key_id}/rate-limits", status_code=status.HTTP_204_NO_CONTENT)
def remove_key_quotas(key_id: DbId, caller: AdminCaller, session: SessionDep) -> None:
    quotas.delete(session=session, caller=caller, holder=Holder("key", key_id))


def _quotas_read(session: Session, settings: Settings, holder: Holder) -> QuotasRead:
    row = quotas.get(session=session, holder=holder)
    return QuotasRead(
        **{limit_class: getattr(row, limit_class, None) for limit_class in LimitClass},
        account_id=holder.id if holder.kind == "account" else None,
        api_key_id=holder.id if holder.kind == "key" else None,
        effective=quotas.effective(session=session, settings=settings, holder=holder),
        updated_at=getattr(row, "updated_at", None),
        updated_by=getattr(row, "updated_by", None),
    )
