"""The deploy gate: whether a newly trained version replaces the serving one, the two judged
on the same held-out events, which neither saw in training (docs/operations.md, "The deploy
gate").

The serving version's algorithm and config are fitted again on the new version's training
part, with the same seed, and both models are scored user by user on its held-out events. The
new version is refused only when it is worse by more than the noise of that comparison: two
standard errors of the paired per-user difference, plus RELEVO_DEPLOY_GATE_TOLERANCE of the
serving version's figure. The slow part (`assess`) runs before the transaction that marks the
version ready; the verdict (`decide`) is taken in it, against the version serving then."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from relevo.core.config import Settings
from relevo.core.db import Database
from relevo.core.errors import RelevoError
from relevo.engine.algorithms import recommender_class
from relevo.engine.base import Recommender
from relevo.engine.data import EventLog, TrainingData
from relevo.engine.evaluation.evaluate import Comparison, compare
from relevo.registry import service, sizing
from relevo.registry.models import ModelVersion

NOISE_STANDARD_ERRORS = 2.0  # a drop within this many standard errors of the paired difference is noise


@dataclass(frozen=True)
class Assessment:
    """What the gate learned before the final transaction: the new version's own figure
    (`figure`: metric, k, users, challenger), the version serving then (None: nothing
    served), and the comparison with it or why there is none (`why_not`)."""

    deploy: str
    figure: dict[str, Any] | None = None
    serving_id: int | None = None
    serving_version: int | None = None
    comparison: Comparison | None = None
    refit: bool = False  # whether the serving version's settings were fitted again
    why_not: str | None = None


@dataclass(frozen=True)
class Verdict:
    deployed: bool
    record: dict[str, Any]  # stored under "gate" in the version's training figures


def assess(
    database: Database,
    settings: Settings,
    *,
    name: str,
    deploy: str,
    algorithm: str,
    config: Any,
    challenger: Recommender,
    training_part: TrainingData,
    test: EventLog | None,
    metrics: dict[str, float],
    k: int,
    max_users: int,
    seed: int,
    fit: Callable[[TrainingData, Recommender], Recommender],
    report: Callable[[str, float], None],
) -> Assessment:
    """Compares `challenger` (fitted with `algorithm` and `config`, the engine's config, on
    `training_part`; `metrics` its figures on `test`) with the version serving `name` now, on
    `test`. `fit` fits a model on data as the training does (it stops when the job must)."""
    if deploy != "gate":
        return Assessment(deploy=deploy)
    metric = settings.deploy_gate_metric
    figure = None
    if metric in metrics:
        figure = {"metric": metric, "k": k, "users": int(metrics.get("users", 0)), "challenger": metrics[metric]}
    with database.session(write=False) as session:
        serving = service.deployed(session=session, name=name)
        if serving is None:
            return Assessment(deploy=deploy, figure=figure)
        found = Assessment(deploy=deploy, figure=figure, serving_id=serving.id, serving_version=serving.version)
        if test is None or len(test) == 0:
            return replace(found, why_not="no event was held out to compare on")
        try:
            champion_config = service.engine_config_or_raise(algorithm=serving.algorithm, config=serving.config)
            if serving.algorithm == algorithm and champion_config == config:
                # Fitted on the same events with the same seed, it would be the challenger itself.
                same = Comparison(metric, k, figure["users"], figure["challenger"], figure["challenger"], 0.0, 0.0)
                return replace(found, comparison=same)
            sizing.check_fits(session=session, settings=settings, algorithm=serving.algorithm, config=champion_config)
        except RelevoError as exc:
            return replace(found, why_not=f"version {serving.version}'s settings cannot be fitted here: {exc}")
        champion_class, described = recommender_class(serving.algorithm), f"{serving.version} ({serving.algorithm})"
    report(f"comparing with the serving version {described}", 0.5)
    refitted = fit(training_part, champion_class(champion_config))
    comparison = compare(challenger, refitted, test, k, metric, max_users=max_users, seed=seed)
    return replace(found, comparison=comparison, refit=True)


def decide(*, assessment: Assessment, serving: ModelVersion | None, tolerance: float) -> Verdict:
    """Whether the version deploys, with the record saying why. `serving`: the version serving
    now, read under the name's lock: the gate decides only against the version it compared with."""
    if assessment.deploy == "always":
        return Verdict(True, {"deploy": "always", "deployed": True, "reason": "deploy: always skips the gate"})
    if assessment.deploy != "gate":
        mode = assessment.deploy
        return Verdict(False, {"deploy": mode, "deployed": False, "reason": f"deploy: {mode}"})
    record: dict[str, Any] = {"deploy": "gate", **(assessment.figure or {})}
    serving_id = serving.id if serving is not None else None
    if serving_id != assessment.serving_id:
        then = f"version {assessment.serving_version}" if assessment.serving_id is not None else "none"
        now = f"version {serving.version}" if serving is not None else "none"
        reason = (
            f"the serving version changed while this one trained ({then} then, {now} now), "
            "and it was not compared with the one serving now"
        )
        return Verdict(False, {**record, "deployed": False, "reason": reason})
    if serving is None:
        return Verdict(True, {**record, "deployed": True, "reason": "nothing was serving"})
    record |= {"champion_version": serving.version, "refit": assessment.refit}
    comparison = assessment.comparison
    if comparison is None or comparison.users < 2:
        why = assessment.why_not or "fewer than two held-out users to compare on"
        return Verdict(True, {**record, "deployed": True, "reason": f"deployed without a comparison: {why}"})
    noise = NOISE_STANDARD_ERRORS * comparison.standard_error
    allowed = noise + tolerance * comparison.champion
    deployed = comparison.difference >= -allowed
    if not assessment.refit:
        reason = "a routine retrain with the serving version's algorithm and settings: equal by construction"
    elif comparison.difference >= 0:
        reason = "not worse"
    elif comparison.difference >= -noise:
        reason = "within the noise"
    else:
        reason = "within the tolerance" if deployed else "worse beyond the noise"
    record |= {
        "metric": comparison.metric,
        "k": comparison.k,
        "users": comparison.users,
        "challenger": comparison.challenger,
        "champion": comparison.champion,
        "difference": comparison.difference,
        "standard_error": comparison.standard_error,
        "tolerance": tolerance,
        "allowed_drop": allowed,
        "threshold": comparison.champion - allowed,
        "deployed": deployed,
        "reason": reason,
    }
    return Verdict(deployed, record)


