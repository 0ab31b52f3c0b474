"""The purchases API (a purchase-history service): record purchases, generate the product to
recommend in the background, and read it (the stored one, else computed now)."""

import time
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from relevo.api.deps import (
    EventSender,
    EventWriterDep,
    ExecutorDep,
    LimitedRoute,
    RecommendationReader,
    SessionDep,
    SettingsDep,
    read_route,
)
from relevo.batch import service as batch_service
from relevo.core.fields import ExternalId
from relevo.events.models import EventType
from relevo.events.schemas import EventIn
from relevo.exposures.models import AnswerSource
from relevo.recommend.answer import UserRequest
from relevo.recommend.in_experiments import assignment_for, served
from relevo.recommend.recorded import record, record_answer, record_stored
from relevo.recommend.request_inputs import answer_inputs_if_any
from relevo.recommend.router import popular_products

router = APIRouter(tags=["purchases API"], route_class=LimitedRoute)

# The purchases API's rule is the co-purchase model's (the deployed hybrid's component, or the
# model itself when it has none): items bought with the user's purchases, not bought yet, most
# popular first; the most popular items for users who bought nothing.
RULE = "cooccurrence"
ROUTE = "purchases"  # what its answers are recorded as served on


class PurchasesIn(BaseModel):
    user_id: ExternalId
    products: list[ExternalId] = Field(min_length=1, max_length=1000)


class PurchasesAdded(BaseModel):
    status: str = "purchases_added"


@router.post("/purchases", response_model=PurchasesAdded)
async def add_purchases(
    body: PurchasesIn, _: EventSender, writer: EventWriterDep, settings: SettingsDep
) -> PurchasesAdded:
    events = [
        EventIn(user_id=body.user_id, product_id=product, event_type=EventType.purchase) for product in body.products
    ]
    await writer.ingest(events, source="purchases", max_batch=settings.max_event_batch)
    return PurchasesAdded()


class RecommendedProduct(BaseModel):
    user_id: str
    product: str | None


@read_route(router, "/recommendations", response_model=RecommendedProduct)
async def recommended_product(request: Request, user_id: Annotated[str, Query(min_length=1)]) -> RecommendedProduct:
    """The purchases API's rule: the most popular product bought together with the user's
    purchases and not bought yet; the most popular product for users who bought nothing (or
    before any model is trained)."""
    started = time.perf_counter()
    inside = await assignment_for(request, user_id) is not None
    inputs = await answer_inputs_if_any(request)
    answer = None
    if inputs is not None or inside:
        stored = None if inside else await run_in_threadpool(_stored, request, user_id, inputs.version.version_id)
        if stored is not None:
            record_stored(
                request, route=ROUTE, user_id=user_id, items=[stored], version=inputs.version, started=started
            )
            return RecommendedProduct(user_id=user_id, product=stored)
        answer = await served(request, UserRequest(user_id, 1), route=ROUTE, rule=RULE, record=False)
        if answer.items:
            record_answer(request, answer, route=ROUTE, started=started)
            return RecommendedProduct(user_id=user_id, product=answer.items[0].product.product_id)
    popular = await popular_products(request, category=None, window=None, count=1)
    product = popular[0].product_id if popular else None
    record(
        request,
        route=ROUTE,
        user_id=user_id,
        items=[product] if product else [],
        source=AnswerSource.fallback,
        fallback=True,
        algorithm="popular",
        started=started,
        version=None if answer is None else answer.version,
        experiment=None if answer is None else answer.experiment,
    )
    return RecommendedProduct(user_id=user_id, product=product)


class GenerateRequest(BaseModel):
    user_id: ExternalId


class GenerationStarted(BaseModel):
    status: str = "recommendations_generation_started"


@router.post("/recommendations/generate", response_model=GenerationStarted, status_code=202)
def generate(
    body: GenerateRequest,
    caller: RecommendationReader,
    session: SessionDep,
    settings: SettingsDep,
    executor: ExecutorDep,
    tasks: BackgroundTasks,
) -> GenerationStarted:
    """Computes the user's product by the purchases API's rule in the background;
    GET /recommendations answers with it once stored."""
    job = batch_service.start_generation(
        session=session,
        user_ids=[body.user_id],
        top_k=1,
        algorithm=RULE,
        created_by=caller.id,
        max_users=settings.max_batch_users,
        max_pending=settings.max_pending_jobs,
    )
    tasks.add_task(executor.submit, job.id)  # after the response: the job is committed by then
    return GenerationStarted()


def _stored(request: Request, user_id: str, version_id: int) -> str | None:
    with request.app.state.database.session(write=False) as session:
        found = batch_service.latest_for_user(session=session, user_id=user_id, version_id=version_id, algorithm=RULE)
        return found.items[0]["product_id"] if found is not None and found.items else None
