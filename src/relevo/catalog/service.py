"""Catalog rules: who sees and changes which stores and products (the store API), upserts by
the shop's product id, and the bulk paths used by CSV imports and events."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from sqlalchemy import DateTime, Integer, Numeric, String, Text, bindparam, func, literal, select, true, update
from sqlalchemy.orm import Session

from relevo.accounts.callers import Caller
from relevo.accounts.models import Role
from relevo.accounts.scopes import Scope
from relevo.catalog.currency import check_known
from relevo.catalog.models import Product, Store
from relevo.catalog.ownership import NO_PERMISSION, CatalogAccess, NoStoreToWrite, NotYourProduct
from relevo.catalog.schemas import ProductCreate, ProductUpdate, StoreCreate, StoreUpdate
from relevo.core import categories as category_rule
from relevo.core.db import utcnow
from relevo.core.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from relevo.storage import bulk, ids

ONLY_OWNERS_CREATE_STORES = "Only store owners or Admins can create stores."

# An items CSV row, ready to store. None means "not given": the existing value is kept.
PRODUCT_ROW_COLUMNS = (
    ("external_id", String(255)),
    ("name", String(255)),
    ("category", String(255)),
    ("price", Numeric(12, 2)),
    ("currency", String(3)),
    ("description", Text()),
    ("quantity", Integer()),
    ("store_id", Integer()),
    ("attributes", Text()),
)


def access_for(*, session: Session, caller: Caller | None) -> CatalogAccess:
    """The stores `caller` may write products in (None: a trusted integration, every store)."""
    return CatalogAccess.of(session=session, caller=caller)


# Stores


def list_stores(*, session: Session, caller: Caller) -> list[Store]:
    query = select(Store).order_by(Store.id)
    if not caller.sees_everything:
        query = query.where(Store.owner_id == caller.id)
    return list(session.scalars(query))


def get_store_or_raise(*, session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"store {store_id} does not exist")
    return store


def get_own_store_or_raise(*, session: Session, caller: Caller, store_id: int, change: bool = False) -> Store:
    """A store the caller owns (admins: any), to read or, with `change`, to change."""
    store = get_store_or_raise(session=session, store_id=store_id)
    if not caller.owns(store.owner_id):
        raise PermissionDenied(NO_PERMISSION)
    if change:
        caller.require(Scope.catalog_write, NO_PERMISSION)
    return store


def create_store(*, session: Session, caller: Caller, data: StoreCreate) -> Store:
    caller.require(Scope.catalog_write, ONLY_OWNERS_CREATE_STORES)
    store = Store(name=data.name, owner_id=caller.id)
    session.add(store)
    session.flush()
    return store


def update_store(*, session: Session, store: Store, data: StoreUpdate) -> Store:
    store.name = data.name
    session.flush()
    return store


def delete_store(*, session: Session, store: Store) -> None:
    """The store goes; its products are marked deleted, keeping the behaviour recorded on them."""
    session.execute(
        update(Product)
        .where(Product.store_id == store.id, Product.deleted_at.is_(None))
        .values(deleted_at=utcnow(), is_active=False)
    )
    session.delete(store)
    session.flush()


# Products


def list_products(*, session: Session, caller: Caller, limit: int, offset: int, category: str | None) -> list[Product]:
    query = select(Product).where(Product.deleted_at.is_(None))
    if not caller.sees_everything:
        query = query.join(Store, Product.store_id == Store.id).where(Store.owner_id == caller.id)
    if category is not None:
        query = query.where(category_condition(category))
    return list(session.scalars(query.order_by(Product.id).limit(limit).offset(offset)))


def most_popular(*, session: Session, limit: int) -> list[Product]:
    query = (
        select(Product)
        .where(Product.deleted_at.is_(None), Product.is_active)
        .order_by(Product.views_count.desc(), Product.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def count_offered(*, session: Session) -> int:
    """How many products the shop offers now: active, not deleted (what recommendations may show)."""
    query = select(func.count()).select_from(Product).where(Product.deleted_at.is_(None), Product.is_active)
    return session.scalar(query) or 0


def get_product_or_raise(*, session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None or product.deleted_at is not None:
        raise NotFound(f"product {product_id} does not exist")
    return product


def get_by_external_id(*, session: Session, external_id: str) -> Product | None:
    return session.scalar(select(Product).where(Product.external_id == external_id))


# Who runs the shops: the roles that hold catalog:write (accounts/scopes.py). The store API's
# users are its admins and store owners, who open products to check and change them; those
# looks are their work, not a shopper's interest, and as events they would teach the models
# what staff open. So their views (by login or by any key of theirs: a key narrows what a
# token may do, not whose it is) raise views_count, which the store API documents, but are
# not events. Every other account that may read products (a viewer: a signed-in shop
# visitor, a storefront browsing as one) is a shopper, and its views are events.
STAFF_ROLES = frozenset({Role.admin, Role.owner})


def is_staff(caller: Caller) -> bool:
    """Whether `caller` runs shops rather than shops in them (see STAFF_ROLES)."""
    return caller.role in STAFF_ROLES


def count_views(*, session: Session, product_id: int) -> Product:
    """Adds one to a product's view count (atomically, under concurrent viewers)."""
    product = get_product_or_raise(session=session, product_id=product_id)
    # A view is not a change serving shows: the revision stays.
    counted = {"views_count": Product.views_count + 1, "revision": Product.revision}
    session.execute(update(Product).where(Product.id == product_id).values(counted))
    session.refresh(product, ["views_count"])
    return product


