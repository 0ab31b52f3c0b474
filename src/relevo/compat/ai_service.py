"""The AI service: interaction and product ingestion for the internal integration
(guarded by the shared secret header, or a token), and its public recommendations."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, Field

from relevo.accounts.callers import Caller
from relevo.accounts.scopes import Scope
from relevo.api.deps import EventWriterDep, LimitedRoute, SessionDep, SettingsDep, internal_caller, read_route
from relevo.catalog import service as catalog_service
from relevo.catalog.schemas import CatalogProductIn, CatalogProductRead
from relevo.core.fields import DbInt, ExternalId, UtcDateTime
from relevo.events import service as events_service
from relevo.events.schemas import EventIn, EventTypeName
from relevo.recommend import products
from relevo.recommend.request_inputs import answer_inputs_if_any
from relevo.recommend.router import popular_products

router = APIRouter(tags=["AI service"], route_class=LimitedRoute)
# The shared secret header, or a token holding the scope (reading every shopper's behaviour
# is an admin's matter).
InternalSender = Annotated[Caller | None, Depends(internal_caller(Scope.events_write))]
InternalBehaviourReader = Annotated[Caller | None, Depends(internal_caller(Scope.admin))]
InternalCatalogEditor = Annotated[Caller | None, Depends(internal_caller(Scope.catalog_write))]
InternalReader = Annotated[Caller | None, Depends(internal_caller(Scope.read))]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[DbInt, Query(ge=0)]


class InteractionIn(BaseModel):
    user_id: ExternalId
    product_id: ExternalId
    category: str | None = Field(default=None, max_length=255)
    interaction_type: EventTypeName = "view"


class InteractionRead(BaseModel):
    user_id: str
    product_id: str
    category: str | None
    interaction_type: str
    timestamp: UtcDateTime


class Saved(BaseModel):
    message: str


@router.post("/interactions", response_model=Saved, status_code=status.HTTP_201_CREATED)
@router.post("/ai/interactions", response_model=Saved, status_code=status.HTTP_201_CREATED)
async def save_interaction(
    body: InteractionIn, _: InternalSender, writer: EventWriterDep, settings: SettingsDep
) -> Saved:
    event = EventIn(user_id=body.user_id, product_id=body.product_id, event_type=body.interaction_type)
    categories = {body.product_id: body.category} if body.category else None
    await writer.ingest([event], source="ai_service", max_batch=settings.max_event_batch, categories=categories)
    return Saved(message="Interaction saved successfully")


@router.get("/interactions", response_model=list[InteractionRead])
def list_interactions(_: InternalBehaviourReader, session: SessionDep, limit: Limit = 1000, offset: Offset = 0) -> list:
    rows = events_service.list_interactions(session=session, limit=limit, offset=offset)
    return [
        InteractionRead(
            user_id=user_id,
            product_id=product_id,
            category=category,
            interaction_type=event.event_type,
            timestamp=event.occurred_at,
        )
        for event, user_id, product_id, category in rows
    ]


@router.post("/products", response_model=Saved, status_code=status.HTTP_201_CREATED)
@router.post("/ai/products", response_model=Saved, status_code=status.HTTP_201_CREATED)
def save_product(body: CatalogProductIn, caller: InternalCatalogEditor, session: SessionDep) -> Saved:
    catalog_service.upsert_product(
        session=session, caller=caller, external_id=body.product_id, name=body.product_name, category=body.category
    )
    return Saved(message="Product saved successfully")


@router.get("/products", response_model=list[CatalogProductRead])
def list_products(
    _: InternalReader, session: SessionDep, category: str | None = None, limit: Limit = 1000, offset: Offset = 0
) -> list:
    products = catalog_service.list_catalog(session=session, limit=limit, offset=offset, category=category)
    return [CatalogProductRead(product_id=p.external_id, product_name=p.name, category=p.category) for p in products]


@read_route(router, "/interaction-recommendations", response_model=list[str])
async def interaction_recommendations(
    request: Request,
    product_id: Annotated[str, Query(min_length=1)],
    category: str | None = None,
    count: Annotated[int, Query(ge=1, le=200)] = 10,
) -> list[str]:
    """Products whose users also interacted with this one (item-kNN), in the category if given;
    popular products of the category when the product is unknown or no model is trained."""
    inputs = await answer_inputs_if_any(request)
    if inputs is not None:
        found = products.neighbours_in_category(inputs, product_id, category, count)
        if found:
            return found
    popular = await popular_products(request, category=category, window=None, count=count + 1)
    return [item.product_id for item in popular if item.product_id != product_id][:count]


@read_route(router, "/category-recommendations", response_model=list[str])
async def category_recommendations(
    request: Request, category: Annotated[str, Query(min_length=1)], count: Annotated[int, Query(ge=1, le=200)] = 10
) -> list[str]:
    """Products of the category's cluster (TF-IDF on categories, K-Means), most popular first;
    the category's popular products before any model is trained."""
    inputs = await answer_inputs_if_any(request)
    if inputs is not None:
        found = products.in_category_cluster(inputs, category, count)
        if found:
            return found
    return [item.product_id for item in await popular_products(request, category=category, window=None, count=count)]
