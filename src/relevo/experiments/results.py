"""An experiment's results: per variant its users, exposures and outcomes with each success
metric's estimate, each treatment against the control (experiments/statistics.py), the sample
ratio check and the verdict; for an interleaving test, the sessions each ranker won.

Metrics per exposure (click-through, conversion, add-to-cart rates) are analysed per user, the
unit assignment randomises: a user's exposures are summed and the ratio's variance taken by
the delta method. Revenue per user is a mean over the variant's users."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from relevo.experiments import statistics
from relevo.experiments.models import INTERLEAVED, Experiment, ExperimentKind
from relevo.experiments.statistics import Comparison, Estimate, InvalidStatisticsInput
from relevo.experiments.verdict import Verdict, interleaving_verdict, verdict
from relevo.exposures.attribution import Shown, attributed
from relevo.exposures.models import Exposure

# Metric → the outcome counted per exposure (revenue per user is a mean over users).
RATE_OF = {"click_through_rate": "click", "conversion_rate": "purchase", "add_to_cart_rate": "add_to_cart"}
METRICS = (*RATE_OF, "revenue_per_user")


@dataclass(frozen=True)
class VariantResult:
    name: str
    users: int
    exposures: int
    outcomes: dict[str, int]  # clicks, add-to-carts, purchases attributed
    revenue: float
    metrics: dict[str, Estimate | None]  # None: too little data for an estimate
    minimum_sample_size_reached: bool


@dataclass(frozen=True)
class InterleavingSessions:
    wins: dict[str, int]  # decided sessions each ranker won
    ties: int  # sessions with clicks credited to both alike
    without_clicks: int
    result: statistics.InterleavingResult | None


@dataclass(frozen=True)
class Results:
    experiment: Experiment
    variants: list[VariantResult]
    comparisons: dict[str, dict[str, Comparison | None]]  # metric → treatment → against control
    sample_ratio: statistics.SampleRatio | None
    interleaving: InterleavingSessions | None
    verdict: Verdict


def results(*, session: Session, experiment: Experiment) -> Results:
    window = timedelta(hours=experiment.attribution_hours)
    shown = list(attributed(session=session, where=[Exposure.experiment_id == experiment.id], window=window))
    names = [variant["name"] for variant in experiment.variants]
    control = next(variant["name"] for variant in experiment.variants if variant["baseline"])
    if experiment.kind == ExperimentKind.interleaving:
        # Every session shows both rankers: one row of totals, and the sessions each won.
        variants = [_variant_result(experiment, INTERLEAVED, _per_user(shown, [INTERLEAVED])[INTERLEAVED])]
        sessions = _interleaving(shown, names)
        words = (
            interleaving_verdict(
                sessions.result,
                ranker_a=names[0],
                ranker_b=names[1],
                minimum_sessions=experiment.minimum_sample_size,
            )
            if sessions.result is not None
            else Verdict("not_enough_data")
        )
        return Results(experiment, variants, {}, None, sessions, words)
    per_user = _per_user(shown, names)
    variants = [_variant_result(experiment, name, per_user[name]) for name in names]
    users = {variant.name: variant.users for variant in variants}
    comparisons = {
        metric: {name: _compare(metric, per_user[control], per_user[name]) for name in names if name != control}
        for metric in experiment.success_metrics
    }
    sample_ratio, words = None, Verdict("not_enough_data")
    if sum(users.values()):
        allocation = [experiment.allocation[name] for name in names]
        sample_ratio = statistics.sample_ratio_mismatch([users[name] for name in names], allocation)
        primary = experiment.success_metrics[0]
        complete = {primary: comparisons[primary]} if all(comparisons[primary].values()) else {}
        try:
            words = verdict(
                control=control,
                users=users,
                minimum_users=experiment.minimum_sample_size,
                sample_ratio=sample_ratio,
                comparisons=complete,
            )
        except InvalidStatisticsInput:  # the primary metric cannot be compared yet (no variance)
            words = Verdict("not_enough_data")
    return Results(experiment, variants, comparisons, sample_ratio, None, words)


def _per_user(shown: list[Shown], names: list[str]) -> dict[str, dict[str, np.ndarray]]:
    """Per variant, per user sums: exposures, each outcome, revenue (arrays aligned by user)."""
    sums: dict[str, dict[str, dict[str, float]]] = {name: defaultdict(lambda: defaultdict(float)) for name in names}
    for exposure in shown:
        user = sums[exposure.variant][exposure.user_id]
        user["exposures"] += 1
        for outcome, count in exposure.counts.items():
            user[outcome] += count
        user["revenue"] += exposure.revenue
    columns = ("exposures", "click", "add_to_cart", "purchase", "revenue")
    return {
        name: {column: np.array([user[column] for user in users.values()], dtype=np.float64) for column in columns}
        for name, users in sums.items()
    }


def _variant_result(experiment: Experiment, name: str, users: dict[str, np.ndarray]) -> VariantResult:
    """The variant's figures, every metric (not only the success metrics) with its interval."""
    metrics: dict[str, Estimate | None] = {}
    for metric in METRICS:
        try:
            if metric in RATE_OF:
                metrics[metric] = statistics.ratio(users[RATE_OF[metric]], users["exposures"])
            else:
                metrics[metric] = statistics.mean(users["revenue"])
        except InvalidStatisticsInput:
            metrics[metric] = None
    count = len(users["exposures"])
    return VariantResult(
        name=name,
        users=count,
        exposures=int(users["exposures"].sum()),
        outcomes={outcome: int(users[outcome].sum()) for outcome in ("click", "add_to_cart", "purchase")},
        revenue=float(users["revenue"].sum()),
        metrics=metrics,
        minimum_sample_size_reached=count >= experiment.minimum_sample_size,
    )


def _compare(metric: str, control: dict[str, np.ndarray], treatment: dict[str, np.ndarray]) -> Comparison | None:
    try:
        if metric in RATE_OF:
            outcome = RATE_OF[metric]
            return statistics.compare_ratios(
                control[outcome], control["exposures"], treatment[outcome], treatment["exposures"]
            )
        return statistics.compare_means(control["revenue"], treatment["revenue"])
    except InvalidStatisticsInput:
        return None


def _interleaving(shown: list[Shown], names: list[str]) -> InterleavingSessions:
    """Each session (an interleaved answer) goes to the ranker whose items got more of its
    clicks; a tie or no click decides nothing."""
    wins, ties, without = dict.fromkeys(names, 0), 0, 0
    for exposure in shown:
        credit = dict(zip(exposure.items, exposure.credits or [], strict=False))
        clicks = defaultdict(int)
        for product in exposure.clicked:
            if product in credit:
                clicks[credit[product]] += 1
        if not clicks:
            without += 1
        elif clicks[names[0]] == clicks[names[1]]:
            ties += 1
        else:
            wins[max(clicks, key=clicks.get)] += 1
    decided = wins[names[0]] + wins[names[1]]
    result = statistics.interleaving_result(wins[names[0]], wins[names[1]]) if decided else None
    return InterleavingSessions(wins=wins, ties=ties, without_clicks=without, result=result)


def estimate_dict(estimate: Estimate | None) -> dict[str, Any] | None:
    return None if estimate is None else {"value": estimate.value, "low": estimate.low, "high": estimate.high}
