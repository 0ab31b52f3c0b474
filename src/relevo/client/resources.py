"""The API's resources (events, catalog, recommendations, models, jobs), each method one call.

A resource hands its `Call` to the client's `send`: the sync client answers with the result,
the async client with an awaitable of it."""

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter

from relevo.client.calls import Call, json_body, query
from relevo.client.schemas import (
    EventIn,
    IngestResult,
    JobRead,
    ModelSummary,
    ModelVersionRead,
    Page,
    PopularProduct,
    ProductCreate,
    ProductRead,
    ProductUpdate,
    RecommendedProduct,
    StoreCreate,
    StoreRead,
    StoreUpdate,
    TrainingStarted,
    TrainRequest,
    UserRecommendations,
)

Send = Callable[[Call], Any]


def _adapter(kind: Any) -> TypeAdapter:
    return TypeAdapter(kind)


INGESTED = _adapter(IngestResult)
STORE = _adapter(StoreRead)
STORES = _adapter(list[StoreRead])
PRODUCT = _adapter(ProductRead)
PRODUCTS = _adapter(list[ProductRead])
FOR_USER = _adapter(UserRecommendations)
RECOMMENDED = _adapter(list[RecommendedProduct])
POPULAR = _adapter(list[PopularProduct])
MODELS = _adapter(list[ModelSummary])
STARTED = _adapter(TrainingStarted)
VERSION = _adapter(ModelVersionRead)
VERSIONS = _adapter(Page[ModelVersionRead])
JOB = _adapter(JobRead)


def segment(value: str | int) -> str:
    """A path segment: a shop's id may hold `/`, `?` or spaces."""
    return quote(str(value), safe="")


class Resource:
    def __init__(self, send: Send) -> None:
        self._send = send


class Events(Resource):
    """POST /api/v1/events: one event or a batch; an event_id makes a send safe to repeat."""

    def send(self, event: EventIn | dict[str, Any]) -> IngestResult:
        checked = EventIn.model_validate(event)
        body = checked.model_dump(mode="json", exclude_none=True)
        return self._send(Call("POST", "/api/v1/events", INGESTED, body=body, idempotent=checked.event_id is not None))

    def send_batch(self, events: Iterable[EventIn | dict[str, Any]]) -> IngestResult:
        checked = [EventIn.model_validate(event) for event in events]
        body = [event.model_dump(mode="json", exclude_none=True) for event in checked]
        repeatable = all(event.event_id is not None for event in checked)
        return self._send(Call("POST", "/api/v1/events", INGESTED, body=body, idempotent=repeatable))


class Catalog(Resource):
    """The store API: stores, and products created with the shop's own id (`product_id`) and
    then addressed by Relevo's numeric id (`id` in every product it returns)."""

    def create_store(self, store: StoreCreate | dict[str, Any]) -> StoreRead:
        body = json_body(StoreCreate.model_validate(store))
        return self._send(Call("POST", "/api/v1/store/", STORE, body=body))

    def update_store(self, store_id: int, change: StoreUpdate | dict[str, Any]) -> StoreRead:
        body = json_body(StoreUpdate.model_validate(change))
        return self._send(Call("PATCH", f"/api/v1/store/{segment(store_id)}/", STORE, body=body, idempotent=True))

    def get_store(self, store_id: int) -> StoreRead:
        return self._send(Call("GET", f"/api/v1/store/{segment(store_id)}/", STORE))

    def list_stores(self) -> list[StoreRead]:
        return self._send(Call("GET", "/api/v1/store/", STORES))

    def create_product(self, product: ProductCreate | dict[str, Any]) -> ProductRead:
        body = json_body(ProductCreate.model_validate(product))
        return self._send(Call("POST", "/api/v1/store/products/", PRODUCT, body=body))

    def update_product(self, relevo_id: int, change: ProductUpdate | dict[str, Any]) -> ProductRead:
        body = json_body(ProductUpdate.model_validate(change))
        path = f"/api/v1/store/products/{segment(relevo_id)}/"
        return self._send(Call("PATCH", path, PRODUCT, body=body, idempotent=True))

    def get_product(self, relevo_id: int, *, currency: str | None = None) -> ProductRead:
        """Also counts a view of the product (its views_count), as the store API does."""
        path = f"/api/v1/store/products/{segment(relevo_id)}/"
        return self._send(Call("GET", path, PRODUCT, params=query(currency=currency)))

    def list_products(
        self, *, category: str | None = None, limit: int = 100, offset: int = 0, currency: str | None = None
    ) -> list[ProductRead]:
        params = query(category=category, limit=limit, offset=offset, currency=currency)
        return self._send(Call("GET", "/api/v1/store/products/", PRODUCTS, params=params))


