"""What an experiment's users did with what they were shown: each click, add-to-cart and
purchase attributed to an exposure, by the recommendation id the event carries, or else to the
user's latest exposure that showed the product within the attribution window before the event.
Revenue is the purchase's value, or the product's price when it has none."""

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.catalog.models import Product
from relevo.events.models import Event
from relevo.experiments.models import Experiment, Exposure
from relevo.users.models import User

OUTCOMES = ("click", "add_to_cart", "purchase")
_USERS_PER_QUERY = 500


@dataclass
class Shown:
    """One exposure and what it earned."""

    recommendation_id: str
    variant: str
    user_id: str
    items: list[str]
    credits: list[str] | None
    shown_at: datetime
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    revenue: float = 0.0
    clicked: list[str] = field(default_factory=list)  # products clicked, in order


def attributed(*, session: Session, experiment: Experiment) -> list[Shown]:
    """The experiment's exposures with the outcomes attributed to each."""
    shown = [
        Shown(row.recommendation_id, row.variant, row.user_id, list(row.items), row.credits, row.shown_at)
        for row in session.execute(
            select(
                Exposure.recommendation_id,
                Exposure.variant,
                Exposure.user_id,
                Exposure.items,
                Exposure.credits,
                Exposure.shown_at,
            )
            .where(Exposure.experiment_id == experiment.id)
            .order_by(Exposure.shown_at, Exposure.id)
        )
    ]
    if not shown:
        return shown
    by_id = {exposure.recommendation_id: exposure for exposure in shown}
    by_user: dict[str, list[Shown]] = defaultdict(list)
    for exposure in shown:
        by_user[exposure.user_id].append(exposure)  # in the order they were shown
    times = {user: [exposure.shown_at for exposure in exposures] for user, exposures in by_user.items()}
    window = timedelta(hours=experiment.attribution_hours)
    for event in _outcome_events(session, list(by_user), shown[0].shown_at):
        user = event["user_id"]
        exposure = by_id.get(event["recommendation_id"] or "") or _latest_showing(
            by_user[user], times[user], event["product_id"], event["occurred_at"], window
        )
        if exposure is None:
            continue
        exposure.counts[event["event_type"]] += 1
        if event["event_type"] == "click":
            exposure.clicked.append(event["product_id"])
        if event["event_type"] == "purchase":
            value = event["value"] if event["value"] is not None else event["price"]
            exposure.revenue += float(value or 0.0)
    return shown


def _latest_showing(
    exposures: list[Shown], times: list[datetime], product: str, at: datetime, window: timedelta
) -> Shown | None:
    """The user's latest exposure shown at most `window` before `at` that showed `product`
    (`times`: when each was shown, in order)."""
    for exposure in reversed(exposures[: bisect.bisect_right(times, at)]):
        if at - exposure.shown_at > window:
            return None
        if product in exposure.items:
            return exposure
    return None


def _outcome_events(session: Session, users: list[str], since: datetime) -> list[dict[str, Any]]:
    """Clicks, add-to-carts and purchases of these users since `since`, oldest first."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(users), _USERS_PER_QUERY):
        query = (
            select(
                User.external_id.label("user_id"),
                Product.external_id.label("product_id"),
                Product.price,
                Event.event_type,
                Event.value,
                Event.recommendation_id,
                Event.occurred_at,
            )
            .join(User, User.id == Event.user_id)
            .join(Product, Product.id == Event.product_id)
            .where(
                User.external_id.in_(users[start : start + _USERS_PER_QUERY]),
                Event.occurred_at >= since,
                Event.event_type.in_(OUTCOMES),
            )
        )
        found.extend(dict(row._mapping) for row in session.execute(query))
    found.sort(key=lambda event: event["occurred_at"])
    return found
