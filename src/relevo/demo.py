"""A synthetic shop for demos and benchmarks: stores, products in a category tree with prices
and long-tail popularity, shoppers with category tastes whose sessions go view → cart →
purchase, and products that are bought together. Seeded, so the same size gives the same shop."""

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.accounts import service as accounts_service
from relevo.accounts.callers import Caller
from relevo.accounts.models import Account, Role
from relevo.accounts.schemas import AccountCreate
from relevo.catalog import service as catalog_service
from relevo.catalog.models import Store
from relevo.catalog.schemas import StoreCreate
from relevo.core.db import utcnow
from relevo.demo_size import ShopSize
from relevo.events import service as events_service
from relevo.events.service import EventRow

DEMO_OWNER = "demo-owner"
DEMO_OWNER_PASSWORD = "demo-owner-password"
# The built-in customer-spend model the demo trains, for the model-serving API's /inference.
CUSTOMER_SPEND_MODEL = "customer-spend"

# Top level → second level → leaves, each leaf with a typical price range.
CATEGORY_TREE: dict[str, dict[str, dict[str, tuple[int, int]]]] = {
    "Electronics": {
        "Audio": {"Headphones": (20, 400), "Speakers": (30, 600), "Earbuds": (15, 250)},
        "Computers": {"Laptops": (400, 2500), "Monitors": (120, 900), "Keyboards": (20, 200)},
        "Phones": {"Smartphones": (150, 1400), "Phone Cases": (8, 60), "Chargers": (10, 80)},
    },
    "Home": {
        "Kitchen": {"Cookware": (20, 300), "Knives": (15, 250), "Coffee Makers": (30, 700)},
        "Furniture": {"Chairs": (40, 600), "Desks": (80, 900), "Lamps": (15, 200)},
    },
    "Fashion": {
        "Shoes": {"Running Shoes": (40, 220), "Boots": (60, 350), "Sandals": (15, 120)},
        "Clothing": {"Jackets": (40, 400), "T-Shirts": (8, 60), "Jeans": (30, 180)},
    },
    "Sports": {
        "Fitness": {"Yoga Mats": (10, 120), "Dumbbells": (15, 300), "Resistance Bands": (5, 50)},
        "Outdoor": {"Tents": (50, 800), "Backpacks": (25, 300), "Water Bottles": (5, 50)},
    },
    "Books": {
        "Fiction": {"Novels": (6, 30), "Short Stories": (6, 25)},
        "Non-fiction": {"Cookbooks": (10, 45), "Biographies": (8, 40), "Science": (10, 60)},
    },
}
_ADJECTIVES = ("Classic", "Pro", "Ultra", "Eco", "Compact", "Premium", "Smart", "Light", "Urban", "Max", "Air", "Core")
_STORE_NAMES = ("Northwind", "Bluebird", "Cedar & Co", "Lumen", "Harbor", "Atlas", "Juniper", "Meridian")


@dataclass(frozen=True)
class DemoProduct:
    external_id: str
    name: str
    category: str
    price: Decimal
    quantity: int
    description: str
    store: int  # index into the shop's stores