class Recommendations(Resource):
    """Lists for a shopper, similar and bought-together products, and popular products."""

    def for_user(
        self,
        user_id: str,
        *,
        count: int = 10,
        category: str | None = None,
        store_id: int | None = None,
        min_price: float | None = None,
        max_price: float | None = None,
        in_stock: bool | None = None,
        exclude: Iterable[str] = (),
        exclude_bought: bool | None = None,
        exclude_viewed: bool | None = None,
        algorithm: str | None = None,
        model: str | None = None,
    ) -> UserRecommendations:
        params = query(
            count=count,
            category=category,
            store_id=store_id,
            min_price=min_price,
            max_price=max_price,
            in_stock=in_stock,
            exclude=",".join(exclude) or None,
            exclude_bought=exclude_bought,
            exclude_viewed=exclude_viewed,
            algorithm=algorithm,
            model=model,
        )
        return self._send(Call("GET", f"/api/v1/recommendations/{segment(user_id)}", FOR_USER, params=params))

    def similar(
        self, product_id: str, *, count: int = 10, category: str | None = None, in_stock: bool | None = None
    ) -> list[RecommendedProduct]:
        params = query(count=count, category=category, in_stock=in_stock)
        return self._send(Call("GET", f"/api/v1/products/{segment(product_id)}/similar", RECOMMENDED, params=params))

    def bought_together(
        self, product_id: str, *, count: int = 10, in_stock: bool | None = None
    ) -> list[RecommendedProduct]:
        params = query(count=count, in_stock=in_stock)
        path = f"/api/v1/products/{segment(product_id)}/bought-together"
        return self._send(Call("GET", path, RECOMMENDED, params=params))

    def popular(
        self, *, count: int = 10, category: str | None = None, window: str | None = None
    ) -> list[PopularProduct]:
        params = query(count=count, category=category, window=window)
        return self._send(Call("GET", "/api/v1/popular", POPULAR, params=params))


class Models(Resource):
    """The models API: train a version (a job), list versions, deploy one, roll back."""

    def list(self) -> list[ModelSummary]:
        return self._send(Call("GET", "/api/v1/models", MODELS))

    def train(self, name: str, request: TrainRequest | dict[str, Any] | None = None) -> TrainingStarted:
        body = json_body(TrainRequest.model_validate(request or {}))
        return self._send(Call("POST", f"/api/v1/models/{segment(name)}/train", STARTED, body=body))

    def versions(self, name: str, *, limit: int = 100, cursor: str | None = None) -> Page[ModelVersionRead]:
        params = query(limit=limit, cursor=cursor)
        return self._send(Call("GET", f"/api/v1/models/{segment(name)}/versions", VERSIONS, params=params))

    def version(self, name: str, version: int) -> ModelVersionRead:
        return self._send(Call("GET", f"/api/v1/models/{segment(name)}/versions/{segment(version)}", VERSION))

    def deploy(self, name: str, version: int) -> ModelVersionRead:
        path = f"/api/v1/models/{segment(name)}/versions/{segment(version)}/deploy"
        return self._send(Call("POST", path, VERSION))

    def rollback(self, name: str) -> ModelVersionRead:
        return self._send(Call("POST", f"/api/v1/models/{segment(name)}/rollback", VERSION))


class Jobs(Resource):
    """Background jobs (trainings, batch runs); `wait` is the client's own, sync or async."""

    def get(self, job_id: str) -> JobRead:
        return self._send(Call("GET", f"/api/v1/jobs/{segment(job_id)}", JOB))
