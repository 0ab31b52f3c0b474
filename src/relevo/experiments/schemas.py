"""Request and response bodies of experiments."""

import math
from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from relevo.catalog.schemas import FiltersIn
from relevo.core.fields import UtcDateTime
from relevo.experiments.models import Experiment, ExperimentKind
from relevo.experiments.results import Results
from relevo.registry.schemas import MODEL_NAME

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
SUCCESS_METRICS = ("click_through_rate", "conversion_rate", "add_to_cart_rate", "revenue_per_user")
SuccessMetric = Literal["click_through_rate", "conversion_rate", "add_to_cart_rate", "revenue_per_user"]
ALLOCATION_TOLERANCE = 1e-6


class VersionRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=MODEL_NAME)
    version: int = Field(ge=1, le=2**31 - 1)


class VariantConfig(BaseModel):
    """What serves a variant's users: a built-in algorithm, a model of the registry at its
    deployed version, or one version of it; and optionally how many items and which filters."""

    model_config = ConfigDict(extra="forbid")

    algorithm: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="A built-in algorithm (`collaborative` means `als`, `hybrid_ensemble` the hybrid)",
    )
    model: str | None = Field(default=None, pattern=MODEL_NAME, description="A model name, at its deployed version")
    model_version: VersionRef | None = Field(default=None, description="One version of a model")
    count: int | None = Field(default=None, ge=1, le=200, description="Items per answer, instead of the request's")
    filters: FiltersIn | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        given = [name for name in ("algorithm", "model", "model_version") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of algorithm, model and model_version (given: {', '.join(given) or 'none'})"
            )
        return self


class VariantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME)
    config: VariantConfig
    baseline: bool = Field(
        default=False, description="The variant others are compared with (else the one named control)"
    )


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


class ExperimentCreate(BaseModel):
    """The SmartCommerce API's body, and what Relevo adds to it (kind, attribution window)."""

    model_config = ConfigDict(extra="forbid")

    experiment_id: str = Field(pattern=NAME)
    name: str = Field(min_length=1, max_length=255)
    kind: ExperimentKind = ExperimentKind.ab
    variants: list[VariantIn] = Field(min_length=2, max_length=20)
    traffic_allocation: dict[str, float]
    success_metrics: list[SuccessMetric] = Field(min_length=1, max_length=4)
    start_date: datetime
    end_date: datetime
    minimum_sample_size: int = Field(gt=0, le=10**9)
    attribution_hours: float = Field(
        default=24.0, gt=0, le=24 * 90, description="Events on a shown item this long after it was shown count for it"
    )

    _dates = field_validator("start_date", "end_date")(_naive_utc)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [variant.name for variant in self.variants]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"variants: names must be unique ({', '.join(repeated)} repeated)")
        baselines = [variant.name for variant in self.variants if variant.baseline]
        if len(baselines) > 1:
            raise ValueError(f"variants: one baseline at most ({', '.join(baselines)} are marked)")
        if not baselines and "control" not in names:
            raise ValueError("variants: one must be named control or marked baseline: true")
        if self.kind == ExperimentKind.interleaving and len(names) != 2:
            raise ValueError(f"variants: an interleaving test compares exactly two rankers, not {len(names)}")
        check_allocation(self.traffic_allocation, names)
        if self.end_date <= self.start_date:
            raise ValueError("end_date: must be after start_date")
        if len(set(self.success_metrics)) != len(self.success_metrics):
            raise ValueError("success_metrics: each metric once")
        return self

    @property
    def baseline(self) -> str:
        return next((variant.name for variant in self.variants if variant.baseline), "control")


def check_allocation(allocation: dict[str, float], names: list[str]) -> None:
    """ValueError unless `allocation` gives every variant, and only those, a share in 0..1, the
    shares summing to 1 (±1e-6)."""
    missing, unknown = sorted(set(names) - set(allocation)), sorted(set(allocation) - set(names))
    if missing or unknown:
        parts = [f"missing {', '.join(missing)}" if missing else "", f"unknown {', '.join(unknown)}" if unknown else ""]
        raise ValueError(f"traffic_allocation: must name exactly the variants ({'; '.join(p for p in parts if p)})")
    for name, share in allocation.items():
        if not math.isfinite(share) or not 0 <= share <= 1:
            raise ValueError(f"traffic_allocation.{name}: must be between 0 and 1, not {share}")
    total = math.fsum(allocation.values())
    if abs(total - 1) > ALLOCATION_TOLERANCE:
        raise ValueError(f"traffic_allocation: shares must sum to 1, not {total:g}")


class ExperimentUpdate(BaseModel):
    """Before an experiment starts: its allocation or dates."""

    model_config = ConfigDict(extra="forbid")

    traffic_allocation: dict[str, float] | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None

    _dates = field_validator("start_date", "end_date")(_naive_utc)


class VariantRead(BaseModel):
    name: str
    config: dict[str, Any]
    baseline: bool


