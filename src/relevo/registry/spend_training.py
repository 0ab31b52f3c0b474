"""Training a customer_spend version: read every purchase up to now, hold out the last
horizon_days to measure how well spend over that horizon was predicted from the purchases
before it, fit on everything, store the model's files and deploy.

Deploying: the first version of a name always deploys; later ones as the training's `deploy`
says: "always", "never", or "gate", which deploys unless the new version's holdout RMSE is
worse than the serving version's by more than RELEVO_DEPLOY_GATE_TOLERANCE (a relative
margin), or either has no holdout figures (too little history to hold any out)."""

import shutil
from datetime import timedelta
from typing import Any

import numpy as np

from relevo.core.config import Settings
from relevo.core.db import Database, utcnow
from relevo.core.errors import InvalidArgument
from relevo.customers import service as customers_service
from relevo.engine.customers import spend
from relevo.engine.customers.features import PurchaseHistory, customer_features
from relevo.events import service as events_service
from relevo.jobs.control import Cancelled, Control, Interrupted, Superseded
from relevo.registry import files, service, training_steps
from relevo.registry.models import ModelVersion, VersionStatus

ALGORITHM = spend.CustomerSpend.algorithm
TOP_SHARE = 0.2  # the top-capture metric: the customers ranked in the top fifth by prediction


def train_spend_version(
    database: Database,
    settings: Settings,
    *,
    job_id: str,
    version_id: int,
    deploy: str = "gate",
    seed: int = 0,
    control: Control,
) -> ModelVersion:
    """Trains a customer_spend version created in `training` state, for the job `job_id`."""

    report = training_steps.reporter(database, control, job_id)

    with database.transaction() as session:
        version = service.get(session=session, version_id=version_id)
        name, config = version.name, dict(version.config)
    if version.status != VersionStatus.training:
        return training_steps.trained_before(version)
    staging = training_steps.staging_folder(settings)
    try:
        engine_config = spend.CustomerSpend.make_config(config)
        horizon = engine_config.horizon_days
        report("reading purchases", 0.0)
        today = utcnow().date()
        as_of = today + timedelta(days=1)  # today's purchases count
        with database.session(write=False) as session:
            watermark = events_service.latest_event_id(session=session)
            history, customers = customers_service.purchase_history(session=session, before=as_of)
        if len(history.amount) == 0:
            raise InvalidArgument("there are no purchases to train on: send or import purchase events first")
        final_day = customers_service.day_number(as_of)
        cut = final_day - horizon
        metrics: dict[str, Any] = {}
        if _enough_to_hold_out(history, cut):
            report(f"fitting on purchases before the last {horizon} days", 0.2)
            trial = spend.CustomerSpend(engine_config).fit(history.before(cut), cut, seed=seed)
            control.stop_if_asked()
            report(f"measuring spend over the last {horizon} days", 0.5)
            metrics = holdout_metrics(trial, history, cut, final_day)
        report(f"fitting on {len(history.amount):,} purchases of {len(customers):,} customers", 0.6)
        model = spend.CustomerSpend(engine_config).fit(history, final_day, seed=seed)
        control.stop_if_asked()
        training = {
            "purchases": len(history.amount),
            "customers": len(customers),
            "as_of": as_of.isoformat(),
            "horizon_days": horizon,
            "held_out_from": (as_of - timedelta(days=horizon)).isoformat() if metrics else None,
        }
        report("saving the model", 0.9)
        spend.save(model, staging, {"metrics": metrics, "training": training})
        with database.transaction() as session:
            service.lock_versions(session=session, name=name)
            control.confirm(session)
            version = service.get(session=session, version_id=version_id)
            serving = service.deployed(session=session, name=name)
            deployed, reason = _decide(deploy, metrics, serving, settings.deploy_gate_tolerance)
            files.add_folder(session=session, store=files.store_for(settings), version=version, folder=staging)
            service.mark_ready(
                session=session,
                version=version,
                metrics=metrics,
                training={**training, "gate": {"reason": reason, "deployed": deployed}},
                watermark=watermark,
            )
            if deployed:
                service.deploy(
                    session=session, version=version, actor=None, details={"by": "training", "job_id": job_id}
                )
            return version
    except (Interrupted, Superseded, Cancelled):
        raise  # as recommender trainings: resumed from the start, or failed by the cancel
    except Exception as exc:
        with database.transaction() as session:
            failed = service.get(session=session, version_id=version_id)
            service.mark_failed(session=session, version=failed, error=str(exc))
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # what the store took in stays there


def holdout_metrics(model: Any, history: PurchaseHistory, cut: int, final_day: int) -> dict[str, Any]:
    """How well `model`, fitted on the purchases before day `cut`, predicts each customer's spend
    in [cut, final_day), for the customers who had bought before `cut`: mean absolute and root
    mean square error, predicted total over actual total, and the share of the actual spend
    made by the top fifth of customers ranked by prediction."""
    before = history.before(cut)
    cohort = np.unique(before.customer)
    features = customer_features(history, cut, model.inputs)[cohort]
    predicted = np.asarray(model.predict(features), dtype=np.float64)
    window = (history.day >= cut) & (history.day < final_day)
    actual = np.bincount(history.customer[window], weights=history.amount[window], minlength=history.customers)[cohort]
    return {
        "customers": len(cohort),
        "mae": float(np.mean(np.abs(predicted - actual))),
        "rmse": float(np.sqrt(np.mean((predicted - actual) ** 2))),
        "predicted_total": float(predicted.sum()),
        "actual_total": float(actual.sum()),
        "total_ratio": float(predicted.sum() / actual.sum()) if actual.sum() > 0 else None,
        "top_20_capture": _top_capture(predicted, actual),
    }


def _top_capture(predicted: np.ndarray, actual: np.ndarray) -> float | None:
    if actual.sum() <= 0:
        return None
    top = max(1, round(len(predicted) * TOP_SHARE))
    ranked = np.argsort(-predicted, kind="stable")[:top]
    return float(actual[ranked].sum() / actual.sum())


def _enough_to_hold_out(history: PurchaseHistory, cut: int) -> bool:
    """Holding out needs customers who bought before the cut and purchases after it."""
    return bool(np.any(history.day < cut) and np.any(history.day >= cut))


def _decide(deploy: str, metrics: dict[str, Any], serving: ModelVersion | None, tolerance: float) -> tuple[bool, str]:
    if serving is None:
        return True, "the first version of this name"
    if deploy == "always":
        return True, "deploy: always"
    if deploy == "never":
        return False, "deploy: never"
    ours, theirs = metrics.get("rmse"), (serving.metrics or {}).get("rmse")
    if ours is None or theirs is None:
        return True, "no holdout RMSE to compare with the serving version's"
    if ours <= theirs * (1 + tolerance):
        return True, f"holdout RMSE {ours:.2f} against version {serving.version}'s {theirs:.2f}"
    return False, f"holdout RMSE {ours:.2f} is worse than version {serving.version}'s {theirs:.2f}"
