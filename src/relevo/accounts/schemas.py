"""Request and response bodies of the accounts API."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from relevo.accounts.models import Role
from relevo.core.fields import DbInt, UtcDateTime

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


class AccessToken(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    account_id: DbInt | None = Field(default=None, description="Admins may create a key for another account")


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    name: str
    prefix: str
    created_at: UtcDateTime
    last_used_at: UtcDateTime | None
    revoked_at: UtcDateTime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret; shown this once and never again")
