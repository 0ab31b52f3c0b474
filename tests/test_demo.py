"""The synthetic demo shop: seeded, a realistic catalog and realistic sessions, and loadable."""

import io
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relevo.catalog import service as catalog_service
from relevo.catalog.models import Product, Store
from relevo.datasets import service as datasets_service
from relevo.datasets.models import DatasetType
from relevo.demo import CATEGORY_TREE, ShopSize, SyntheticShop, interactions_csv_lines, load_demo
from relevo.events.models import Event
from relevo.events.service import EventRow

SIZE = ShopSize(stores=3, products=150, users=40, sessions=400, days=30, seed=7)


@pytest.fixture(scope="module")
def shop() -> SyntheticShop:
    return SyntheticShop(SIZE)


@pytest.fixture(scope="module")
def events(shop: SyntheticShop) -> list[EventRow]:
    return list(shop.events())


def sessions_of(events: list[EventRow]) -> dict[str, list[EventRow]]:
    sessions: dict[str, list[EventRow]] = defaultdict(list)
    for event in events:
        sessions[event.session_id].append(event)
    return sessions


def relative_times(events: list[EventRow]) -> list[EventRow]:
    """The events with times measured from the first: a shop's history ends near the time it is made."""
    start = events[0].occurred_at
    return [event._replace(occurred_at=event.occurred_at - start) for event in events]


def test_the_same_seed_makes_the_same_shop(shop: SyntheticShop, events: list[EventRow]) -> None:
    again = SyntheticShop(SIZE)
    assert again.products == shop.products
    assert again.complements == shop.complements
    assert relative_times(list(again.events())) == relative_times(events)


def test_another_seed_makes_another_shop(shop: SyntheticShop, events: list[EventRow]) -> None:
    other = SyntheticShop(ShopSize(stores=3, products=150, users=40, sessions=400, days=30, seed=8))
    assert other.products != shop.products
    assert relative_times(list(other.events())) != relative_times(events)


def test_the_catalog_has_the_requested_size_with_unique_ids(shop: SyntheticShop) -> None:
    assert len(shop.products) == SIZE.products
    assert len({product.external_id for product in shop.products}) == SIZE.products
    assert len(shop.store_names) == len(set(shop.store_names)) == SIZE.stores
    assert {product.store for product in shop.products} == set(range(SIZE.stores))


def test_every_product_sits_in_a_three_level_category_with_a_price_in_its_range(shop: SyntheticShop) -> None:
    for product in shop.products:
        top, middle, leaf = product.category.split(" > ")
        low, high = CATEGORY_TREE[top][middle][leaf]
        assert product.price > 0
        assert low <= product.price <= high, product
        assert product.price == product.price.quantize(Decimal("0.01"))
        assert product.quantity >= 0
        assert product.name and product.description
    assert len({product.category.split(" > ")[0] for product in shop.products}) == len(CATEGORY_TREE)


