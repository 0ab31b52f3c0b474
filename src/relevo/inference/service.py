"""Inference for customers: a predictor version's answer for each customer as of a date, from
the customer features Relevo builds out of the purchase history before that date.

Each server process keeps the predictors it loaded last in a bounded cache (as many as
RELEVO_MODELS_IN_MEMORY), keyed by the version's files and their SHA-256: a version's files
never change, so a loaded predictor never goes stale."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy.orm import Session

from relevo.core.caches import LockedCache
from relevo.core.config import Settings
from relevo.core.errors import Conflict, InvalidArgument, NotFound
from relevo.customers import service as customers_service
from relevo.engine.customers.features import customer_features
from relevo.registry import aliases, files, predictors
from relevo.registry.models import ModelVersion, VersionKind, VersionStatus
from relevo.registry.predictors import Predictor

MAX_CUSTOMERS = 10_000  # customers one request may ask about
_LOADABLE = (VersionStatus.ready, VersionStatus.deployed)


@dataclass(frozen=True)
class Predictions:
    name: str
    version: int
    as_of: date
    predictions: dict[str, float]  # customer → prediction, in the order asked
    unknown: list[str]  # customers Relevo does not know, in the order asked


def predictor_cache(settings: Settings) -> LockedCache:
    """The predictors a server keeps loaded: the versions used last. Never invalidated: a
    version's files never change, and a version deleted is no longer asked for."""
    return LockedCache.lru(settings.models_in_memory)


def predict(
    *,
    session: Session,
    settings: Settings,
    predictors_loaded: LockedCache,
    name: str,
    version: str | None,
    customers: Sequence[str],
    as_of: date,
    field: str = "version",
) -> Predictions:
    """Predictions of model `name` at `version` (a number, an alias, or None for the deployed
    one; `field` names it in errors) for each known customer, as of the start of `as_of` (UTC)."""
    chosen = aliases.resolve(session=session, name=name, reference=version, field=field)
    predictor = _predictor(session=session, settings=settings, predictors_loaded=predictors_loaded, version=chosen)
    history, known = customers_service.purchase_history(session=session, before=as_of, customers=customers)
    features = customer_features(history, customers_service.day_number(as_of), predictor.inputs)
    try:
        answered = predictor.predict(features) if known else np.zeros(0)
    except InvalidArgument as exc:
        raise Conflict(f"model {name!r} version {chosen.version} cannot be run: {exc.details}") from None
    if not np.all(np.isfinite(answered)):
        raise Conflict(f"model {name!r} version {chosen.version} answered a value that is not a finite number")
    found = set(known)
    return Predictions(
        name=name,
        version=chosen.version,
        as_of=as_of,
        predictions=dict(zip(known, answered.tolist(), strict=True)),
        unknown=[customer for customer in dict.fromkeys(customers) if customer not in found],
    )


def predict_one(
    *,
    session: Session,
    settings: Settings,
    predictors_loaded: LockedCache,
    name: str,
    version: str | None,
    customer: str,
    as_of: date,
) -> float:
    """One customer's prediction; NotFound for a customer Relevo does not know."""
    answer = predict(
        session=session,
        settings=settings,
        predictors_loaded=predictors_loaded,
        name=name,
        version=version,
        customers=[customer],
        as_of=as_of,
        field="model_version",
    )
    if customer not in answer.predictions:
        raise NotFound(f"customer_id: no customer {customer!r}")
    return answer.predictions[customer]


def _predictor(
    *, session: Session, settings: Settings, predictors_loaded: LockedCache, version: ModelVersion
) -> Predictor:
    label = f"model {version.name!r} version {version.version}"
    if version.kind != VersionKind.predictor:
        raise Conflict(f"{label} is a {version.kind}, not a predictor: it recommends products, it does not predict")
    if version.status not in _LOADABLE:
        raise Conflict(f"{label} is {version.status}; only ready and deployed versions answer")
    # By content: a number deleted and uploaded again (even under the same row id) is another key.
    stored = files.listed(session=session, version_id=version.id)
    key = (version.id, tuple((file.name, file.sha256) for file in stored))
    loaded = predictors_loaded.get(key)
    if loaded is not None:
        return loaded
    try:
        paths = files.version_paths(session=session, settings=settings, version=version)
    except files.DamagedFile as exc:
        raise Conflict(f"{label}: a stored file is damaged ({exc}); upload the version again") from None
    try:
        loaded = predictors.load_predictor(
            file_format=version.format,
            algorithm=version.algorithm,
            paths=paths,
            config=version.config,
            settings=settings,
        )
    except InvalidArgument as exc:
        raise Conflict(f"{label} cannot be used for inference: {exc.details}") from None
    predictors_loaded.put(key, loaded)
    return loaded
