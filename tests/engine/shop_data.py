"""Training data for the engine tests: a small synthetic shop, the same every time."""

from functools import cache

from relevo.demo import ShopSize, SyntheticShop
from relevo.engine.data import EventLog, ItemCatalog, TrainingData


@cache
def small_shop() -> TrainingData:
    return synthetic_shop(ShopSize(stores=2, products=300, users=150, sessions=1500, days=60, seed=7))


@cache
def larger_shop() -> TrainingData:
    """Thousands of products: enough for approximate search to be worth it."""
    return synthetic_shop(ShopSize(stores=2, products=4000, users=1500, sessions=9000, days=60, seed=7))


def synthetic_shop(size: ShopSize) -> TrainingData:
    shop = SyntheticShop(size)
    rows = list(shop.events())
    events = EventLog.from_columns(
        [row.user_id for row in rows],
        [row.product_id for row in rows],
        [row.event_type for row in rows],
        [int(row.occurred_at.timestamp()) for row in rows],
        [row.value for row in rows],
        items=None,
    )
    records = {
        product.external_id: {
            "category": product.category,
            "text": f"{product.name} {product.description}",
            "price": product.price,
            "quantity": product.quantity,
        }
        for product in shop.products
    }
    return TrainingData(events=events, catalog=ItemCatalog.from_records(events.items, records))
