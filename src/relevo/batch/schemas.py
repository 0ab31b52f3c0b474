"""Request and response bodies of batch generation."""

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from relevo.catalog.schemas import FiltersIn
from relevo.core.fields import ExternalId

TopK = Field(default=20, ge=1, le=200, description="Recommendations per user")


class BatchJobCreate(BaseModel):
    """Users given by id, or a segment: every user, or those active since a moment."""

    user_ids: list[ExternalId] | None = Field(default=None, min_length=1)
    segment: Literal["all", "active"] | None = None
    active_since: datetime | None = None
    top_k: int = TopK
    filters: FiltersIn = Field(default_factory=FiltersIn)
    scoring: Literal["exact", "approximate"] = Field(
        default="exact",
        description="approximate: search an item graph instead of scoring every product (ALS and BPR models; "
        "much faster on a large catalog, a few results may differ from exact)",
    )

    @model_validator(mode="after")
    def _one_way_to_name_users(self) -> Self:
        if (self.user_ids is None) == (self.segment is None):
            raise ValueError("give either user_ids or a segment (all, or active with active_since)")
        if self.segment == "active" and self.active_since is None:
            raise ValueError("the active segment needs active_since")
        return self


class GenerateRecommendationsRequest(BaseModel):
    """The background-jobs API's body."""

    user_ids: list[ExternalId] = Field(min_length=1)
    top_k: int = TopK


class ResultRead(BaseModel):
    user_id: str
    items: list[dict]
    error: str | None


class ResultsPage(BaseModel):
    items: list[ResultRead]
    next_cursor: str | None = None
