"""Response bodies of the privacy routes."""

from typing import Any

from pydantic import BaseModel, Field

from relevo.core.fields import UtcDateTime
from relevo.users.privacy_models import PrivacyRecord


class PrivacyRecordRead(BaseModel):
    id: int
    occurred_at: UtcDateTime
    account_id: int | None = Field(description="Who asked")
    action: str = Field(description="erase or export")
    user_id: str = Field(description="The shopper")
    details: dict[str, Any] = Field(description="erase: how many rows of each kind went, and newest_event")

    @classmethod
    def of(cls, entry: PrivacyRecord) -> "PrivacyRecordRead":
        return cls(
            id=entry.id,
            occurred_at=entry.occurred_at,
            account_id=entry.account_id,
            action=entry.action,
            user_id=entry.user_id,
            details=entry.details,
        )
