"""Request and response bodies of the catalog API (the store API's shapes, plus Relevo's own fields)."""

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from relevo.core.fields import MAX_DB_ID, DbId, ExternalId, JsonObject, UtcDateTime


def _in_cents(value: Decimal) -> Decimal:
    # "10" and 10.5 answer as "10.00" and "10.50" at once, as they read back from the database.
    return value.quantize(Decimal("0.01"))


Price = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2), AfterValidator(_in_cents)]
Currency = Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]


class FiltersIn(BaseModel):
    """Business filters over the catalog, as batch jobs and experiments' variants take them."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = None
    store_id: DbId | None = None
    min_price: float | None = Field(default=None, ge=0)
    max_price: float | None = Field(default=None, ge=0)
    in_stock: bool = False


class StoreCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=255)


class StoreUpdate(StoreCreate):
    pass


class StoreRead(BaseModel):
    id: int
    name: str
    owner: str
    created_at: UtcDateTime


class ProductCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=255)
    description: str = ""
    price: Price
    quantity: int = Field(ge=0, le=MAX_DB_ID)
    category: str = Field(default="", max_length=255)
    store_id: DbId | None = None
    product_id: ExternalId | None = Field(default=None, description="The shop's own id; defaults to the numeric id")
    currency: Currency | None = None
    attributes: JsonObject = Field(default_factory=dict)
    is_active: bool = True


class ProductUpdate(BaseModel):
    """Fields left out keep their value."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    price: Price | None = None
    quantity: int | None = Field(default=None, ge=0, le=MAX_DB_ID)
    category: str | None = Field(default=None, max_length=255)
    store_id: DbId | None = None
    currency: Currency | None = None
    attributes: JsonObject | None = None
    is_active: bool | None = None


class ProductRead(BaseModel):
    id: int
    product_id: str
    name: str | None
    description: str | None
    price: Decimal | None
    quantity: int | None
    category: str | None
    store: int | None
    views_count: int
    converted_price: Decimal | None = Field(description="The price in `converted_currency`")
    converted_currency: str | None = Field(
        description="The currency of `converted_price`: the one asked for with ?currency=, else the product's own"
    )
    currency: str | None = Field(description="The currency of `price`")
    attributes: dict[str, Any]
    is_active: bool


class Deleted(BaseModel):
    detail: str


class CatalogProductIn(BaseModel):
    """The AI service's product: an upsert by the shop's product id."""

    product_id: ExternalId
    product_name: str | None = Field(default=None, max_length=255)
    category: str | None = Field(default=None, max_length=255)


class CatalogProductRead(BaseModel):
    product_id: str
    product_name: str | None
    category: str | None
