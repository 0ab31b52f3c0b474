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
from relevo.recommend.answer import AnswerInputs, UserRequest
from relevo.recommend.catalog_view import Filters
from relevo.recommend.ranking import component
from relevo.recommend.service import recommend_for_user
from relevo.recommend.state import ServingState
from relevo.recommend.user_events import UserEvents

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
    return results_for(inputs_for(database, settings), users, params, settings)


def _write(database: Database, job_id: str, rows: list[Row]) -> None:
    """Stores the rows and counts them in the job, in one transaction."""
    with database.transaction() as session:
        stored, failed = service.store(session=session, job_id=job_id, rows=rows)
        jobs_service.advance(session=session, job_id=job_id, processed=stored, failed=failed)


def outcome(database: Database, settings: Settings, job_id: str) -> tuple[str, dict]:
    """The finished job's message and result."""
    inputs = inputs_for(database, settings)
    with database.session(write=False) as session:
        job = jobs_service.get_or_raise(session=session, job_id=job_id)
        # The counters advance in the transactions that write the rows, so they count them.
        users, failed, params = job.processed, job.failed, job.params
    processed = users - failed
    message = f"recommendations generated for {processed} users" + (f"; {failed} failed" if failed else "")
    result = {"users": users, "generated": processed, "failed": failed, "model_version_id": inputs.version.version_id}
    result["scoring"] = scoring(inputs, params)
    return message, result


# What a process keeps to answer for many users, per database: loaded once, looked at again
# every so often.
_kept: weakref.WeakKeyDictionary[Database, dict[tuple, ServingState]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def inputs_for(database: Database, settings: Settings) -> AnswerInputs:
    """The serving model's deployed version and the catalog, as this process keeps them."""
    key = (settings.resolved_artifacts_dir, settings.serving_model)
    with _lock:
        kept = _kept.setdefault(database, {})
        if key not in kept:
            kept[key] = ServingState.open(database, settings, refresh_seconds=_REFRESH_SECONDS)
        state = kept[key]
    if state.erased.needs_refresh():
        state.erased.refresh()
    version = state.versions.get(settings.serving_model)
    if version is None:
        raise NotReady("no model is deployed yet: train a model first")
    return AnswerInputs(version=version, snapshot=state.catalog.snapshot(), state=state)


def results_for(inputs: AnswerInputs, users: list[str], params: dict[str, Any], settings: Settings) -> list[Row]:
    """Each user's row. Users the model knows and who have no events since training are
    scored together, in batches, on `batch_threads` threads; the others one by one, by the
    same pipeline as a request (their events since count, strangers get the cold-start answer)."""
    version = inputs.version
    asked = UserRequest("", params["top_k"], Filters(**params.get("filters", {})), algorithm=_algorithm(inputs, params))
    events = inputs.state.events.of_many(users, version.watermark)
    together: list[str] = []  # with one component asked for, every user goes through the pipeline
    if asked.algorithm is None:
        known = version.recommender.users
        hides = inputs.state.erased.hides
        together = sorted(
            user for user in users if user in known and user not in events and not hides(user, version.watermark)
        )
    alone = set(users).difference(together)
    rows = {user: _result(inputs, events.get(user, ()), asked._replace(user_id=user)) for user in alone}
    if together:
        try:
            rows.update(_scored_together(inputs, together, asked, params, settings))
        except Exception:  # then each on its own, so that a failure is one user's, with its reason
            rows.update((user, _result(inputs, (), asked._replace(user_id=user))) for user in together)
    return [rows[user] for user in users]


def _algorithm(inputs: AnswerInputs, params: dict[str, Any]) -> str | None:
    """The component the job ranks with, if it asks for one the deployed model has."""
    algorithm = params.get("algorithm")
    return algorithm if algorithm and component(inputs.version.recommender, algorithm) is not None else None


def _scored_together(
    inputs: AnswerInputs, users: list[str], asked: UserRequest, params: dict[str, Any], settings: Settings
) -> dict[str, Row]:
    version = inputs.version
    model = version.recommender
    allowed = inputs.state.catalog.model_mask(inputs.snapshot, model.items.ids, asked.filters)
    indices = model.users.indices(users)
    threads = settings.batch_threads or os.cpu_count() or 1
    options = {
        "histories": model.histories(indices),
        "excluded": gather_rows(version.left_out, indices),  # what they bought or rated, as requests leave out
        "allowed": allowed,
        "threads": threads,
    }
    if scoring(inputs, params) == "approximate":
        best, scores = model.approximate_indices(indices, asked.count, depth=settings.ann_search_depth, **options)
    else:
        best, scores = model.recommend_indices(indices, asked.count, exclude_history=False, **options)
    found = (best >= 0).sum(axis=1)  # padding comes last
    documents = ranked_documents(model.items.lookup(np.clip(best, 0, None)), scores, found)
    return {user: (user, document, None) for user, document in zip(users, documents, strict=True)}


def scoring(inputs: AnswerInputs, params: dict[str, Any]) -> str:
    """How the job's known users are scored: "approximate" when asked for and the model has
    item factors to search (ALS, BPR), otherwise "exact"."""
    if params.get("scoring") == "approximate" and isinstance(inputs.version.recommender, FactorModel):
        return "approximate"
    return "exact"


def _result(inputs: AnswerInputs, events: UserEvents, asked: UserRequest) -> Row:
    """(user, items, None), or (user, None, the reason) when this user's answer failed."""
    try:
        answer = recommend_for_user(inputs, events, asked)
        products = [item.product.product_id for item in answer.items]
        return asked.user_id, ranked(products, [round(item.score, 6) for item in answer.items]), None
    except Exception as exc:  # one user's failure is counted and kept, the job goes on
        return asked.user_id, None, f"{type(exc).__name__}: {exc}"


def _prepare_count(database: Database, job_id: str, params: dict[str, Any]) -> int:
    return len(prepare(database, job_id, params))


# A batch job runs whole in a local executor, and chunk by chunk on Celery workers.
HANDLER = JobHandler(
    run=run_generation_job, chunked=Chunked(prepare=_prepare_count, run_chunk=run_chunk, outcome=outcome)
)
