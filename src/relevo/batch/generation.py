"""The batch generation job: each user's top k from the deployed model, computed in chunks
(RELEVO_BATCH_CHUNK_USERS users) and stored per user exactly once, with the job's counters
updated as each chunk is written. The local executor runs the chunks one after another; on
Celery each chunk is a task, spread over every worker. A chunk run again (after a restart,
or redelivered when its worker died) skips the users it already has; a cancelled job stops
at the next chunk."""

import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import numpy as np

from relevo.batch import service
from relevo.batch.models import ranked, ranked_documents
from relevo.batch.service import Row
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.errors import NotReady
from relevo.engine.algorithms.factorization import FactorModel
from relevo.engine.rows import gather_rows
from relevo.jobs import service as jobs_service
from relevo.jobs.control import Control
from relevo.jobs.handlers import Chunked, JobHandler
from relevo.jobs.models import JobStatus
from relevo.recommend import service as recommend_service
from relevo.recommend.catalog_view import CatalogView, Filters
from relevo.recommend.models_in_memory import DeployedModels, ServedModel
from relevo.recommend.recent import RecentEvents
from relevo.recommend.service import Serving

_REFRESH_SECONDS = 30.0  # how stale a worker's model, catalog and events may get between chunks


def run_generation_job(
    database: Database, settings: Settings, job_id: str, params: dict[str, Any], control: Control
) -> tuple[str, dict]:
    """The local way: every chunk in turn, in this process, the next one computed while the
    last one is written; it stops after a chunk written if it must (the job cancelled, the
    process stopping)."""
    users = prepare(database, job_id, params)
    params = {**params, "user_ids": users}
    step = settings.batch_chunk_users
    chunks = [(start, start + step) for start in range(0, len(users), step)]

    def compute(number: int) -> list[Row] | None:
        return _compute(database, settings, job_id, *chunks[number], params=params)

    with ThreadPoolExecutor(1, thread_name_prefix="relevo-batch") as ahead:
        coming = [ahead.submit(compute, 0)] if chunks else []
        for number in range(len(chunks)):
            rows = coming.pop().result()
            if rows is None:
                return "cancelled", {}
            if number + 1 < len(chunks):
                coming.append(ahead.submit(compute, number + 1))
            _write(database, job_id, rows)
            control.report("generating", (number + 1) / len(chunks))
    return outcome(database, settings, job_id)


def prepare(database: Database, job_id: str, params: dict[str, Any]) -> list[str]:
    """The job's users, fixed in its params (a segment is resolved once), and counted."""
    users = params.get("user_ids")
    if users is None:
        since = params.get("active_since")
        with database.session(write=False) as session:
            users = service.segment(session=session, active_since=datetime.fromisoformat(since) if since else None)
    users = list(dict.fromkeys(users))
    with database.transaction() as session:
        job = jobs_service.get_or_raise(session=session, job_id=job_id)
        job.params, job.total = {**job.params, "user_ids": users}, len(users)
    return users


def run_chunk(database: Database, settings: Settings, job_id: str, start: int, stop: int) -> bool:
    """Computes and stores the users [start, stop) of the job that have no row yet; False if
    the job is no longer running (cancelled)."""
    rows = _compute(database, settings, job_id, start, stop)
    if rows is None:
        return False
    _write(database, job_id, rows)
    return True


def _compute(
    database: Database, settings: Settings, job_id: str, start: int, stop: int, params: dict[str, Any] | None = None
) -> list[Row] | None:
    """The rows of the users [start, stop) who have none yet; None if the job is no longer
    running (cancelled). `params`: the job's, with its users, when the caller has them (read
    from the job otherwise: a hundred thousand users are not parsed again for every chunk)."""
    with database.session(write=False) as session:
        if params is None:
            job = jobs_service.get_or_raise(session=session, job_id=job_id)
            status, params = job.status, dict(job.params)
        else:
            status = jobs_service.status(session=session, job_id=job_id)
        if status != JobStatus.running:
            return None
        users = service.undone_users(session=session, job_id=job_id, user_ids=params["user_ids"][start:stop])
    served, serving = serving_for(database, settings)
    return results_for(served, serving, users, params, settings)


def _write(database: Database, job_id: str, rows: list[Row]) -> None:
    """Stores the rows and counts them in the job, in one transaction."""
    with database.transaction() as session:
        stored, failed = service.store(session=session, job_id=job_id, rows=rows)
        jobs_service.advance(session=session, job_id=job_id, processed=stored, failed=failed)


def outcome(database: Database, settings: Settings, job_id: str) -> tuple[str, dict]:
    """The finished job's message and result."""
    served, _ = serving_for(database, settings)
    with database.session(write=False) as session:
        job = jobs_service.get_or_raise(session=session, job_id=job_id)
        # The counters advance in the transactions that write the rows, so they count them.
        users, failed, params = job.processed, job.failed, job.params
    processed = users - failed
    message = f"recommendations generated for {processed} users" + (f"; {failed} failed" if failed else "")
    result = {"users": users, "generated": processed, "failed": failed, "model_version_id": served.version_id}
    if params.get("rule") != "bought_together":
        result["scoring"] = scoring(served, params)
    return message, result