class SyntheticShop:
    """The catalog and behaviour of a made-up shop, generated on demand from a seed."""

    def __init__(self, size: ShopSize) -> None:
        self.size = size
        self._random = random.Random(size.seed)
        self.leaves = [
            (f"{top} > {middle} > {leaf}", price_range)
            for top, middles in CATEGORY_TREE.items()
            for middle, leaves in middles.items()
            for leaf, price_range in leaves.items()
        ]
        self.store_names = [
            f"{_STORE_NAMES[i % len(_STORE_NAMES)]} {i // len(_STORE_NAMES) + 1}" for i in range(size.stores)
        ]
        self.products = [self._product(index) for index in range(size.products)]
        self._by_top: dict[str, list[int]] = {}
        for index, product in enumerate(self.products):
            self._by_top.setdefault(product.category.split(" > ")[0], []).append(index)
        # Long tail: a shuffled Zipf-like weight per product.
        ranks = list(range(1, size.products + 1))
        self._random.shuffle(ranks)
        self.popularity = [1.0 / rank**1.1 for rank in ranks]
        self.complements = {index: self._complements_of(index) for index in range(size.products)}

    def _product(self, index: int) -> DemoProduct:
        category, (low, high) = self._random.choice(self.leaves)
        leaf = category.rsplit(" > ", 1)[1]
        name = f"{self._random.choice(_ADJECTIVES)} {leaf} {100 + index % 900}"
        price = Decimal(str(round(self._random.uniform(low, high), 2))).quantize(Decimal("0.01"))
        quantity = 0 if self._random.random() < 0.05 else self._random.randint(1, 500)
        description = f"{name}, from our {category.split(' > ')[1].lower()} range ({category})."
        store = index % max(self.size.stores, 1)
        return DemoProduct(f"P{index:06d}", name, category, price, quantity, description, store)

    def _complements_of(self, index: int) -> list[int]:
        """Products bought together with this one: mostly from the same top-level category."""
        top = self.products[index].category.split(" > ")[0]
        pool = self._by_top[top]
        count = min(len(pool) - 1, self._random.randint(1, 3))
        return [other for other in self._random.sample(pool, count + 1) if other != index][:count]

    def user_id(self, index: int) -> str:
        return f"U{index:06d}"

    def events(self) -> Iterator[EventRow]:
        """Shopping sessions in time order: views, some carts, some purchases with their complements."""
        rng = self._random
        tops = list(self._by_top)
        tastes = [rng.sample(tops, k=min(len(tops), rng.randint(1, 2))) for _ in range(self.size.users)]
        # Cumulative weights, summed once: random.choices would sum them on every call.
        top_weights = {
            top: list(itertools.accumulate(self.popularity[i] for i in members))
            for top, members in self._by_top.items()
        }
        start = utcnow().replace(microsecond=0) - timedelta(days=self.size.days)
        span = self.size.days * 86_400
        moments = sorted(rng.randrange(span) for _ in range(self.size.sessions))
        for session_number, offset in enumerate(moments):
            user = rng.randrange(self.size.users)
            top = rng.choice(tastes[user]) if rng.random() < 0.85 else rng.choice(tops)
            members = self._by_top[top]
            viewed = rng.choices(members, cum_weights=top_weights[top], k=rng.randint(1, 6))
            when = start + timedelta(seconds=offset)
            session_id = f"S{session_number:07d}"
            yield from self._session(self.user_id(user), viewed, when, session_id)

    def _session(self, user: str, viewed: list[int], when: datetime, session_id: str) -> Iterator[EventRow]:
        rng = self._random
        device = rng.choice(("mobile", "desktop", "tablet"))

        def event(product: int, kind: str, value: float | None = None) -> EventRow:
            nonlocal when
            when += timedelta(seconds=rng.randint(5, 120))
            return EventRow(
                None, user, self.products[product].external_id, kind, value, session_id, device, None, None, when
            )

        for product in viewed:
            yield event(product, "view")
        if rng.random() < 0.35:
            chosen = viewed[-1]
            yield event(chosen, "add_to_cart", 1.0)
            if rng.random() < 0.6:
                basket = [chosen] + [c for c in self.complements[chosen] if rng.random() < 0.5]
                for product in basket:
                    yield event(product, "purchase", float(self.products[product].price))
                if rng.random() < 0.15:
                    yield event(chosen, "rating", float(rng.randint(3, 5)))


def load_demo(*, session: Session, size: ShopSize) -> dict[str, int]:
    """Writes the synthetic shop into the database; does nothing if a demo is already there."""
    owner = accounts_service.get_by_username(session=session, username=DEMO_OWNER)
    if owner is not None and session.scalar(select(Store.id).where(Store.owner_id == owner.id).limit(1)):
        return {}
    if owner is None:
        owner = accounts_service.create(
            session=session, data=AccountCreate(username=DEMO_OWNER, password=DEMO_OWNER_PASSWORD, role=Role.owner)
        )
    shop = SyntheticShop(size)
    stores = [_create_store(session, owner, name) for name in shop.store_names]
    catalog_service.upsert_rows(
        session=session,
        rows=[
            (p.external_id, p.name, p.category, p.price, "USD", p.description, p.quantity, stores[p.store].id, "{}")
            for p in shop.products
        ],
    )
    views: Counter[str] = Counter()

    def counting_views(rows: Iterator[EventRow]) -> Iterator[EventRow]:
        for row in rows:
            if row.event_type == "view":
                views[row.product_id] += 1
            yield row

    stored = events_service.store_rows(session=session, rows=counting_views(shop.events()))
    # The store API's views_count tells what shoppers looked at: the demo's view events.
    catalog_service.add_views(session=session, views=views)
    return {"stores": len(stores), "products": len(shop.products), "events": stored}


def _create_store(session: Session, owner: Account, name: str) -> Store:
    return catalog_service.create_store(session=session, caller=Caller.of(owner), data=StoreCreate(name=name))


def interactions_csv_lines(size: ShopSize) -> Iterator[str]:
    """The shop's behaviour as an interactions CSV (header first), as `relevo import` reads it."""
    yield "user_id,product_id,event_type,timestamp,value,session_id\n"
    for row in SyntheticShop(size).events():
        value = "" if row.value is None else repr(row.value)
        stamp = row.occurred_at.isoformat() + "Z"
        yield f"{row.user_id},{row.product_id},{row.event_type},{stamp},{value},{row.session_id}\n"
