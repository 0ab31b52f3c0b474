"""Purchase history read from the database as of a date: only purchases before it, their
amounts and categories, for one customer, a few or everyone."""

from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy.orm import Session

from relevo.catalog import service as catalog_service
from relevo.customers import service
from relevo.engine.customers.features import FEATURES, customer_features
from relevo.events import service as events_service
from relevo.events.service import EventRow

PRODUCTS = [
    ("book", "Book", "Books > Fiction", "12.50"),
    ("lamp", "Lamp", "Home > Lamps", "40.00"),
    ("mystery", "Mystery", None, None),
]


def event(user: str, product: str, kind: str, when: datetime, value: float | None = None) -> EventRow:
    return EventRow(None, user, product, kind, value, None, None, None, None, when)


@pytest.fixture
def purchases(session: Session) -> None:
    catalog_service.upsert_rows(
        session=session,
        rows=[
            (pid, name, category, price and Decimal(price), "USD", None, 5, None, "{}")
            for pid, name, category, price in PRODUCTS
        ],
    )
    events_service.store_rows(
        session=session,
        rows=[
            event("alice", "book", "purchase", datetime(2024, 1, 2, 10)),  # the product's price
            event("alice", "lamp", "purchase", datetime(2024, 1, 2, 11), 35.0),  # its own value
            event("alice", "lamp", "view", datetime(2024, 1, 3)),  # not a purchase
            event("alice", "book", "purchase", datetime(2024, 2, 10, 23, 59, 59)),
            event("bob", "mystery", "purchase", datetime(2024, 1, 20)),  # neither: 0
            event("bob", "book", "purchase", datetime(2024, 2, 11, 0, 0, 0)),  # on the cut-off day
            event("carol", "lamp", "view", datetime(2024, 1, 5)),  # a customer who never bought
        ],
    )
    session.flush()


def as_rows(history, names: list[str]) -> dict[str, list[tuple[int, float, str | None]]]:
    rows: dict[str, list[tuple[int, float, str | None]]] = {name: [] for name in names}
    for customer, day, amount, category in zip(
        history.customer, history.day, history.amount, history.category, strict=True
    ):
        label = history.categories[category] if category >= 0 else None
        rows[names[customer]].append((int(day), float(amount), label))
    return rows


@pytest.mark.usefixtures("purchases")
def test_everyone_who_bought_before_the_date_with_amounts_and_categories(session: Session) -> None:
    history, names = service.purchase_history(session=session, before=date(2024, 2, 11))
    assert sorted(names) == ["alice", "bob"]  # carol only looked
    assert history.customers == 2
    assert history.categories == ("Books > Fiction", "Home > Lamps")
    rows = as_rows(history, names)
    jan_2 = service.day_number(date(2024, 1, 2))
    assert sorted(rows["alice"]) == [
        (jan_2, 12.5, "Books > Fiction"),
        (jan_2, 35.0, "Home > Lamps"),
        (service.day_number(date(2024, 2, 10)), 12.5, "Books > Fiction"),
    ]
    assert rows["bob"] == [(service.day_number(date(2024, 1, 20)), 0.0, None)]  # the 11th is left out


@pytest.mark.usefixtures("purchases")
def test_listed_customers_in_their_order_with_unknown_ones_left_out(session: Session) -> None:
    history, names = service.purchase_history(
        session=session, before=date(2024, 3, 1), customers=["carol", "nobody", "bob", "carol"]
    )
    assert names == ["carol", "bob"]
    assert history.customers == 2
    rows = as_rows(history, names)
    assert rows["carol"] == []
    assert sorted(amount for _, amount, _ in rows["bob"]) == [0.0, 12.5]


@pytest.mark.usefixtures("purchases")
def test_a_purchase_on_or_after_the_date_changes_no_feature(session: Session) -> None:
    before, as_of = date(2024, 2, 11), service.day_number(date(2024, 2, 11))
    names = list(FEATURES)
    history, customers = service.purchase_history(session=session, before=before, customers=["alice", "bob"])
    expected = customer_features(history, as_of, names)
    events_service.store_rows(
        session=session,
        rows=[
            event("alice", "lamp", "purchase", datetime(2024, 2, 11), 999.0),
            event("bob", "lamp", "purchase", datetime(2024, 5, 1), 999.0),
        ],
    )
    session.flush()
    again, same_customers = service.purchase_history(session=session, before=before, customers=["alice", "bob"])
    assert same_customers == customers
    np.testing.assert_array_equal(customer_features(again, as_of, names), expected)
    later, _ = service.purchase_history(session=session, before=date(2024, 5, 2), customers=["alice", "bob"])
    assert not np.array_equal(customer_features(later, service.day_number(date(2024, 5, 2)), names), expected)


def test_an_empty_shop_has_an_empty_history(session: Session) -> None:
    history, names = service.purchase_history(session=session, before=date(2024, 1, 1))
    assert names == [] and history.customers == 0 and len(history.amount) == 0
    listed, names = service.purchase_history(session=session, before=date(2024, 1, 1), customers=["ghost"])
    assert names == [] and listed.customers == 0