# What a process keeps to answer for many users, per database: loaded once, refreshed every
# so often.
_kept: weakref.WeakKeyDictionary[Database, dict[tuple, tuple[DeployedModels, Serving]]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def serving_for(database: Database, settings: Settings) -> tuple[ServedModel, Serving]:
    key = (settings.resolved_artifacts_dir, settings.serving_model)
    with _lock:
        kept = _kept.setdefault(database, {})
        if key not in kept:
            models = DeployedModels(database, settings.resolved_artifacts_dir, _REFRESH_SECONDS)
            serving = Serving(
                catalog=CatalogView(database, _REFRESH_SECONDS), recent=RecentEvents(database, _REFRESH_SECONDS)
            )
            kept[key] = (models, serving)
        models, serving = kept[key]
    served = models.get(settings.serving_model)
    if served is None:
        raise NotReady("no model is deployed yet: train a model first")
    if serving.recent.needs_reading(served.watermark):
        serving.recent.read(served.watermark)
    return served, serving


def results_for(
    served: ServedModel, serving: Serving, users: list[str], params: dict[str, Any], settings: Settings
) -> list[Row]:
    """Each user's row. Users the model knows and who have no events since training are
    scored together, in batches, on `batch_threads` threads; the others one by one, by the
    same pipeline as a request (their events since count, strangers get the cold-start answer)."""
    if params.get("rule") == "bought_together":
        return [_result(served, serving, user, params) for user in users]
    model = served.recommender
    since = served.watermark  # a user whose latest event is older has none since training
    known = {user for user in users if user in model.users and serving.recent.latest(user) <= since}
    rows = {user: _result(served, serving, user, params) for user in users if user not in known}
    if known:
        try:
            rows.update(_scored_together(served, serving, sorted(known), params, settings))
        except Exception:  # then each on its own, so that a failure is one user's, with its reason
            rows.update((user, _result(served, serving, user, params)) for user in known)
    return [rows[user] for user in users]


def _scored_together(
    served: ServedModel, serving: Serving, users: list[str], params: dict[str, Any], settings: Settings
) -> dict[str, Row]:
    model, count, filters = served.recommender, params["top_k"], Filters(**params.get("filters", {}))
    snapshot = serving.catalog.snapshot()
    allowed = serving.catalog.model_mask(snapshot, model.items.ids, filters)
    indices = model.users.indices(users)
    threads = settings.batch_threads or os.cpu_count() or 1
    options = {
        "histories": model.histories(indices),
        "excluded": gather_rows(served.bought, indices),  # what they bought or rated, as requests leave out
        "allowed": allowed,
        "threads": threads,
    }
    if scoring(served, params) == "approximate":
        best, scores = model.approximate_indices(indices, count, depth=settings.ann_search_depth, **options)
    else:
        best, scores = model.recommend_indices(indices, count, exclude_history=False, **options)
    found = (best >= 0).sum(axis=1)  # padding comes last
    documents = ranked_documents(model.items.lookup(np.clip(best, 0, None)), scores, found)
    return {user: (user, document, None) for user, document in zip(users, documents, strict=True)}


def scoring(served: ServedModel, params: dict[str, Any]) -> str:
    """How the job's known users are scored: "approximate" when asked for and the model has
    item factors to search (ALS, BPR), otherwise "exact"."""
    if params.get("scoring") == "approximate" and isinstance(served.recommender, FactorModel):
        return "approximate"
    return "exact"


def _result(served: ServedModel, serving: Serving, user: str, params: dict[str, Any]) -> Row:
    """(user, items, None), or (user, None, the reason) when this user's answer failed."""
    try:
        snapshot = serving.catalog.snapshot()
        if params.get("rule") == "bought_together":  # the purchases API: one product, by its own rule
            product = recommend_service.bought_with_purchases(
                served=served, serving=serving, snapshot=snapshot, user_id=user
            )
            if product is None:
                product = _most_popular(served, serving, snapshot)
            return user, ranked([product], [1.0]) if product else ranked([], []), None
        filters = Filters(**params.get("filters", {}))
        answer = recommend_service.recommend_for_user(
            served=served, serving=serving, snapshot=snapshot, user_id=user, count=params["top_k"], filters=filters
        )
        products = [item.product.product_id for item in answer.items]
        return user, ranked(products, [round(item.score, 6) for item in answer.items]), None
    except Exception as exc:  # one user's failure is counted and kept, the job goes on
        return user, None, f"{type(exc).__name__}: {exc}"


def _most_popular(served: ServedModel, serving: Serving, snapshot: Any) -> str | None:
    allowed = serving.catalog.model_mask(snapshot, served.recommender.items.ids, Filters())
    ids, _ = recommend_service.popular_items(served, allowed, 1)
    return ids[0] if ids else None


def _prepare_count(database: Database, job_id: str, params: dict[str, Any]) -> int:
    return len(prepare(database, job_id, params))


# A batch job runs whole in a local executor, and chunk by chunk on Celery workers.
HANDLER = JobHandler(
    run=run_generation_job, chunked=Chunked(prepare=_prepare_count, run_chunk=run_chunk, outcome=outcome)
)
