"""The batch generation job: each user's top k from the deployed model, computed in chunks
and stored per user exactly once, with the job's counters updated as each chunk is written.
A job run again (after a restart) skips the users it already has; a cancelled one stops at
the next chunk."""

from datetime import datetime
from typing import Any

from relevo.batch import service
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.errors import NotReady
from relevo.jobs import service as jobs_service
from relevo.jobs.models import JobStatus
from relevo.jobs.runner import Progress
from relevo.recommend import service as recommend_service
from relevo.recommend.catalog_view import CatalogView, Filters
from relevo.recommend.models_in_memory import DeployedModels, ServedModel
from relevo.recommend.recent import RecentEvents
from relevo.recommend.service import Serving

CHUNK_USERS = 200  # users computed, then written in one transaction
_FOREVER = 3600.0  # a job works from one model, catalog and events snapshot throughout


def run_generation_job(
    database: Database, settings: Settings, job_id: str, params: dict[str, Any], listener: Progress | None = None
) -> tuple[str, dict]:
    served = DeployedModels(database, settings.resolved_artifacts_dir, _FOREVER).get(settings.serving_model)
    if served is None:
        raise NotReady("no model is deployed yet: train a model first")
    serving = Serving(catalog=CatalogView(database, _FOREVER), recent=RecentEvents(database, _FOREVER))
    serving.recent.read(served.watermark)
    users = _users(database, job_id, params)
    filters = Filters(**params.get("filters", {}))
    for start in range(0, len(users), CHUNK_USERS):
        with database.session(write=False) as session:
            if jobs_service.get_or_raise(session=session, job_id=job_id).status != JobStatus.running:
                return "cancelled", {}
            chunk = users[start : start + CHUNK_USERS]
            done = service.done_users(session=session, job_id=job_id, user_ids=chunk)
        rows = [_result(served, serving, user, params, filters) for user in chunk if user not in done]
        with database.transaction() as session:
            service.store(session=session, job_id=job_id, rows=rows)
            processed, failed = service.counts(session=session, job_id=job_id)
            jobs_service.progress(
                session=session, job_id=job_id, message="generating", processed=processed + failed, failed=failed
            )
        if listener is not None:
            listener("generating", min(1.0, (start + len(chunk)) / len(users)))
    with database.session(write=False) as session:
        processed, failed = service.counts(session=session, job_id=job_id)
    message = f"recommendations generated for {processed} users" + (f"; {failed} failed" if failed else "")
    outcome = {"users": len(users), "generated": processed, "failed": failed, "model_version_id": served.version_id}
    return message, outcome


def _users(database: Database, job_id: str, params: dict[str, Any]) -> list[str]:
    """The job's users: as given, or its segment's (counted on the job once known)."""
    users = params.get("user_ids")
    if users is None:
        since = params.get("active_since")
        with database.session(write=False) as session:
            users = service.segment(session=session, active_since=datetime.fromisoformat(since) if since else None)
    with database.transaction() as session:
        jobs_service.get_or_raise(session=session, job_id=job_id).total = len(users)
    return list(dict.fromkeys(users))


def _result(
    served: ServedModel, serving: Serving, user: str, params: dict[str, Any], filters: Filters
) -> tuple[str, list[dict[str, Any]] | None, str | None]:
    """(user, items, None), or (user, None, the reason) when this user's answer failed."""
    try:
        snapshot = serving.catalog.snapshot()
        if params.get("rule") == "bought_together":  # seed 002: one product, by its own rule
            product = recommend_service.bought_with_purchases(
                served=served, serving=serving, snapshot=snapshot, user_id=user
            )
            if product is None:
                product = _most_popular(served, serving, snapshot)
            return user, [{"product_id": product, "score": 1.0}] if product else [], None
        answer = recommend_service.recommend_for_user(
            served=served, serving=serving, snapshot=snapshot, user_id=user, count=params["top_k"], filters=filters
        )
        return (
            user,
            [{"product_id": item.product.product_id, "score": round(item.score, 6)} for item in answer.items],
            None,
        )
    except Exception as exc:  # one user's failure is counted and kept, the job goes on
        return user, None, f"{type(exc).__name__}: {exc}"


def _most_popular(served: ServedModel, serving: Serving, snapshot: Any) -> str | None:
    allowed = serving.catalog.model_mask(snapshot, served.recommender.items.ids, Filters())
    ids, _ = recommend_service.popular_items(served, allowed, 1)
    return ids[0] if ids else None