def add_views(*, session: Session, views: Mapping[str, int]) -> None:
    """Adds to products' view counts by the shop's ids (views that arrived in bulk, as the demo's
    shoppers' view events do); unknown ids are ignored."""
    if not views:
        return
    table = Product.__table__
    # A view is not a change serving shows: the revision stays (as in count_views).
    statement = (
        update(table)
        .where(table.c.external_id == bindparam("product"))
        .values(views_count=table.c.views_count + bindparam("views"), revision=table.c.revision)
    )
    session.connection().execute(statement, [{"product": key, "views": count} for key, count in views.items()])


def create_product(
    *, session: Session, caller: Caller, data: ProductCreate, base_currency: str, currency_rates: Mapping[str, Decimal]
) -> Product:
    store_id = _store_for(
        session=session, access=CatalogAccess.of(session=session, caller=caller), product=None, requested=data.store_id
    )
    if store_id is None:  # an admin: a product made here goes in a named store
        raise NoStoreToWrite()
    currency = (data.currency or base_currency).upper()
    # A price no rate converts would break every ?currency= listing that includes it.
    check_known(currency, rates=currency_rates)
    if data.product_id is not None and get_by_external_id(session=session, external_id=data.product_id):
        raise AlreadyExists(f"product_id: a product with id {data.product_id!r} already exists")
    product = Product(
        external_id=data.product_id or f"pending:{uuid4().hex}",
        store_id=store_id,
        name=data.name,
        description=data.description,
        price=data.price,
        currency=currency,
        quantity=data.quantity,
        category=category_rule.normalise(data.category),
        attributes=data.attributes,
        is_active=data.is_active,
    )
    session.add(product)
    session.flush()
    if data.product_id is None:
        # Without a shop id of its own, a product is known by its numeric id. Events may already
        # have named another product so; refusing would block the store API's clients (which
        # cannot send a product_id) for good on SQLite, which hands out the same numeric id again.
        external_id = str(product.id)
        if get_by_external_id(session=session, external_id=external_id):
            external_id = f"product:{product.id}"
        if get_by_external_id(session=session, external_id=external_id):
            raise AlreadyExists(f"product_id: id {external_id!r} is taken by another product; send a product_id")
        product.external_id = external_id
        session.flush()
    return product


def _store_for(
    *, session: Session, access: CatalogAccess, product: Product | None, requested: int | None
) -> int | None:
    """The store a product written by `access` ends in (the ownership rule); a store named must exist."""
    if requested is not None and session.get(Store, requested) is None:
        raise InvalidArgument(f"store_id: store {requested} does not exist")
    return access.store_for(
        exists=product is not None,
        current=product.store_id if product is not None else None,
        requested=requested,
        product=product.external_id if product is not None else "the new product",
    )


