"""Erasing a shopper: their events, batch results, exposures and what batch jobs list of them,
their row emptied and marked erased, and the erase logged."""

from collections.abc import Callable

from sqlalchemy import select, update

from relevo.batch.models import JobResult
from relevo.core.db import Database, delete_in_chunks, utcnow
from relevo.events import service as events_service
from relevo.events.models import Event
from relevo.exposures.models import Exposure
from relevo.jobs.models import Job, JobKind
from relevo.users import privacy_audit as audit
from relevo.users import service as users_service
from relevo.users.models import User
from relevo.users.privacy_models import PrivacyAction, PrivacyRecord


def erase(
    *, database: Database, account_id: int, user_id: str, erased: Callable[[str, int], None] | None = None
) -> PrivacyRecord:
    """Erases the shopper (NotFound if Relevo never knew them) and logs it. Large deletes go in
    chunks, each in a transaction of its own; the row is marked last, and erasing again erases
    what is there then (an erase cut short is finished by asking again). Events stored while it
    runs may survive it: they are the shopper's new history. `erased(user_id, newest_event)` is
    called once it has committed."""
    with database.session(write=False) as session:
        user = users_service.get_or_raise(session=session, external_id=user_id)
        internal_id = user.id
        newest_event = events_service.latest_event_id(session=session)
    counts = {
        "events": delete_in_chunks(database, Event.__table__, Event.__table__.c.user_id == internal_id),
        "batch_results": delete_in_chunks(database, JobResult.__table__, JobResult.__table__.c.user_id == user_id),
        "exposures": delete_in_chunks(database, Exposure.__table__, Exposure.__table__.c.user_id == user_id),
        "batch_jobs_listing": _unlist_from_jobs(database, user_id),
    }
    with database.transaction() as session:
        session.execute(
            update(User).where(User.id == internal_id).values(attributes={}, account_id=None, erased_at=utcnow())
        )
        entry = audit.record(
            session=session,
            account_id=account_id,
            action=PrivacyAction.erase,
            user_id=user_id,
            details={**counts, "newest_event": newest_event},
        )
    if erased is not None:
        erased(user_id, newest_event)
    return entry


def _unlist_from_jobs(database: Database, user_id: str) -> int:
    """Takes the shopper out of the user lists that batch jobs were given; how many jobs had them."""
    changed = 0
    with database.transaction() as session:
        jobs = session.scalars(select(Job).where(Job.kind == JobKind.generate))
        for job in jobs:
            listed = (job.params or {}).get("user_ids")
            if listed and user_id in listed:
                job.params = {**job.params, "user_ids": [user for user in listed if user != user_id]}
                changed += 1
    return changed
