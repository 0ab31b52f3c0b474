"""Routes of shopper privacy: erase a shopper, export what Relevo holds about them, and the
audit log of both. Admins only."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse

from relevo.api.deps import AdminCaller, DatabaseDep, LimitedRoute, SessionDep
from relevo.core.pagination import Page
from relevo.privacy import erasure, export
from relevo.privacy.schemas import PrivacyRecordRead
from relevo.users import privacy_audit as audit

router = APIRouter(prefix="/api/v1", tags=["privacy"], route_class=LimitedRoute)


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def erase_user(user_id: str, request: Request, caller: AdminCaller, database: DatabaseDep) -> None:
    """Erases the shopper (docs/api.md, "Shopper privacy"); asking again erases what is there then."""
    erased = request.app.state.serving.erased.note  # this process forgets them at once
    erasure.erase(database=database, account_id=caller.id, user_id=user_id, erased=erased)


@router.get("/users/{user_id}/export", response_class=StreamingResponse)
def export_user(user_id: str, caller: AdminCaller, database: DatabaseDep) -> StreamingResponse:
    """Everything Relevo holds about the shopper, as one JSON document (docs/api.md)."""
    pieces = export.export(database=database, account_id=caller.id, user_id=user_id)
    return StreamingResponse(pieces, media_type="application/json")


@router.get("/privacy/audit", response_model=Page[PrivacyRecordRead])
def privacy_audit(
    _: AdminCaller,
    session: SessionDep,
    user_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
) -> Page:
    """Every erase and export, newest first: who asked (account id) and when."""
    entries, next_cursor = audit.list_records(session=session, user_id=user_id, limit=limit, cursor=cursor)
    return Page(items=[PrivacyRecordRead.of(entry) for entry in entries], next_cursor=next_cursor)
