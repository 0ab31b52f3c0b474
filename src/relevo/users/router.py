"""Routes of the users API: the shoppers Relevo knows."""

from typing import Annotated

from fastapi import APIRouter, Query

from relevo.api.deps import AdminCaller, LimitedRoute, SessionDep
from relevo.core.pagination import Page
from relevo.users import service
from relevo.users.models import User
from relevo.users.schemas import UserRead

router = APIRouter(prefix="/api/v1/users", tags=["users"], route_class=LimitedRoute)


def _read(user: User) -> UserRead:
    return UserRead(
        user_id=user.external_id, attributes=user.attributes, created_at=user.created_at, erased_at=user.erased_at
    )


@router.get("", response_model=Page[UserRead])
def list_users(
    _: AdminCaller, session: SessionDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100, cursor: str | None = None
) -> Page:
    users, next_cursor = service.list_users(session=session, limit=limit, cursor=cursor)
    return Page(items=[_read(user) for user in users], next_cursor=next_cursor)


@router.get("/{user_id}", response_model=UserRead)
def read_user(user_id: str, _: AdminCaller, session: SessionDep) -> UserRead:
    return _read(service.get_or_raise(session=session, external_id=user_id))
