"""The bodies the client sends and reads, in the server's own shapes.

The server's schemas where importing them is light (events, catalog); copies of the answers
whose server modules pull in the database layer (recommendations, models, jobs), so that
`import relevo.client` stays small (tests/client/test_import.py)."""

from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from relevo.catalog.schemas import (
    ProductCreate,
    ProductRead,
    ProductUpdate,
    StoreCreate,
    StoreRead,
    StoreUpdate,
)
from relevo.events.schemas import EventIn, IngestResult

__all__ = [
    "EventIn",
    "IngestResult",
    "JobRead",
    "ModelSummary",
    "ModelVersionRead",
    "Page",
    "PopularProduct",
    "ProductCreate",
    "ProductRead",
    "ProductUpdate",
    "RecommendedForUser",
    "RecommendedProduct",
    "StoreCreate",
    "StoreRead",
    "StoreUpdate",
    "TrainRequest",
    "TrainingStarted",
    "UserRecommendations",
]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class ShownProduct(BaseModel):
    product_id: str
    name: str | None
    category: str | None
    price: Decimal | None
    currency: str | None


class RecommendedProduct(ShownProduct):
    score: float
    confidence: float


class RecommendedForUser(RecommendedProduct):
    reason: str


class PopularProduct(ShownProduct):
    users: int


class ServedModelRead(BaseModel):
    name: str
    version: int
    algorithm: str


class ExperimentServed(BaseModel):
    id: str
    variant: str


class UserRecommendations(BaseModel):
    user_id: str
    recommendation_id: str = Field(description="Send it back with clicks and purchases (event recommendation_id)")
    model: ServedModelRead
    items: list[RecommendedForUser]
    experiment: ExperimentServed | None = None


class TrainRequest(BaseModel):
    """The server checks the values (algorithm, config, seed's range); this names the fields."""

    algorithm: str = "hybrid"
    config: dict[str, Any] = Field(default_factory=dict)
    dataset_ids: list[int] = Field(default_factory=list)
    deploy: Literal["gate", "always", "never"] = "gate"
    evaluation: Literal["random", "temporal"] = "random"
    seed: int = 0


class TrainingStarted(BaseModel):
    job_id: str
    status: str
    name: str
    version: int
    algorithm: str


class ModelVersionRead(BaseModel):
    name: str
    version: int
    algorithm: str
    status: str
    source: str
    kind: str
    format: str
    description: str | None
    config: dict[str, Any]
    metrics: dict[str, Any]
    training: dict[str, Any]
    watermark: int
    job_id: str | None
    error: str | None
    created_at: datetime
    trained_at: datetime | None
    deployed_at: datetime | None


class ModelSummary(BaseModel):
    name: str
    versions: int
    deployed: ModelVersionRead | None


class JobRead(BaseModel):
    job_id: str
    kind: str
    status: str
    message: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    total_users: int
    processed_users: int
    failed_users: int
    error: str | None
    result: dict[str, Any]

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")
