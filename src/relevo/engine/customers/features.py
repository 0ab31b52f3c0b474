"""Customer features built from a purchase history as of a date, with no look-ahead: the one
documented set that spend models (built in or uploaded) take as their inputs.

Only purchases on a day before `as_of` count; a purchase on or after it changes nothing. As in
the customer-base literature (Fader, Hardie & Lee 2005), the purchases of one customer on one
day are merged into one purchase day for the counts of repeat buying. Everything is computed
for all customers at once with numpy's grouped reductions, so a request for a batch of many
thousand customers costs a few array passes."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

NO_PURCHASE = "0 for a customer without a purchase before the date"


@dataclass(frozen=True)
class PurchaseHistory:
    """Every purchase of a shop, one entry per purchase, customers and categories as indices."""

    customer: np.ndarray  # int32, index of the purchase's customer (0..customers-1)
    day: np.ndarray  # int32, the purchase's day: days since 1970-01-01 (UTC)
    amount: np.ndarray  # float64, what the purchase was worth
    category: np.ndarray  # int32, index into `categories`, -1 for none
    categories: tuple[str, ...]
    customers: int  # how many customers (rows of every feature matrix)

    def __post_init__(self) -> None:
        sizes = {len(self.customer), len(self.day), len(self.amount), len(self.category)}
        if len(sizes) != 1:
            raise ValueError("customer, day, amount and category must have one entry per purchase")
        if self.customers < 0:
            raise ValueError("customers must not be negative")
        if len(self.customer) and (self.customer.min() < 0 or self.customer.max() >= self.customers):
            raise ValueError(f"customer indices must lie in 0..{self.customers - 1}")
        if len(self.category) and (self.category.min() < -1 or self.category.max() >= len(self.categories)):
            raise ValueError(f"category indices must lie in -1..{len(self.categories) - 1}")
        if not np.all(np.isfinite(self.amount)):
            raise ValueError("amounts must be finite numbers")

    def before(self, as_of: int) -> "PurchaseHistory":
        """The purchases on a day before `as_of`."""
        keep = self.day < as_of
        return PurchaseHistory(
            customer=self.customer[keep],
            day=self.day[keep],
            amount=self.amount[keep],
            category=self.category[keep],
            categories=self.categories,
            customers=self.customers,
        )


FEATURES: dict[str, str] = {
    "recency_days": f"days from the last purchase day to the date; {NO_PURCHASE}",
    "frequency": f"repeat purchase days: distinct purchase days - 1 (one day's purchases merged); {NO_PURCHASE}",
    "purchase_days": "distinct days with a purchase; 0 without one",
    "purchases": "purchases, each counted (not merged by day); 0 without one",
    "monetary_value": f"mean spend per purchase day (total_spend / purchase_days); {NO_PURCHASE}",
    "repeat_monetary_value": (
        "mean spend per repeat purchase day, the first purchase day left out (the Gamma-Gamma "
        "model's m_x); 0 for a customer without a repeat purchase day"
    ),
    "total_spend": "total spend of every purchase before the date; 0 without one",
    "tenure_days": f"days from the first purchase day to the date (T in BG/NBD terms); {NO_PURCHASE}",
    "days_since_first_purchase": "the same as tenure_days",
    "first_to_last_days": (
        f"days from the first to the last purchase day (recency t_x in BG/NBD terms); {NO_PURCHASE} "
        "and for one purchase day"
    ),
    "mean_days_between_purchases": (
        "first_to_last_days / frequency: the mean gap between purchase days; 0 without a repeat purchase day"
    ),
    "basket_size": f"mean purchases per purchase day (purchases / purchase_days); {NO_PURCHASE}",
    "spend_last_30_days": "spend in the 30 days before the date; 0 without any",
    "spend_last_90_days": "spend in the 90 days before the date; 0 without any",
    "spend_last_365_days": "spend in the 365 days before the date; 0 without any",
    "purchase_days_last_90_days": "distinct purchase days in the 90 days before the date; 0 without any",
    "category_count": "distinct categories bought (purchases without a category not counted); 0 without any",
    "top_category_share": (
        "share of the purchases with a category that fall in the customer's most bought category "
        "(1.0: a single category); 0 without a purchase with a category"
    ),
}


def unknown_features(names: Sequence[str]) -> list[str]:
    """The names among `names` that are not documented features, in their order."""
    return [name for name in names if name not in FEATURES]


def customer_features(history: PurchaseHistory, as_of: int, names: Sequence[str]) -> np.ndarray:
    """customers × len(names) float64, built only from purchases with day < as_of (no look-ahead:
    a purchase on or after as_of changes nothing)."""
    unknown = unknown_features(names)
    if unknown:
        raise ValueError(f"unknown customer features: {', '.join(unknown)}; known: {', '.join(FEATURES)}")
    summary = _Summary(history.before(int(as_of)), int(as_of))
    matrix = np.empty((history.customers, len(names)), dtype=np.float64)
    for column, name in enumerate(names):
        matrix[:, column] = _COLUMNS[name](summary)
    return matrix


class _Summary:
    """Per-customer reductions of one history cut at `as_of`, each computed once when first asked."""

    def __init__(self, history: PurchaseHistory, as_of: int) -> None:
        self.history, self.as_of, self.customers = history, as_of, history.customers

    def _sum(self, weights: np.ndarray | None, customer: np.ndarray | None = None) -> np.ndarray:
        customer = self.history.customer if customer is None else customer
        return np.bincount(customer, weights=weights, minlength=self.customers).astype(np.float64)

    @cached_property
    def day_customer(self) -> np.ndarray:
        """The customer of each distinct (customer, day) pair."""
        history = self.history
        key = history.customer.astype(np.int64) << 32 | (history.day.astype(np.int64) & 0xFFFFFFFF)
        return (np.unique(key) >> 32).astype(np.int64)

    @cached_property
    def purchase_days(self) -> np.ndarray:
        return self._sum(None, self.day_customer)

    @cached_property
    def bought(self) -> np.ndarray:
        return self.purchase_days > 0

    @cached_property
    def purchases(self) -> np.ndarray:
        return self._sum(None)

    @cached_property
    def total_spend(self) -> np.ndarray:
        return self._sum(self.history.amount)

    @cached_property
    def first_day(self) -> np.ndarray:
        # A customer without a purchase keeps as_of: their tenure comes out 0.
        first = np.full(self.customers, self.as_of, dtype=np.int64)
        np.minimum.at(first, self.history.customer, self.history.day)
        return first

    @cached_property
    def last_purchase_day(self) -> np.ndarray:
        # A customer without a purchase keeps as_of, so their spans and recency come out 0.
        last = np.full(self.customers, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(last, self.history.customer, self.history.day)
        return np.where(self.bought, last, self.as_of)

    @cached_property
    def frequency(self) -> np.ndarray:
        return np.maximum(self.purchase_days - 1, 0)

    @cached_property
    def first_to_last(self) -> np.ndarray:
        return (self.last_purchase_day - self.first_day).astype(np.float64)

    @cached_property
    def first_day_spend(self) -> np.ndarray:
        on_first = self.history.day == self.first_day[self.history.customer]
        return self._sum(np.where(on_first, self.history.amount, 0.0))

    def spend_since(self, days: int) -> np.ndarray:
        recent = self.history.day >= self.as_of - days
        return self._sum(np.where(recent, self.history.amount, 0.0))

    def purchase_days_since(self, days: int) -> np.ndarray:
        history = self.history
        recent = history.day >= self.as_of - days
        key = history.customer[recent].astype(np.int64) << 32 | (history.day[recent].astype(np.int64) & 0xFFFFFFFF)
        return self._sum(None, (np.unique(key) >> 32).astype(np.int64))

    @cached_property
    def category_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(customer, purchases) of each distinct (customer, category) pair, purchases without a
        category left out."""
        history = self.history
        with_category = history.category >= 0
        width = max(len(history.categories), 1)
        key = history.customer[with_category].astype(np.int64) * width + history.category[with_category]
        pairs, counts = np.unique(key, return_counts=True)
        return pairs // width, counts.astype(np.float64)

    def category_count(self) -> np.ndarray:
        customer, _ = self.category_counts
        return self._sum(None, customer)

    def top_category_share(self) -> np.ndarray:
        customer, counts = self.category_counts
        top = np.zeros(self.customers, dtype=np.float64)
        np.maximum.at(top, customer, counts)
        return _ratio(top, self._sum(counts, customer))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0."""
    out = np.zeros_like(numerator, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _since_first(summary: _Summary) -> np.ndarray:
    return (summary.as_of - summary.first_day).astype(np.float64)


_COLUMNS: dict[str, Callable[[_Summary], np.ndarray]] = {
    "recency_days": lambda s: (s.as_of - s.last_purchase_day).astype(np.float64),
    "frequency": lambda s: s.frequency,
    "purchase_days": lambda s: s.purchase_days,
    "purchases": lambda s: s.purchases,
    "monetary_value": lambda s: _ratio(s.total_spend, s.purchase_days),
    "repeat_monetary_value": lambda s: _ratio(s.total_spend - s.first_day_spend, s.frequency),
    "total_spend": lambda s: s.total_spend,
    "tenure_days": _since_first,
    "days_since_first_purchase": _since_first,
    "first_to_last_days": lambda s: s.first_to_last,
    "mean_days_between_purchases": lambda s: _ratio(s.first_to_last, s.frequency),
    "basket_size": lambda s: _ratio(s.purchases, s.purchase_days),
    "spend_last_30_days": lambda s: s.spend_since(30),
    "spend_last_90_days": lambda s: s.spend_since(90),
    "spend_last_365_days": lambda s: s.spend_since(365),
    "purchase_days_last_90_days": lambda s: s.purchase_days_since(90),
    "category_count": lambda s: s.category_count(),
    "top_category_share": lambda s: s.top_category_share(),
}
