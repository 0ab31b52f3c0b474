"""Training a model version: read the events and the catalog, fit on most of the events and
measure on the rest, fit again on everything, store the artifact, and deploy the version
unless the deploy gate (gate.py) finds it worse than the one serving beyond the noise.

A training stops within about a second of its job being cancelled (fits ask between their
iterations, the rest between stages): the version is failed and its files removed. Stopped
because its process is stopping, it leaves the version in `training` and the job pending, to
be trained again from the start by another process."""

import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from relevo.catalog import service as catalog_service
from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.errors import InvalidArgument
from relevo.engine.algorithms import recommender_class
from relevo.engine.base import FitStopped, Recommender
from relevo.engine.data import EventLog, ItemCatalog, TrainingData
from relevo.engine.evaluation.evaluate import evaluate
from relevo.engine.evaluation.split import leave_last_n, random_holdout
from relevo.engine.events import left_out_matrix
from relevo.engine.explain import list_reasons
from relevo.engine.vocab import Vocabulary
from relevo.events import service as events_service
from relevo.jobs.control import Cancelled, Control, Interrupted, Superseded
from relevo.jobs.handlers import JobHandler
from relevo.registry import files, gate, service, sizing, spend_training, training_steps, version_files
from relevo.registry.models import ModelVersion, VersionStatus
from relevo.users import service as users_service

logger = logging.getLogger("relevo.training")

_PRECOMPUTE_BATCH = 4_096  # users ranked between two progress reports
EVALUATION_K = 10
EVALUATION_USERS = 10_000  # metrics on a sample of this many held-out users: as telling, far quicker


@dataclass(frozen=True)
class LoadedData:
    data: TrainingData
    watermark: int  # the highest event id included


def run_training_job(
    database: Database, settings: Settings, job_id: str, params: dict[str, Any], control: Control
) -> tuple[str, dict]:
    """The job handler: trains the version the job names, a recommender or a customer_spend model."""
    with database.session(write=False) as session:
        found = service.get(session=session, version_id=params["version_id"])
        algorithm = found.algorithm if found is not None else None
    if algorithm == spend_training.ALGORITHM:
        version = spend_training.train_spend_version(
            database,
            settings,
            job_id=job_id,
            version_id=params["version_id"],
            deploy=params.get("deploy", "gate"),
            seed=params.get("seed", 0),
            control=control,
        )
    else:
        version = train_version(
            database,
            settings,
            job_id=job_id,
            version_id=params["version_id"],
            dataset_ids=params.get("dataset_ids"),
            deploy=params.get("deploy", "gate"),
            evaluation=params.get("evaluation", "random"),
            seed=params.get("seed", 0),
            control=control,
        )
    message = gate.describe(
        name=version.name, version=version.version, status=version.status, record=version.training.get("gate")
    )
    return message, {"name": version.name, "version": version.version, "status": version.status}


