"""What the event tests read back: every stored event, as the row it was stored from."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from relevo.catalog.models import Product
from relevo.events.models import Event
from relevo.events.service import EventRow
from relevo.users.models import User


def stored_rows(session: Session) -> list[EventRow]:
    """Every stored event, in arrival order, as the EventRow it was stored from."""
    session.expire_all()
    query = (
        select(
            Event.event_id,
            User.external_id,
            Product.external_id,
            Event.event_type,
            Event.value,
            Event.session_id,
            Event.device_type,
            Event.context,
            Event.recommendation_id,
            Event.occurred_at,
        )
        .join(User, User.id == Event.user_id)
        .join(Product, Product.id == Event.product_id)
        .order_by(Event.id)
    )
    return [EventRow(*values) for values in session.execute(query)]