def describe(*, name: str, version: int, status: str, record: dict[str, Any] | None) -> str:
    """One sentence on what became of a trained version and why, with both figures and the margin."""
    outcome = "deployed" if status == "deployed" else "kept ready"
    head = f"version {version} of {name!r} trained and {outcome}"
    if not record:
        return head
    own = ""
    if "challenger" in record:
        figure, users = f"{record['metric']}@{record['k']}", f"{record['users']:,} held-out users"
        own = f"{figure} {record['challenger']:.4f}"
    if "champion" not in record:
        return f"{head}: {record['reason']}" + (f" ({own} on {users})" if own else "")
    champion = f"version {record['champion_version']}"
    if not record["refit"]:
        return (
            f"{head}: a routine retrain with {champion}'s algorithm and settings, which fitted on the same "
            f"events would be this very model, so the two are equal by construction ({figure} "
            f"{record['challenger']:.4f} for both on the same {users}; no second fit)"
        )
    margin = f"a drop up to {record['allowed_drop']:.4f} is allowed"
    if record["difference"] < -record["allowed_drop"]:
        margin += f"; this one is {-record['difference']:.4f} lower"
    against = f"against {champion}'s {record['champion']:.4f} on the same {users}"
    return f"{head}: {own} {against}, {record['reason']} ({margin})"