def train_version(
    database: Database,
    settings: Settings,
    *,
    job_id: str,
    version_id: int,
    dataset_ids: Sequence[int] | None = None,
    deploy: str = "gate",
    evaluation: str = "random",
    seed: int = 0,
    control: Control,
) -> ModelVersion:
    """Trains a version created in `training` state, for the job `job_id`. deploy: "gate" (unless
    worse than the serving version beyond the noise, gate.py), "always" or "never"."""

    report = training_steps.reporter(database, control, job_id)

    with database.transaction() as session:
        version = service.get(session=session, version_id=version_id)
        name, algorithm, config = version.name, version.algorithm, dict(version.config)
    if version.status != VersionStatus.training:
        return training_steps.trained_before(version)
    store = files.store_for(settings)
    staging = training_steps.staging_folder(settings)
    try:
        cls = recommender_class(algorithm)
        engine_config = cls.make_config(config)
        threads = settings.train_threads or os.cpu_count() or 1

        def fit(data: TrainingData, model: Recommender | None = None) -> Recommender:
            model = model if model is not None else cls(engine_config)
            try:
                return model.fit(data, seed=seed, threads=threads, should_stop=control.should_stop)
            except FitStopped:
                control.stop_if_asked()  # raises why it stopped
                raise

        with database.session(write=False) as session:
            # Here too, as the machine that trains may not be the one that accepted the training.
            sizing.check_fits(session=session, settings=settings, algorithm=algorithm, config=engine_config)
        report("reading events and the catalog", 0.0)
        with database.session(write=False) as session:
            loaded = load_training_data(session, dataset_ids)
        data = loaded.data
        if len(data.events) == 0:
            raise InvalidArgument("there are no events to train on: send or import events first")

        report(f"fitting on {len(data.events):,} events less a held-out share", 0.1)
        held_out = _held_out(data.events, evaluation, seed)
        training_part = _without(data, held_out)
        started = time.perf_counter()
        trial = fit(training_part)
        fit_seconds = time.perf_counter() - started
        report("measuring on the held-out events", 0.45)
        metrics, test = {}, None
        if held_out.any():
            test = data.events.subset(held_out)
            metrics = evaluate(trial, test, EVALUATION_K, max_users=EVALUATION_USERS, seed=seed)
        assessment = gate.assess(
            database,
            settings,
            name=name,
            deploy=deploy,
            algorithm=algorithm,
            config=engine_config,
            challenger=trial,
            training_part=training_part,
            test=test,
            metrics=metrics,
            k=EVALUATION_K,
            max_users=EVALUATION_USERS,
            seed=seed,
            fit=fit,
            report=report,
        )
        del training_part  # held for the gate's fit only; the fit on every event needs the memory

        report("fitting on every event", 0.55)
        started = time.perf_counter()
        model = fit(data)
        final_seconds = time.perf_counter() - started
        training = {
            "events": len(data.events),
            "users": len(data.users),
            "items": len(data.items),
            "held_out_events": int(held_out.sum()),
            "evaluation": evaluation,
            "k": EVALUATION_K,
            "fit_seconds": round(fit_seconds, 3),
            "final_fit_seconds": round(final_seconds, 3),
            "dataset_ids": list(dataset_ids or []),
        }
        extra = {"watermark": loaded.watermark, "metrics": metrics, "training": training}
        bought = left_out_matrix(data.events)
        ranked_ahead = None
        if settings.precompute_count:
            ranked_ahead = precompute(
                model,
                settings.precompute_count,
                bought,
                lambda done: report(f"ranking ahead for {len(data.users):,} users", 0.8 + 0.15 * done),
                threads=threads,
            )
        report("saving the model", 0.95)
        version_files.write(staging, recommender=model, extra=extra, left_out=bought, ranked_ahead=ranked_ahead)
        # Marked ready and deployed in one transaction: should it fail, the version is marked failed
        # below, not left in training.
        with database.transaction() as session:
            # The gate decides against what serves now; a cancel waits for this, or has committed.
            service.lock_versions(session=session, name=name)
            control.confirm(session)
            version = service.get(session=session, version_id=version_id)
            serving = service.deployed(session=session, name=name)
            verdict = gate.decide(assessment=assessment, serving=serving, tolerance=settings.deploy_gate_tolerance)
            files.add_folder(session=session, store=store, version=version, folder=staging)
            service.mark_ready(
                session=session,
                version=version,
                metrics=metrics,
                training={**training, "gate": verdict.record},
                watermark=loaded.watermark,
            )
            if verdict.deployed:
                service.deploy(
                    session=session, version=version, actor=None, details={"by": "training", "job_id": job_id}
                )
            return version
    except (Interrupted, Superseded):
        raise  # the version stays in training: trained from the start by the process that takes the job
    except Cancelled:
        raise  # the cancel failed the version
    except Exception as exc:
        with database.transaction() as session:
            failed = service.get(session=session, version_id=version_id)
            service.mark_failed(session=session, version=failed, error=str(exc))
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # what the store took in stays there; no half-made files