def update_product(
    *, session: Session, caller: Caller, product: Product, data: ProductUpdate, currency_rates: Mapping[str, Decimal]
) -> Product:
    access = CatalogAccess.of(session=session, caller=caller, refusal=NO_PERMISSION)
    changes = data.model_dump(exclude_unset=True)
    if "store_id" in changes and changes["store_id"] is None:
        raise InvalidArgument("store_id: a product cannot be taken out of its store; move it to another")
    store_id = _store_for(session=session, access=access, product=product, requested=changes.get("store_id"))
    if store_id != product.store_id:
        changes["store_id"] = store_id
    if changes.get("currency") is not None:
        check_known(changes["currency"].upper(), rates=currency_rates)
    if changes.get("category") is not None:
        changes["category"] = category_rule.normalise(changes["category"])
    for field, value in changes.items():
        if value is None:
            raise InvalidArgument(f"{field}: may not be null")
        setattr(product, field, value.upper() if field == "currency" else value)
    session.flush()
    return product


def delete_product(*, session: Session, caller: Caller, product: Product) -> None:
    access = CatalogAccess.of(session=session, caller=caller, refusal=NO_PERMISSION)
    access.check_change(store_id=product.store_id, product=product.external_id)
    product.deleted_at = utcnow()
    product.is_active = False
    session.flush()


def upsert_product(
    *, session: Session, caller: Caller | None, external_id: str, name: str | None, category: str | None
) -> Product:
    """The AI service's product upsert: create the product, or fill in what is given, where the
    caller may write (`caller` None: the shared secret, which writes every store)."""
    access = CatalogAccess.of(session=session, caller=caller)
    product = get_by_external_id(session=session, external_id=external_id)
    store_id = _store_for(session=session, access=access, product=product, requested=None)
    if product is None:
        product = Product(external_id=external_id, attributes={}, views_count=0)
        session.add(product)
    product.store_id = store_id
    if name is not None:
        product.name = name
    if category is not None:
        product.category = category_rule.normalise(category)
    product.deleted_at = None  # the catalog says it exists: a deleted product comes back
    product.is_active = True
    session.flush()
    return product


def fill_missing_categories(*, session: Session, categories: dict[str, str]) -> None:
    """Sets the category of products (by the shop's id) that have none and are in no store yet:
    events may know it first; a store's products are its owner's to describe."""
    for external_id, category in categories.items():
        if not (path := category_rule.normalise(category)):
            continue
        session.execute(
            update(Product)
            .where(Product.external_id == external_id, Product.category.is_(None), Product.store_id.is_(None))
            .values(category=path)
        )


def list_catalog(*, session: Session, limit: int, offset: int, category: str | None = None) -> list[Product]:
    query = select(Product).where(Product.deleted_at.is_(None))
    if category is not None:
        query = query.where(category_condition(category))
    return list(session.scalars(query.order_by(Product.id).limit(limit).offset(offset)))


def known_ids(*, session: Session, external_ids: Iterable[str]) -> tuple[dict[str, int], list[str]]:
    """Ids of products already resolved, and the external ids still unknown (no database access)."""
    return ids.known_ids(session, Product.__table__, external_ids)


def ensure_ids(*, session: Session, external_ids: Iterable[str]) -> dict[str, int]:
    """Internal ids for the shop's product ids; unknown products become bare catalog entries."""
    now = utcnow()
    defaults = {"views_count": 0, "attributes": {}, "is_active": True, "created_at": now, "updated_at": now}
    return ids.ensure_external_ids(session, Product.__table__, external_ids, defaults)


def training_items(*, session: Session) -> list[tuple[Any, ...]]:
    """Every product, for training: (id, external id, category, name, description, price,
    quantity, whether it may be recommended: active and not deleted)."""
    query = select(
        Product.id,
        Product.external_id,
        Product.category,
        Product.name,
        Product.description,
        Product.price,
        Product.quantity,
        Product.is_active & Product.deleted_at.is_(None),
    ).order_by(Product.id)
    return [tuple(row) for row in session.execute(query)]


