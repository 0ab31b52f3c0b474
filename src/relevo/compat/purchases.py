"""Seed 002 (purchase-history service): record purchases, and the product to recommend."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from relevo.api.deps import EventWriterDep, Reader, SettingsDep, WriterCaller
from relevo.core.fields import ExternalId
from relevo.events.models import EventType
from relevo.events.schemas import EventIn
from relevo.recommend import service as recommend_service
from relevo.recommend.requests import catalog_snapshot, recent_events, served_model_if_any
from relevo.recommend.router import popular_products

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


class RecommendedProduct(BaseModel):
    user_id: str
    product: str | None


@router.get("/recommendations", response_model=RecommendedProduct, dependencies=[Reader])
async def recommended_product(request: Request, user_id: Annotated[str, Query(min_length=1)]) -> RecommendedProduct:
    """Seed 002's rule: the most popular product bought together with the user's purchases
    and not bought yet; the most popular product for users who bought nothing (or before
    any model is trained)."""
    product = None
    served = await served_model_if_any(request)
    if served is not None:
        await recent_events(request, served)
        snapshot = await catalog_snapshot(request)
        product = recommend_service.bought_with_purchases(
            served=served, serving=request.app.state.serving, snapshot=snapshot, user_id=user_id
        )
    if product is None:
        popular = await popular_products(request, category=None, window=None, count=1)
        product = popular[0].product_id if popular else None
    return RecommendedProduct(user_id=user_id, product=product)