class ExperimentRead(BaseModel):
    experiment_id: str
    name: str
    kind: str
    status: str = Field(description="draft, scheduled, running, paused or stopped")
    variants: list[VariantRead]
    traffic_allocation: dict[str, float]
    success_metrics: list[str]
    start_date: UtcDateTime
    end_date: UtcDateTime
    minimum_sample_size: int
    attribution_hours: float
    serves: dict[str, str] = Field(description="Per variant, what serves its users (model and version)")
    blockers: list[str] = Field(description="What keeps the experiment from serving, per variant")
    jobs: dict[str, str] = Field(description="Per variant, the training started for it when the experiment started")
    promoted: dict[str, Any] | None = Field(description="The version deployed as the serving model when it stopped")
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    stopped_at: UtcDateTime | None

    @classmethod
    def of(cls, experiment: Experiment, status: str, serves: dict[str, str], blockers: list[str]) -> "ExperimentRead":
        return cls(
            experiment_id=experiment.id,
            name=experiment.name,
            kind=experiment.kind,
            status=status,
            variants=[VariantRead(**variant) for variant in experiment.variants],
            traffic_allocation=experiment.allocation,
            success_metrics=experiment.success_metrics,
            start_date=experiment.start_date,
            end_date=experiment.end_date,
            minimum_sample_size=experiment.minimum_sample_size,
            attribution_hours=experiment.attribution_hours,
            serves=serves,
            blockers=blockers,
            jobs=experiment.outcome.get("jobs", {}),
            promoted=experiment.outcome.get("promoted"),
            created_at=experiment.created_at,
            started_at=experiment.started_at,
            stopped_at=experiment.stopped_at,
        )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class EstimateRead(BaseModel):
    value: float
    low: float | None = Field(description="The 95% interval's bounds (null: unbounded)")
    high: float | None

    @classmethod
    def of(cls, estimate: Any) -> "EstimateRead | None":
        if estimate is None:
            return None
        return cls(value=estimate.value, low=_finite(estimate.low), high=_finite(estimate.high))


class VariantResultRead(BaseModel):
    name: str
    users: int
    exposures: int
    clicks: int
    add_to_carts: int
    purchases: int
    revenue: float
    metrics: dict[str, EstimateRead | None] = Field(
        description="click_through_rate, conversion_rate, add_to_cart_rate and revenue_per_user, each with its 95% "
        "interval (null: too little data yet)"
    )
    minimum_sample_size_reached: bool


class ComparisonRead(BaseModel):
    metric: str
    variant: str
    control: EstimateRead
    treatment: EstimateRead
    absolute_lift: EstimateRead
    relative_lift: EstimateRead | None
    p_value: float = Field(description="Two-sided, fixed horizon: valid read once, at the planned sample size")
    always_valid_p_value: float = Field(description="Valid however often the results are looked at (mSPRT)")
    confidence_sequence: EstimateRead = Field(description="The absolute lift's always-valid 95% interval")


class SampleRatioRead(BaseModel):
    p_value: float
    mismatch: bool = Field(description="Users per variant do not match the allocation (p < 0.001): untrustworthy")


class InterleavingRead(BaseModel):
    wins: dict[str, int] = Field(description="Sessions (interleaved answers) whose clicks went more to each ranker")
    ties: int
    without_clicks: int
    share_first: EstimateRead | None = Field(description="The first ranker's share of the decided sessions")
    p_value: float | None = Field(description="Two-sided sign (binomial) test on the decided sessions")
    always_valid_p_value: float | None


class VerdictRead(BaseModel):
    outcome: str = Field(description="not_enough_data, winner, no_difference or sample_ratio_mismatch")
    winner: str | None
    metric: str | None
    words: str


class ResultsRead(BaseModel):
    experiment_id: str
    kind: str
    status: str
    variants: list[VariantResultRead]
    comparisons: list[ComparisonRead] = Field(description="Each treatment against the control, per success metric")
    sample_ratio: SampleRatioRead | None
    interleaving: InterleavingRead | None
    verdict: VerdictRead


def results_read(found: Results, status: str) -> ResultsRead:
    """The results as the API shows them."""
    comparisons = [
        ComparisonRead(
            metric=metric,
            variant=variant,
            control=EstimateRead.of(comparison.control),
            treatment=EstimateRead.of(comparison.treatment),
            absolute_lift=EstimateRead.of(comparison.absolute_lift),
            relative_lift=EstimateRead.of(comparison.relative_lift),
            p_value=comparison.p_value,
            always_valid_p_value=comparison.always_valid_p_value,
            confidence_sequence=EstimateRead(
                value=comparison.absolute_lift.value,
                low=_finite(comparison.sequence_low),
                high=_finite(comparison.sequence_high),
            ),
        )
        for metric, treatments in found.comparisons.items()
        for variant, comparison in treatments.items()
        if comparison is not None
    ]
    sessions = found.interleaving
    interleaving = None
    if sessions is not None:
        result = sessions.result
        interleaving = InterleavingRead(
            wins=sessions.wins,
            ties=sessions.ties,
            without_clicks=sessions.without_clicks,
            share_first=None if result is None else EstimateRead.of(result.share_a),
            p_value=None if result is None else result.p_value,
            always_valid_p_value=None if result is None else result.always_valid_p_value,
        )
    verdict = found.verdict
    return ResultsRead(
        experiment_id=found.experiment.id,
        kind=found.experiment.kind,
        status=status,
        variants=[
            VariantResultRead(
                name=variant.name,
                users=variant.users,
                exposures=variant.exposures,
                clicks=variant.outcomes["click"],
                add_to_carts=variant.outcomes["add_to_cart"],
                purchases=variant.outcomes["purchase"],
                revenue=round(variant.revenue, 2),
                metrics={metric: EstimateRead.of(estimate) for metric, estimate in variant.metrics.items()},
                minimum_sample_size_reached=variant.minimum_sample_size_reached,
            )
            for variant in found.variants
        ],
        comparisons=comparisons,
        sample_ratio=None
        if found.sample_ratio is None
        else SampleRatioRead(p_value=found.sample_ratio.p_value, mismatch=found.sample_ratio.mismatch),
        interleaving=interleaving,
        verdict=VerdictRead(outcome=verdict.outcome, winner=verdict.winner, metric=verdict.metric, words=verdict.words),
    )


class PlanRead(BaseModel):
    baseline_rate: float
    minimum_detectable_effect: float
    alpha: float
    power: float
    users_per_variant: int