def test_events_fill_the_requested_sessions_over_the_requested_days(events: list[EventRow]) -> None:
    sessions = sessions_of(events)
    assert len(sessions) == SIZE.sessions
    assert {event.user_id for event in events} <= {f"U{index:06d}" for index in range(SIZE.users)}
    span = max(event.occurred_at for event in events) - min(event.occurred_at for event in events)
    assert timedelta(days=SIZE.days // 2) < span < timedelta(days=SIZE.days + 1)
    assert {event.event_type for event in events} <= {"view", "add_to_cart", "purchase", "rating"}


def test_each_session_is_one_user_in_time_order_starting_with_a_view(events: list[EventRow]) -> None:
    for session_id, session in sessions_of(events).items():
        assert len({event.user_id for event in session}) == 1, session_id
        times = [event.occurred_at for event in session]
        assert times == sorted(times) and len(set(times)) == len(times), session_id
        assert session[0].event_type == "view", session_id


def test_purchases_follow_an_add_to_cart(events: list[EventRow]) -> None:
    purchasing = 0
    for session_id, session in sessions_of(events).items():
        kinds = [event.event_type for event in session]
        if "purchase" in kinds:
            purchasing += 1
            assert "add_to_cart" in kinds[: kinds.index("purchase")], session_id
    assert purchasing >= SIZE.sessions // 20


def test_popularity_has_a_long_tail(events: list[EventRow]) -> None:
    views = Counter(event.product_id for event in events if event.event_type == "view")
    top_tenth = sorted(views.values(), reverse=True)[: SIZE.products // 10]
    assert sum(top_tenth) / sum(views.values()) > 0.3


def test_complements_are_bought_together(shop: SyntheticShop, events: list[EventRow]) -> None:
    """For some products, a purchase is often followed by one of their complements in the same session."""
    index = {product.external_id: number for number, product in enumerate(shop.products)}
    bought: Counter[int] = Counter()
    followed: Counter[int] = Counter()
    for session in sessions_of(events).values():
        purchases = [index[event.product_id] for event in session if event.event_type == "purchase"]
        for position, product in enumerate(purchases):
            bought[product] += 1
            if set(purchases[position + 1 :]) & set(shop.complements[product]):
                followed[product] += 1
    often = [product for product in bought if bought[product] >= 3 and followed[product] / bought[product] >= 0.5]
    assert often, "no product is regularly bought with one of its complements"
    baskets = [product for product in bought if followed[product]]
    assert len(baskets) >= 5


def test_complements_come_from_the_same_department(shop: SyntheticShop) -> None:
    for product, complements in shop.complements.items():
        assert product not in complements
        assert 1 <= len(complements) <= 3
        department = shop.products[product].category.split(" > ")[0]
        assert {shop.products[other].category.split(" > ")[0] for other in complements} == {department}


def test_the_interactions_csv_imports_without_a_rejected_row(session: Session) -> None:
    content = "".join(interactions_csv_lines(SIZE)).encode()
    expected = len(list(SyntheticShop(SIZE).events()))
    dataset = datasets_service.import_csv(
        session=session,
        dataset_type=DatasetType.interactions,
        stream=io.BytesIO(content),
        filename="demo.csv",
        caller=None,
    )
    assert (dataset.rows_imported, dataset.rows_rejected, dataset.rows_duplicate) == (expected, 0, 0)
    assert dataset.rejected_lines == []
    stored = Counter(session.scalars(select(Event.event_type)))
    assert sum(stored.values()) == expected
    assert stored["view"] > stored["add_to_cart"] > 0
    assert stored["purchase"] > 0


def test_load_demo_writes_the_shop_once(session: Session) -> None:
    counts = load_demo(session=session, size=SIZE)
    assert counts["stores"] == SIZE.stores
    assert counts["products"] == SIZE.products
    assert counts["events"] == len(list(SyntheticShop(SIZE).events()))
    assert session.scalar(select(func.count()).select_from(Store)) == SIZE.stores
    priced = session.scalar(select(func.count()).select_from(Product).where(Product.price > 0))
    assert priced == SIZE.products
    assert load_demo(session=session, size=SIZE) == {}
    assert session.scalar(select(func.count()).select_from(Event)) == counts["events"]


def test_the_demo_shops_view_counts_are_its_view_events(session: Session) -> None:
    load_demo(session=session, size=SIZE)

    counted = dict(session.execute(select(Product.id, Product.views_count)).all())
    viewed = dict(
        session.execute(
            select(Event.product_id, func.count()).where(Event.event_type == "view").group_by(Event.product_id)
        ).all()
    )
    assert sum(viewed.values()) > 0
    assert {product: count for product, count in counted.items() if count} == viewed
    assert session.scalar(select(func.max(Product.revision))) == 0  # a view is not a change serving shows


def test_most_popular_lists_what_the_demo_shoppers_looked_at(session: Session, events: list[EventRow]) -> None:
    load_demo(session=session, size=SIZE)

    views = Counter(event.product_id for event in events if event.event_type == "view")
    listed = [product.external_id for product in catalog_service.most_popular(session=session, limit=5)]
    assert [views[product] for product in listed] == sorted(views.values(), reverse=True)[:5]
