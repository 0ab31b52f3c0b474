"""Request and response bodies of the accounts API."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from relevo.accounts.models import KeyKind, Role
from relevo.accounts.scopes import Scope
from relevo.core.fields import DbId, UtcDateTime
from relevo.core.origins import origin_or_error
from relevo.core.rates import LimitClass, parse_rate

Username = Annotated[str, Field(min_length=3, max_length=150, pattern=r"^[A-Za-z0-9_.@+-]+$")]
Password = Annotated[str, Field(min_length=8, max_length=200)]


class AccountCreate(BaseModel):
    username: Username
    password: Password
    role: Role = Role.viewer


class AccountUpdate(BaseModel):
    password: Password | None = None
    role: Role | None = None
    is_active: bool | None = None


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: Role
    is_active: bool
    created_at: UtcDateTime


class CallerRead(AccountRead):
    scopes: list[Scope] = Field(description="What the token of this request may do")


class AccessToken(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


def _listed(value: object) -> object:
    """Scopes as stored (one space-separated string) or as sent (a list)."""
    return value.split() if isinstance(value, str) else value


Scopes = Annotated[list[Scope], BeforeValidator(_listed)]


def _listed_or_none(value: object) -> object:
    return [] if value is None else _listed(value)


Origin = Annotated[str, Field(max_length=300), AfterValidator(origin_or_error)]


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: Scopes = Field(
        min_length=1,
        description="What the key may do: a part of what its creator holds (see docs/api.md, Scopes), "
        'e.g. ["events:write", "recommendations:read"] for a shop backend',
    )
    account_id: DbId | None = Field(default=None, description="Admins may create a key for another account")
    kind: KeyKind = Field(
        default=KeyKind.secret,
        description="secret (a backend's), or publishable: safe in a web page, limited to shoppers' events "
        "(view, click, add_to_cart, remove_from_cart) and recommendation reads, from `origins` only",
    )
    origins: list[Origin] = Field(
        default=[], max_length=50, description="A publishable key's: the pages' origins, e.g. https://shop.example"
    )


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    name: str
    prefix: str
    scopes: Scopes
    kind: KeyKind
    origins: Annotated[list[str], BeforeValidator(_listed_or_none)]
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None
    revoked_at: UtcDateTime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret; shown this once and never again")


def _a_rate(value: str) -> str:
    parse_rate(value)
    return value.strip()


Rate = Annotated[str, Field(max_length=64), AfterValidator(_a_rate)]
_RATE = "e.g. 1000/minute, 10/hour (second, minute, hour, day, month, year); null: the default"


class QuotasUpdate(BaseModel):
    """The rates one API key or account is allowed, per class of request; null keeps the default
    (for a key: its account's quota, else the default)."""

    api: Rate | None = Field(default=None, description=f"Every request. {_RATE}", examples=["1000/minute"])
    training: Rate | None = Field(default=None, description=f"Training starts. {_RATE}")
    bulk: Rate | None = Field(default=None, description=f"Uploads, batch jobs, event batches over 1,000. {_RATE}")


class QuotasRead(QuotasUpdate):
    account_id: int | None
    api_key_id: int | None
    effective: dict[LimitClass, str] = Field(description="The rate each class is limited to, whoever set it")
    updated_at: UtcDateTime | None
    updated_by: int | None = Field(description="The admin who set them")
