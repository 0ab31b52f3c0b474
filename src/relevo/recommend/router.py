"""Routes of the recommendations API. Public by default (RELEVO_PUBLIC_RECOMMENDATIONS), and
async: answers come from memory, without a database round trip."""

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from relevo.api.deps import ReadRoute
from relevo.recommend import service
from relevo.recommend.catalog_view import Filters
from relevo.recommend.requests import catalog_snapshot, recommendations_for, served_model
from relevo.recommend.schemas import PopularProduct, RecommendedProduct, ServedModelRead, UserRecommendations
from relevo.registry.schemas import MODEL_NAME

router = APIRouter(prefix="/api/v1", tags=["recommendations"], route_class=ReadRoute)

Count = Annotated[int, Query(ge=1, le=200, description="How many items")]
Window = Annotated[str | None, Query(pattern=r"^(all|[1-9][0-9]{0,3}[hdw])$", description='"24h", "7d", "4w" or "all"')]
_POPULAR_SECONDS = 60.0  # popular lists are computed at most this often


def filters(
    category: str | None = None,
    store_id: int | None = None,
    min_price: Annotated[float | None, Query(ge=0)] = None,
    max_price: Annotated[float | None, Query(ge=0)] = None,
    in_stock: bool = False,
) -> Filters:
    return Filters(category=category, store_id=store_id, min_price=min_price, max_price=max_price, in_stock=in_stock)


@router.get("/recommendations/{user_id}", response_model=UserRecommendations)
async def recommendations(
    request: Request,
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
    model: Annotated[
        str | None, Query(pattern=MODEL_NAME, description="Serve another model's deployed version")
    ] = None,
    algorithm: Annotated[
        str | None, Query(description="Score with one component of the deployed hybrid (als, item_knn, ...)")
    ] = None,
) -> UserRecommendations:
    served = await served_model(request, model)
    result = await recommendations_for(
        request,
        served,
        user_id,
        count,
        filters(category, store_id, min_price, max_price, in_stock),
        exclude=[item for item in (exclude or "").split(",") if item],
        exclude_bought=exclude_bought,
        exclude_viewed=exclude_viewed,
        algorithm=algorithm,
    )
    return UserRecommendations(
        user_id=user_id,
        recommendation_id=result.recommendation_id,
        model=ServedModelRead(name=served.name, version=served.version, algorithm=result.algorithm),
        items=[RecommendedProduct.of(item) for item in result.items],
    )


@router.get("/products/{product_id}/similar", response_model=list[RecommendedProduct])
async def similar_products(
    request: Request,
    product_id: str,
    count: Count = 10,
    category: str | None = None,
    in_stock: bool = False,
) -> list[RecommendedProduct]:
    served = await served_model(request)
    snapshot = await catalog_snapshot(request)
    items = service.similar_products(
        served=served,
        snapshot=snapshot,
        serving=request.app.state.serving,
        product_id=product_id,
        count=count,
        filters=Filters(category=category, in_stock=in_stock),
    )
    return [RecommendedProduct.of(item) for item in items]


@router.get("/products/{product_id}/bought-together", response_model=list[RecommendedProduct])
async def bought_together(
    request: Request, product_id: str, count: Count = 10, in_stock: bool = False
) -> list[RecommendedProduct]:
    served = await served_model(request)
    snapshot = await catalog_snapshot(request)
    items = service.bought_together(
        served=served,
        snapshot=snapshot,
        serving=request.app.state.serving,
        product_id=product_id,
        count=count,
        filters=Filters(in_stock=in_stock),
    )
    return [RecommendedProduct.of(item) for item in items]


@router.get("/popular", response_model=list[PopularProduct])
async def popular(
    request: Request, category: str | None = None, window: Window = None, count: Count = 10
) -> list[PopularProduct]:
    """The products most users interacted with: needs no trained model."""
    return await popular_products(request, category=category, window=window, count=count)


async def popular_products(request: Request, *, category: str | None, window: str | None, count: int) -> list:
    cache: dict = request.app.state.serving.popular
    key = (category, window, count)
    found = cache.get(key)
    if found is not None and found[0] > time.monotonic():
        return found[1]
    rows = await run_in_threadpool(service.popular, request.app.state.database, window, category, count)
    snapshot = await catalog_snapshot(request)
    answer = [
        PopularProduct(
            product_id=product.product_id,
            name=product.name,
            category=product.category,
            price=product.price,
            currency=product.currency,
            users=users,
        )
        for product, users in ((snapshot.view(product_id), users) for product_id, users in rows)
    ]
    cache[key] = (time.monotonic() + _POPULAR_SECONDS, answer)
    return answer
