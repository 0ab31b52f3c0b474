"""What people did with the answers they were shown: each click, add-to-cart and purchase
attributed to an exposure of the same user, the one whose recommendation id the event carries,
or else the user's latest exposure that showed the product within the attribution window
before the event. Revenue is the purchase's value, or the product's price when it has none.
One rule, read by experiments' results and by online metrics alike."""

import bisect
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from relevo.catalog.models import Product
from relevo.events.models import Event
from relevo.exposures.models import AnswerSource, Exposure
from relevo.users.models import User

OUTCOMES = ("click", "add_to_cart", "purchase")
_USERS_PER_QUERY = 500  # users whose events are read at once (and whose exposures are held)


@dataclass(slots=True)
class Shown:
    """One exposure and what it earned."""

    recommendation_id: str
    user_id: str
    items: list[str]
    shown_at: datetime
    experiment_id: str | None = None
    variant: str | None = None
    credits: list[str] | None = None
    model: str | None = None
    model_version: int | None = None
    source: str = AnswerSource.model
    fallback: bool = False
    click: int = 0
    add_to_cart: int = 0
    purchase: int = 0
    revenue: float = 0.0
    clicked: list[str] = field(default_factory=list)  # products clicked, in order

    @property
    def counts(self) -> dict[str, int]:
        """Each outcome's count."""
        return {"click": self.click, "add_to_cart": self.add_to_cart, "purchase": self.purchase}


_COLUMNS = (
    Exposure.recommendation_id,
    Exposure.user_id,
    Exposure.items,
    Exposure.shown_at,
    Exposure.experiment_id,
    Exposure.variant,
    Exposure.credits,
    Exposure.model,
    Exposure.model_version,
    Exposure.source,
    Exposure.fallback,
)


def attributed(
    *, session: Session, where: Sequence[ColumnElement[bool]], window: timedelta, until: datetime | None = None
) -> Iterator[Shown]:
    """The exposures matching `where`, each with the outcomes attributed to it, user after
    user (each user's oldest first). One pass over the exposures ordered by user, their events
    read a few hundred users at a time: memory holds those users' exposures, however many
    there are in all. Events at or after `until` are not counted."""
    query = select(*_COLUMNS).where(*where).order_by(Exposure.user_id, Exposure.shown_at, Exposure.id)
    chunk: list[Shown] = []
    users, current = 0, None
    for row in session.execute(query.execution_options(yield_per=5_000)):
        if row.user_id != current:
            if users == _USERS_PER_QUERY:
                _attribute(session, chunk, window, until)
                yield from chunk
                chunk, users = [], 0
            current, users = row.user_id, users + 1
        chunk.append(Shown(*row))
    if chunk:
        _attribute(session, chunk, window, until)
        yield from chunk


def _attribute(session: Session, shown: list[Shown], window: timedelta, until: datetime | None) -> None:
    """Attributes the outcomes of these exposures' users to them (each user's in the order shown)."""
    by_id = {exposure.recommendation_id: exposure for exposure in shown}
    by_user: dict[str, list[Shown]] = defaultdict(list)
    for exposure in shown:
        by_user[exposure.user_id].append(exposure)
    times = {user: [exposure.shown_at for exposure in exposures] for user, exposures in by_user.items()}
    since = min(exposure.shown_at for exposure in shown)
    for event in _outcome_events(session, list(by_user), since, until):
        user = event["user_id"]
        exposure = by_id.get(event["recommendation_id"] or "")
        if exposure is None or exposure.user_id != user:
            exposure = _latest_showing(by_user[user], times[user], event["product_id"], event["occurred_at"], window)
        if exposure is None:
            continue
        kind = event["event_type"]
        setattr(exposure, kind, getattr(exposure, kind) + 1)
        if kind == "click":
            exposure.clicked.append(event["product_id"])
        elif kind == "purchase":
            value = event["value"] if event["value"] is not None else event["price"]
            exposure.revenue += float(value or 0.0)


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


def _outcome_events(
    session: Session, users: list[str], since: datetime, until: datetime | None
) -> list[dict[str, Any]]:
    """Clicks, add-to-carts and purchases of these users from `since` to `until`, oldest first."""
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
        .where(User.external_id.in_(users), Event.occurred_at >= since, Event.event_type.in_(OUTCOMES))
    )
    if until is not None:
        query = query.where(Event.occurred_at < until)
    found = [dict(row._mapping) for row in session.execute(query)]
    found.sort(key=lambda event: event["occurred_at"])
    return found