def serving_items(*, session: Session, changed_since: datetime | None = None) -> list[tuple[Any, ...]]:
    """Every product (or those changed since a time), for serving: (external id, name,
    category, price, currency, quantity, store id, whether it may be recommended: active and
    not deleted, revision)."""
    query = select(
        Product.external_id,
        Product.name,
        Product.category,
        Product.price,
        Product.currency,
        Product.quantity,
        Product.store_id,
        Product.is_active & Product.deleted_at.is_(None),
        Product.revision,
    ).order_by(Product.id)
    if changed_since is not None:
        query = query.where(Product.updated_at >= changed_since)
    return [tuple(row) for row in session.execute(query)]


def catalog_revision(*, session: Session) -> tuple[int, int]:
    """How many products there are and the sum of their revisions: it changes with every
    committed change to a product (products are never removed, only marked deleted)."""
    count, revisions = session.execute(select(func.count(), func.coalesce(func.sum(Product.revision), 0))).one()
    return int(count), int(revisions)


def category_condition(category: str) -> Any:
    """Products in the category or below it in the tree ("Home" covers "Home > Kitchen"): the
    rule of relevo.core.categories, on the categories as stored (always canonical)."""
    return category_rule.clause(category, Product.category)


def store_ids(*, session: Session) -> set[int]:
    return set(session.scalars(select(Store.id)))


_STORE_COLUMN = [name for name, _ in PRODUCT_ROW_COLUMNS].index("store_id")
_LOOKUP_CHUNK = 1_000


def writable_rows(
    *, session: Session, access: CatalogAccess, rows: Mapping[str, tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], dict[str, str]]:
    """Of PRODUCT_ROW_COLUMNS rows by product id: those `access` may write, each with the store
    it ends in (the ownership rule), and the reason each other product id is refused."""
    if access.every_store:
        return list(rows.values()), {}
    product_ids = list(rows)
    current: dict[str, int | None] = {}
    for start in range(0, len(product_ids), _LOOKUP_CHUNK):
        chunk = product_ids[start : start + _LOOKUP_CHUNK]
        found = session.execute(select(Product.external_id, Product.store_id).where(Product.external_id.in_(chunk)))
        current.update((external_id, store_id) for external_id, store_id in found)
    writable, refused = [], {}
    for product_id, row in rows.items():
        try:
            store_id = access.store_for(
                exists=product_id in current,
                current=current.get(product_id),
                requested=row[_STORE_COLUMN],
                product=product_id,
            )
        except (NotYourProduct, NoStoreToWrite) as exc:
            refused[product_id] = exc.reason
            continue
        writable.append((*row[:_STORE_COLUMN], store_id, *row[_STORE_COLUMN + 1 :]))
    return writable, refused


def upsert_rows(*, session: Session, rows: Iterable[tuple[Any, ...]]) -> int:
    """Creates or updates products from PRODUCT_ROW_COLUMNS rows, keeping values not given."""
    table = Product.__table__
    now = literal(utcnow(), DateTime())
    with bulk.staging_table(session, "relevo_stage_products", PRODUCT_ROW_COLUMNS) as stage:
        bulk.load_rows(session, stage, rows)
        insert = bulk.upsert_statement(session, table)
        columns = ["external_id", "name", "category", "price", "currency", "description", "quantity", "store_id"]
        source = select(
            *(stage.c[name] for name in columns),
            bulk.as_json_document(session, stage.c.attributes),
            literal(0),
            true(),
            now,
            now,
        ).where(bulk.every_row())
        kept = {name: func.coalesce(insert.excluded[name], table.c[name]) for name in columns[1:]}
        merged = bulk.json_merge(session, table.c.attributes, insert.excluded.attributes)
        statement = insert.from_select(
            [*columns, "attributes", "views_count", "is_active", "created_at", "updated_at"], source
        ).on_conflict_do_update(
            index_elements=["external_id"],
            # Listed again, a deleted product comes back.
            set_={
                **kept,
                "attributes": merged,
                "updated_at": insert.excluded.updated_at,
                "deleted_at": None,
                "revision": table.c.revision + 1,
            },
        )
        upserted = session.execute(statement).rowcount
    bulk.refresh_statistics(session, table, upserted)
    return upserted
