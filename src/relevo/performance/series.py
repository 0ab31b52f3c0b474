"""Exposures and what they earned, added up per series (model version, experiment variant) and
per time bucket: counts, revenue, click-through and conversion rates with their 95% intervals,
the shares of kept and fallback answers, and the catalog's coverage.

Rates are per exposure and analysed per user, as experiments analyse them: a user's exposures
are not independent of each other, so the users' sums go to the delta method
(experiments/statistics.ratio)."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from relevo.experiments import statistics
from relevo.experiments.statistics import InvalidStatisticsInput
from relevo.exposures.attribution import Shown
from relevo.exposures.models import AnswerSource


class SeriesKey(NamedTuple):
    """What served the answers of a series: a model version, inside an experiment's variant or not."""

    model: str | None
    model_version: int | None
    experiment_id: str | None
    variant: str | None


@dataclass(frozen=True)
class Rate:
    """A rate per exposure and its 95% interval (None with fewer than two users)."""

    value: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Point:
    exposures: int
    users: int
    clicks: int
    add_to_carts: int
    purchases: int
    revenue: float
    click_through_rate: Rate | None  # None: no exposure
    conversion_rate: Rate | None  # purchases per exposure
    cache_hit_rate: float | None  # the share of answers kept from an earlier request
    fallback_share: float | None  # the share of answers that fell back (cold start, popular)
    catalog_coverage: float | None  # the share of the catalog's products shown at least once


class Sums:
    """One point's sums, exposure after exposure."""

    __slots__ = ("add_to_carts", "cached", "fallbacks", "products", "revenue", "users")

    def __init__(self) -> None:
        self.users: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # exposures, clicks, purchases
        self.add_to_carts = 0
        self.revenue = 0.0
        self.cached = 0
        self.fallbacks = 0
        self.products: set[str] = set()

    def add(self, shown: Shown) -> None:
        user = self.users[shown.user_id]
        user[0] += 1
        user[1] += shown.click
        user[2] += shown.purchase
        self.add_to_carts += shown.add_to_cart
        self.revenue += shown.revenue
        self.cached += shown.source == AnswerSource.cache
        self.fallbacks += shown.fallback
        self.products.update(shown.items)

    def point(self, catalog_size: int) -> Point:
        per_user = list(self.users.values())
        exposures, clicks, purchases = (
            (sum(column) for column in zip(*per_user, strict=True)) if per_user else (0, 0, 0)
        )
        return Point(
            exposures=exposures,
            users=len(per_user),
            clicks=clicks,
            add_to_carts=self.add_to_carts,
            purchases=purchases,
            revenue=round(self.revenue, 6),
            click_through_rate=_rate(per_user, 1),
            conversion_rate=_rate(per_user, 2),
            cache_hit_rate=self.cached / exposures if exposures else None,
            fallback_share=self.fallbacks / exposures if exposures else None,
            catalog_coverage=len(self.products) / catalog_size if catalog_size else None,
        )


def _rate(per_user: list[list[int]], column: int) -> Rate | None:
    """Outcomes in `column` per exposure, with the delta method's interval over users."""
    exposures = sum(user[0] for user in per_user)
    if not exposures:
        return None
    value = sum(user[column] for user in per_user) / exposures
    try:
        found = statistics.ratio([user[column] for user in per_user], [user[0] for user in per_user])
    except InvalidStatisticsInput:  # fewer than two users: no variance to take
        return Rate(value, None, None)
    return Rate(found.value, found.low, found.high)


TOTAL = -1  # the bucket number of a series' sums over the whole range


def added_up(shown: Iterable[tuple[SeriesKey, int, Shown]]) -> dict[SeriesKey, dict[int, Sums]]:
    """Per series, per bucket number (and TOTAL), the sums of the exposures given with their
    series and bucket number."""
    sums: dict[SeriesKey, dict[int, Sums]] = defaultdict(lambda: defaultdict(Sums))
    for key, bucket, exposure in shown:
        sums[key][bucket].add(exposure)
        sums[key][TOTAL].add(exposure)
    return sums
