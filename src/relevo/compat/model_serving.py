"""Seed 004 (model serving): login with query parameters."""

from fastapi import APIRouter
from pydantic import BaseModel

from relevo.accounts import service as accounts_service
from relevo.api.deps import SessionDep, SettingsDep

router = APIRouter(tags=["seed 004: model serving"])


class LoginToken(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/login", response_model=LoginToken)
def login(username: str, password: str, session: SessionDep, settings: SettingsDep) -> LoginToken:
    account = accounts_service.authenticate_password(session=session, username=username, password=password)
    return LoginToken(access_token=accounts_service.issue_access_token(account=account, settings=settings))
