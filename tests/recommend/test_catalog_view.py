"""Serving's catalog snapshot is taken again when it is due and the catalog changed since, by
any of the ways products change, and kept as it is when nothing did."""

from collections.abc import Callable
from decimal import Decimal

from sqlalchemy.orm import Session

from relevo.accounts.models import Account
from relevo.catalog import service as catalog_service
from relevo.catalog.models import Product, Store
from relevo.core.db import Database
from relevo.recommend.catalog_view import CatalogView

# PRODUCT_ROW_COLUMNS: external id, name, category, price, currency, description, quantity, store, attributes
_ROW = ("p1", "Lamp", "Home", Decimal("10.00"), "USD", None, 5, None, "{}")


def products(session: Session, *rows: tuple) -> None:
    catalog_service.upsert_rows(session=session, rows=rows)
    session.flush()


def test_a_quiet_catalog_is_not_read_again(session: Session, database: Database) -> None:
    products(session, _ROW, ("p2", "Rug", "Home", Decimal("99.00"), "USD", None, 1, None, "{}"))
    catalog = CatalogView(database, refresh_seconds=0)
    first = catalog.snapshot()

    product = catalog_service.get_by_external_id(session=session, external_id="p1")
    catalog_service.count_views(session=session, product_id=product.id)  # not a change answers show

    assert catalog.snapshot() is first


def test_every_kind_of_change_is_read_again(
    session: Session, database: Database, make_account: Callable[..., Account]
) -> None:
    products(session, _ROW)
    catalog = CatalogView(database, refresh_seconds=0)

    def price(external_id: str) -> Decimal | None:
        return catalog.snapshot().view(external_id).price

    assert price("p1") == Decimal("10.00")
    products(session, ("p1", None, None, Decimal("12.00"), None, None, None, None, "{}"))  # bulk upsert
    assert price("p1") == Decimal("12.00")

    product = catalog_service.get_by_external_id(session=session, external_id="p1")
    product.price = Decimal("15.00")  # an ORM change, as the catalog API makes
    session.flush()
    assert price("p1") == Decimal("15.00")

    products(session, ("p2", "Rug", None, Decimal("99.00"), "USD", None, 1, None, "{}"))  # a new product
    assert price("p2") == Decimal("99.00")
    catalog_service.fill_missing_categories(session=session, categories={"p2": "Home > Floor"})
    assert catalog.snapshot().view("p2").category == "Home > Floor"

    store = Store(name="Corner", owner_id=make_account().id)
    session.add(store)
    session.flush()
    session.get(Product, product.id).store_id = store.id
    session.flush()
    catalog_service.delete_store(session=session, store=store)  # its products are marked deleted
    snapshot = catalog.snapshot()
    assert not snapshot.available[snapshot.position["p1"]] and snapshot.available[snapshot.position["p2"]]
