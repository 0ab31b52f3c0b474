"""Routes of the store API, which is also Relevo's catalog API."""

from typing import Annotated

from fastapi import APIRouter, Query, status

from relevo.api.deps import CurrentCaller, ReaderCaller, SessionDep, SettingsDep
from relevo.api.errors import DetailRoute
from relevo.catalog import service
from relevo.catalog.currency import shown_price
from relevo.catalog.models import Product, Store
from relevo.catalog.schemas import (
    Currency,
    Deleted,
    ProductCreate,
    ProductRead,
    ProductUpdate,
    StoreCreate,
    StoreRead,
    StoreUpdate,
)
from relevo.core.config import Settings
from relevo.core.fields import DbId, DbInt
from relevo.events import service as events_service

router = APIRouter(prefix="/api/v1/store", tags=["catalog"], route_class=DetailRoute)
CurrencyQuery = Annotated[Currency | None, Query(description="Also show the price in this currency")]


def store_read(store: Store) -> StoreRead:
    return StoreRead(id=store.id, name=store.name, owner=store.owner.username, created_at=store.created_at)


def product_read(product: Product, settings: Settings, currency: str | None = None) -> ProductRead:
    converted, converted_currency = shown_price(
        product.price,
        source=product.currency or settings.base_currency,
        wanted=currency,
        rates=settings.currency_rates,
    )
    return ProductRead(
        id=product.id,
        product_id=product.external_id,
        name=product.name,
        description=product.description,
        price=product.price,
        quantity=product.quantity,
        category=product.category,
        store=product.store_id,
        views_count=product.views_count,
        converted_price=converted,
        converted_currency=converted_currency,
        currency=product.currency,
        attributes=product.attributes,
        is_active=product.is_active,
    )


# Product routes come first: /products/ must not be read as a store id.


@router.get("/products/", response_model=list[ProductRead])
def list_products(
    caller: ReaderCaller,
    session: SessionDep,
    settings: SettingsDep,
    currency: CurrencyQuery = None,
    category: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[DbInt, Query(ge=0)] = 0,
) -> list[ProductRead]:
    products = service.list_products(session=session, caller=caller, limit=limit, offset=offset, category=category)
    return [product_read(product, settings, currency) for product in products]


@router.post("/products/", response_model=ProductRead, status_code=status.HTTP_201_CREATED)
def create_product(
    data: ProductCreate, caller: CurrentCaller, session: SessionDep, settings: SettingsDep
) -> ProductRead:
    product = service.create_product(
        session=session,
        caller=caller,
        data=data,
        base_currency=settings.base_currency,
        currency_rates=settings.currency_rates,
    )
    return product_read(product, settings)


@router.get("/products/most-popular/", response_model=list[ProductRead])
def most_popular_products(
    _: ReaderCaller,
    session: SessionDep,
    settings: SettingsDep,
    currency: CurrencyQuery = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[ProductRead]:
    return [product_read(product, settings, currency) for product in service.most_popular(session=session, limit=limit)]


@router.get("/products/{product_id}/", response_model=ProductRead)
def view_product(
    product_id: DbId, caller: ReaderCaller, session: SessionDep, settings: SettingsDep, currency: CurrencyQuery = None
) -> ProductRead:
    """Counts a view (views_count; a `view` event too when the caller is a shopper, not staff)
    and returns the product."""
    product = events_service.record_product_view(session=session, account=caller, product_id=product_id)
    return product_read(product, settings, currency)


@router.put("/products/{product_id}/", response_model=ProductRead)
@router.patch("/products/{product_id}/", response_model=ProductRead)
def update_product(
    product_id: DbId, data: ProductUpdate, caller: CurrentCaller, session: SessionDep, settings: SettingsDep
) -> ProductRead:
    product = service.get_product_or_raise(session=session, product_id=product_id)
    product = service.update_product(
        session=session, caller=caller, product=product, data=data, currency_rates=settings.currency_rates
    )
    return product_read(product, settings)


@router.delete("/products/{product_id}/", response_model=Deleted)
def delete_product(product_id: DbId, caller: CurrentCaller, session: SessionDep) -> Deleted:
    product = service.get_product_or_raise(session=session, product_id=product_id)
    service.delete_product(session=session, caller=caller, product=product)
    return Deleted(detail="Product deleted successfully.")


@router.get("/", response_model=list[StoreRead])
def list_stores(caller: ReaderCaller, session: SessionDep) -> list[StoreRead]:
    return [store_read(store) for store in service.list_stores(session=session, caller=caller)]


@router.post("/", response_model=StoreRead, status_code=status.HTTP_201_CREATED)
def create_store(data: StoreCreate, caller: CurrentCaller, session: SessionDep) -> StoreRead:
    return store_read(service.create_store(session=session, caller=caller, data=data))


@router.get("/{store_id}/", response_model=StoreRead)
def read_store(store_id: DbId, caller: ReaderCaller, session: SessionDep) -> StoreRead:
    return store_read(service.get_own_store_or_raise(session=session, caller=caller, store_id=store_id))


@router.put("/{store_id}/", response_model=StoreRead)
@router.patch("/{store_id}/", response_model=StoreRead)
def update_store(store_id: DbId, data: StoreUpdate, caller: CurrentCaller, session: SessionDep) -> StoreRead:
    store = service.get_own_store_or_raise(session=session, caller=caller, store_id=store_id, change=True)
    return store_read(service.update_store(session=session, store=store, data=data))


@router.delete("/{store_id}/", response_model=Deleted)
def delete_store(store_id: DbId, caller: CurrentCaller, session: SessionDep) -> Deleted:
    store = service.get_own_store_or_raise(session=session, caller=caller, store_id=store_id, change=True)
    service.delete_store(session=session, store=store)
    return Deleted(detail="Store deleted successfully.")