def precompute(
    model: Recommender,
    count: int,
    bought: sp.csr_matrix,
    progress: Callable[[float], None],
    *,
    threads: int = 1,
) -> version_files.RankedAhead:
    """Every known user's `count` best items (indices, -1 padded) and scores, from the training
    history, leaving out only what the user bought or rated (`bought`, users × items), and why
    each was ranked (the model's part that gave it most, and the user's item behind it):
    serving takes a user's answer from these, filtered, while the user has no events since
    training (Gorse's offline cache, done at training time). Progress: ranking is the first
    two thirds of the work, finding the reasons the rest."""
    users = np.arange(len(model.users), dtype=np.int32)
    items = np.full((len(users), min(count, len(model.items))), -1, dtype=np.int32)
    scores = np.full(items.shape, np.nan, dtype=np.float32)
    for start in range(0, len(users), _PRECOMPUTE_BATCH):
        batch = users[start : start + _PRECOMPUTE_BATCH]
        found = model.recommend_indices(
            batch, count, histories=model.histories(batch), exclude_history=False, excluded=bought[batch]
        )
        items[batch], scores[batch] = found
        progress(min(1.0, (start + len(batch)) / max(len(users), 1)) * 2 / 3)
    reasons = list_reasons(model, items, users=users, threads=threads)
    progress(1.0)
    return version_files.RankedAhead(items=items, scores=scores, top=reasons.top, sources=reasons.sources)


def load_training_data(session: Any, dataset_ids: Sequence[int] | None = None) -> LoadedData:
    """The events (all, or those of some datasets) and the whole catalog, as engine data."""
    items = catalog_service.training_items(session=session)
    columns = events_service.training_columns(session=session, dataset_ids=dataset_ids)
    product_ids = np.array([item[0] for item in items], dtype=np.int64)
    item_vocabulary = Vocabulary(item[1] for item in items)
    position_of_product = np.full(int(product_ids.max()) + 1 if len(product_ids) else 0, -1, dtype=np.int32)
    position_of_product[product_ids] = np.arange(len(product_ids), dtype=np.int32)

    user_ids, user_positions = np.unique(columns.user_id, return_inverse=True)
    names = users_service.external_ids(session=session, ids=user_ids.tolist())
    types, type_positions = Vocabulary.encode(columns.event_type)
    events = EventLog(
        users=Vocabulary(names[int(user_id)] for user_id in user_ids),
        items=item_vocabulary,
        types=types,
        user=user_positions.astype(np.int32),
        item=position_of_product[columns.product_id] if len(columns.product_id) else np.zeros(0, np.int32),
        event_type=type_positions,
        timestamp=columns.timestamp,
        value=columns.value,
    )
    records = {
        external_id: {
            "category": category,
            "text": " ".join(part for part in (name, description) if part),
            "price": price,
            "quantity": quantity,
            "active": bool(active),
        }
        for _, external_id, category, name, description, price, quantity, active in items
    }
    catalog = ItemCatalog.from_records(item_vocabulary, records)
    return LoadedData(data=TrainingData(events=events, catalog=catalog), watermark=columns.watermark)


def _held_out(events: EventLog, evaluation: str, seed: int) -> np.ndarray:
    if evaluation == "temporal":
        return leave_last_n(events, 1)
    if evaluation == "random":
        return random_holdout(events, 0.2, seed=seed, by="user")
    raise InvalidArgument(f"evaluation: {evaluation!r} is neither 'random' nor 'temporal'")


def _without(data: TrainingData, held_out: np.ndarray) -> TrainingData:
    return TrainingData(events=data.events.subset(~held_out), catalog=data.catalog, weights=data.weights, now=data.now)


def _abandon(session: Any, params: dict[str, Any], reason: str) -> bool:
    return service.abandon_training(session=session, version_id=params["version_id"], reason=reason)


# A training cancelled or given up fails its version (unless it is done already).
HANDLER = JobHandler(run=run_training_job, abandon=_abandon)
