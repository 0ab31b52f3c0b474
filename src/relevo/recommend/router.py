"""Routes of the recommendations API. Public by default (RELEVO_PUBLIC_RECOMMENDATIONS), and
async: answers come from memory, mostly without a database round trip."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from relevo.api.deps import LimitedRoute, ModelManager, ReadRoute
from relevo.recommend import products
from relevo.recommend.answer import UserRequest
from relevo.recommend.catalog_view import Filters
from relevo.recommend.explanation import explain_for_user
from relevo.recommend.in_experiments import served
from relevo.recommend.request_inputs import (
    answer_inputs,
    catalog_snapshot,
    events_since_training,
    serving_state,
)
from relevo.recommend.schemas import (
    PopularProduct,
    RecommendationExplanation,
    RecommendedProduct,
    UserRecommendations,
)
from relevo.registry.schemas import MODEL_NAME

router = APIRouter(prefix="/api/v1", tags=["recommendations"], route_class=ReadRoute)

Count = Annotated[int, Query(ge=1, le=200, description="How many items")]
Window = Annotated[str | None, Query(pattern=r"^(all|[1-9][0-9]{0,3}[hdw])$", description='"24h", "7d", "4w" or "all"')]


def user_request(
    user_id: str,
    count: Count = 10,
    category: str | None = None,
    store_id: int | None = None,
    min_price: Annotated[float | None, Query(ge=0)] = None,
    max_price: Annotated[float | None, Query(ge=0)] = None,
    in_stock: bool = False,
    exclude: Annotated[str | None, Query(description="Product ids to leave out, comma-separated")] = None,
    exclude_bought: Annotated[bool, Query(description="Leave out what the user bought or rated")] = True,
    exclude_viewed: Annotated[bool, Query(description="Leave out everything the user interacted with")] = False,
    algorithm: Annotated[
        str | None, Query(description="Score with one component of the deployed hybrid (als, item_knn, ...)")
    ] = None,
) -> UserRequest:
    """A recommendation request's parameters, as the service takes them."""
    return UserRequest(
        user_id=user_id,
        count=count,
        filters=Filters(category, store_id, min_price, max_price, in_stock),
        exclude=tuple(sorted({item for item in (exclude or "").split(",") if item})),
        exclude_bought=exclude_bought,
        exclude_viewed=exclude_viewed,
        algorithm=algorithm,
        reasons=True,  # this route's answers say why, and so does the explain route
    )


Asked = Annotated[UserRequest, Depends(user_request)]
ModelName = Annotated[str | None, Query(pattern=MODEL_NAME, description="Serve another model's deployed version")]


@router.get("/recommendations/{user_id}", response_model=UserRecommendations)
async def recommend(request: Request, asked: Asked, model: ModelName = None) -> UserRecommendations:
    return UserRecommendations.of(await served(request, asked, route="canonical", model=model))


async def explain(
    request: Request, asked: Asked, _: ModelManager, model: ModelName = None
) -> RecommendationExplanation:
    """What GET /api/v1/recommendations/{user_id} would answer with these parameters, and why:
    which way it was found, the history it was found from, what each filter removed, and each
    item's score from each part of the model. For admins and keys allowed to manage models."""
    inputs = await answer_inputs(request, model)
    events = await events_since_training(inputs, asked.user_id)
    explained = await run_in_threadpool(explain_for_user, request.app.state.database, inputs, events, asked)
    return RecommendationExplanation.of(explained)


# Not a public read: an ordinary route, which checks its caller as its dependencies say.
router.add_api_route(
    "/recommendations/{user_id}/explain",
    explain,
    methods=["GET"],
    response_model=RecommendationExplanation,
    route_class_override=LimitedRoute,
)


@router.get("/products/{product_id}/similar", response_model=list[RecommendedProduct])
async def similar_products(
    request: Request, product_id: str, count: Count = 10, category: str | None = None, in_stock: bool = False
) -> list[RecommendedProduct]:
    inputs = await answer_inputs(request)
    items = products.similar_products(inputs, product_id, count, Filters(category=category, in_stock=in_stock))
    return [RecommendedProduct.of(item) for item in items]


@router.get("/products/{product_id}/bought-together", response_model=list[RecommendedProduct])
async def bought_together(
    request: Request, product_id: str, count: Count = 10, in_stock: bool = False
) -> list[RecommendedProduct]:
    inputs = await answer_inputs(request)
    items = products.bought_together(inputs, product_id, count, Filters(in_stock=in_stock))
    return [RecommendedProduct.of(item) for item in items]


@router.get("/popular", response_model=list[PopularProduct])
async def popular(
    request: Request, category: str | None = None, window: Window = None, count: Count = 10
) -> list[PopularProduct]:
    """The products most users interacted with: needs no trained model."""
    return await popular_products(request, category=category, window=window, count=count)


async def popular_products(request: Request, *, category: str | None, window: str | None, count: int) -> list:
    """Popular lists are computed at most once a minute per (category, window, count)."""
    state = serving_state(request)
    key = (category, window, count)
    found = state.popular.get(key)
    if found is not None:
        return found
    rows = await run_in_threadpool(products.popular, request.app.state.database, window, category, count)
    snapshot = await catalog_snapshot(request)
    answer = [PopularProduct.of(snapshot.view(product_id), users) for product_id, users in rows]
    state.popular.put(key, answer)
    return answer
