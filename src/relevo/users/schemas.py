"""Request and response bodies of the users API."""

from typing import Any

from pydantic import BaseModel

from relevo.core.fields import UtcDateTime


class UserRead(BaseModel):
    user_id: str
    attributes: dict[str, Any]
    created_at: UtcDateTime
    erased_at: UtcDateTime | None = None  # when last erased (DELETE /api/v1/users/{user_id})
