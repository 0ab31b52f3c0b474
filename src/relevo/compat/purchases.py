"""Seed 002 (purchase-history service): record purchases."""

from fastapi import APIRouter
from pydantic import BaseModel, Field

from relevo.api.deps import EventWriterDep, SettingsDep, WriterCaller
from relevo.core.fields import ExternalId
from relevo.events.models import EventType
from relevo.events.schemas import EventIn

router = APIRouter(tags=["seed 002: purchases"])


class PurchasesIn(BaseModel):
    user_id: ExternalId
    products: list[ExternalId] = Field(min_length=1, max_length=1000)


class PurchasesAdded(BaseModel):
    status: str = "purchases_added"


@router.post("/purchases", response_model=PurchasesAdded)
async def add_purchases(
    body: PurchasesIn, _: WriterCaller, writer: EventWriterDep, settings: SettingsDep
) -> PurchasesAdded:
    events = [
        EventIn(user_id=body.user_id, product_id=product, event_type=EventType.purchase) for product in body.products
    ]
    await writer.ingest(events, source="seed002", max_batch=settings.max_event_batch)
    return PurchasesAdded()
