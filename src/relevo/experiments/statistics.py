"""Statistics of A/B and interleaving tests: estimates with confidence intervals, comparisons
of a treatment with the control, the sample-ratio check, sample sizes and interleaving results.

The users are the independent units: per-user values or per-user sums come in, frozen
dataclasses come out; nothing here reads a database or settings. Bad input raises
InvalidStatisticsInput (a ValueError) naming the argument.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from relevo.experiments import sequential

CONFIDENCE = 0.95
# The lift the always-valid test is tuned to: see sequential.mixing_variance.
EXPECTED_LIFT = 0.05
# The share of decided sessions the interleaving test's always-valid p-value is tuned to.
EXPECTED_SHARE = 0.55
# Sample ratio mismatch: flagged below this p-value, strict because the check runs at every
# look and a false alarm throws a whole experiment's results away.
MISMATCH_P_VALUE = 0.001
MOST_USERS = 10**12  # users_needed refuses to plan for more: the change is too small to detect


class InvalidStatisticsInput(ValueError):
    """An argument out of its domain, named in `argument`; the message reads
    `trials: must be a whole number of at least 1, not 0`."""

    def __init__(self, argument: str, problem: str) -> None:
        super().__init__(f"{argument}: {problem}")
        self.argument, self.problem = argument, problem


@dataclass(frozen=True)
class Estimate:
    """A value and its confidence interval [low, high]."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class _Sample:
    """A variant's estimate and the variance of that estimate (not of the users' values)."""

    value: float
    variance: float


def proportion(successes: int, trials: int, *, confidence: float = CONFIDENCE) -> Estimate:
    """successes / trials with the Wilson score interval (Wilson, "Probable inference, the law
    of succession, and statistical inference", JASA 1927), which keeps inside [0, 1] and covers
    well even for few trials or rates near 0."""
    _check_count(successes, "successes")
    _check_count(trials, "trials", at_least=1)
    if successes > trials:
        raise InvalidStatisticsInput("successes", f"must be at most trials ({trials}), not {successes}")
    z = _z(confidence)
    rate = successes / trials
    scale = 1 + z**2 / trials
    centre = (rate + z**2 / (2 * trials)) / scale
    half_width = z / scale * math.sqrt(rate * (1 - rate) / trials + z**2 / (4 * trials**2))
    return Estimate(rate, max(0.0, centre - half_width), min(1.0, centre + half_width))


def mean(values: ArrayLike, *, confidence: float = CONFIDENCE) -> Estimate:
    """The mean of per-user values (revenue per user) with a normal interval; at least 2 users."""
    return _interval(_mean_sample(values, "values"), confidence)


def ratio(numerators: ArrayLike, denominators: ArrayLike, *, confidence: float = CONFIDENCE) -> Estimate:
    """sum(numerators) / sum(denominators) for a metric counted per exposure (clicks per
    exposure) when each user has several: numerators[i] and denominators[i] are user i's sums.
    A user's exposures are not independent of each other, so the variance comes from the users
    by the delta method; at least 2 users, and some denominator above 0."""
    return _interval(_ratio_sample(numerators, denominators, "numerators", "denominators"), confidence)


@dataclass(frozen=True)
class Comparison:
    """A treatment against the control on one metric.

    absolute_lift: treatment - control; relative_lift: treatment / control - 1 (None when the
    control's value is 0); both with a confidence interval. p_value: the two-sided z-test of
    "no difference", valid when read once at a sample size fixed in advance.
    always_valid_p_value and [sequence_low, sequence_high]: the mSPRT's p-value and confidence
    sequence for the absolute difference, valid however often they are read (see sequential).
    """

    control: Estimate
    treatment: Estimate
    absolute_lift: Estimate
    relative_lift: Estimate | None
    p_value: float
    always_valid_p_value: float
    sequence_low: float
    sequence_high: float


def compare_proportions(
    control_successes: int,
    control_trials: int,
    treatment_successes: int,
    treatment_trials: int,
    *,
    confidence: float = CONFIDENCE,
    expected_lift: float = EXPECTED_LIFT,
) -> Comparison:
    """A rate per user (users who bought / users), each variant's rate with its Wilson interval;
    the difference uses the unpooled variance p(1 - p)/n of each arm."""
    control = proportion(control_successes, control_trials, confidence=confidence)
    treatment = proportion(treatment_successes, treatment_trials, confidence=confidence)
    return _compare(
        _Sample(control.value, control.value * (1 - control.value) / control_trials),
        _Sample(treatment.value, treatment.value * (1 - treatment.value) / treatment_trials),
        control,
        treatment,
        confidence,
        expected_lift,
    )


def compare_means(
    control_values: ArrayLike,
    treatment_values: ArrayLike,
    *,
    confidence: float = CONFIDENCE,
    expected_lift: float = EXPECTED_LIFT,
) -> Comparison:
    """A per-user mean (revenue per user); the difference's variance is Welch's, s_c²/n_c +
    s_t²/n_t, with no assumption that the arms' variances are equal."""
    control = _mean_sample(control_values, "control_values")
    treatment = _mean_sample(treatment_values, "treatment_values")
    return _compare(
        control, treatment, _interval(control, confidence), _interval(treatment, confidence), confidence, expected_lift
    )


def compare_ratios(
    control_numerators: ArrayLike,
    control_denominators: ArrayLike,
    treatment_numerators: ArrayLike,
    treatment_denominators: ArrayLike,
    *,
    confidence: float = CONFIDENCE,
    expected_lift: float = EXPECTED_LIFT,
) -> Comparison:
    """A ratio metric (clicks per exposure) from per-user sums, as `ratio` reads them; the
    difference's variance is the sum of the arms' delta-method variances."""
    control = _ratio_sample(control_numerators, control_denominators, "control_numerators", "control_denominators")
    treatment = _ratio_sample(
        treatment_numerators, treatment_denominators, "treatment_numerators", "treatment_denominators"
    )
    return _compare(
        control, treatment, _interval(control, confidence), _interval(treatment, confidence), confidence, expected_lift
    )


@dataclass(frozen=True)
class SampleRatio:
    """The chi-square test of the users per variant against the allocation; `mismatch` when its
    p-value is below the threshold: the assignment or the logging is broken and no comparison
    of these variants can be trusted."""

    p_value: float
    mismatch: bool


def sample_ratio_mismatch(
    counts: Sequence[int], allocation: Sequence[float], *, threshold: float = MISMATCH_P_VALUE
) -> SampleRatio:
    """Pearson's chi-square goodness of fit of the users counted per variant against the
    configured allocation (weights in any unit: 50/50 or 0.5/0.5), as Fabijan et al. diagnose
    it ("Diagnosing Sample Ratio Mismatch in Online Controlled Experiments", KDD 2019)."""
    if len(counts) < 2 or len(counts) != len(allocation):
        raise InvalidStatisticsInput("counts", "needs one count per variant, at least 2, as many as allocation")
    for count in counts:
        _check_count(count, "counts")
    weights = np.asarray(allocation, dtype=float)
    if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise InvalidStatisticsInput("allocation", "every variant's share must be above 0")
    observed = np.asarray(counts, dtype=float)
    if observed.sum() == 0:
        return SampleRatio(1.0, False)
    expected = observed.sum() * weights / weights.sum()
    p_value = float(stats.chisquare(observed, expected).pvalue)
    return SampleRatio(p_value, p_value < threshold)


def users_needed(
    baseline_rate: float, minimum_detectable_effect: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Users per variant for a two-sided test of two proportions to detect a relative change of
    minimum_detectable_effect (0.05: a 5% lift over baseline_rate) with the given power:

        n = (z_{1-α/2} sqrt(2 p̄ (1 - p̄)) + z_{power} sqrt(p₁(1 - p₁) + p₂(1 - p₂)))² / (p₂ - p₁)²

    with p̄ the mean of p₁ and p₂ (Fleiss, Levin, Paik, "Statistical Methods for Rates and
    Proportions", 3rd ed. 2003, chapter 4, without continuity correction)."""
    _check_open_unit(baseline_rate, "baseline_rate")
    _check_open_unit(alpha, "alpha")
    _check_open_unit(power, "power")
    if not math.isfinite(minimum_detectable_effect) or minimum_detectable_effect == 0:
        raise InvalidStatisticsInput("minimum_detectable_effect", "must be a finite number other than 0")
    treated = baseline_rate * (1 + minimum_detectable_effect)
    if not 0 < treated < 1:
        raise InvalidStatisticsInput(
            "minimum_detectable_effect", f"must keep the treated rate between 0 and 1, not {treated:g}"
        )
    pooled = (baseline_rate + treated) / 2
    spread = special.ndtri(1 - alpha / 2) * math.sqrt(2 * pooled * (1 - pooled)) + special.ndtri(power) * math.sqrt(
        baseline_rate * (1 - baseline_rate) + treated * (1 - treated)
    )
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # a change too small: inf or nan
        needed = float(np.float64(spread) ** 2 / np.float64(treated - baseline_rate) ** 2)
    if not math.isfinite(needed) or needed > MOST_USERS:
        raise InvalidStatisticsInput(
            "minimum_detectable_effect", f"a change of {treated - baseline_rate:g} is too small to detect"
        )
    return math.ceil(needed)


@dataclass(frozen=True)
class InterleavingResult:
    """An interleaving test of rankers A and B: `share_a` is the share of decided sessions (a
    session is decided when one ranker's items got more clicks; ties are not) won by A, with
    its Wilson interval; `p_value` the two-sided sign test of "each ranker wins half";
    `always_valid_p_value` the same hypothesis tested always-validly."""

    share_a: Estimate
    decided: int
    p_value: float
    always_valid_p_value: float


def interleaving_result(
    wins_a: int, wins_b: int, *, confidence: float = CONFIDENCE, expected_share: float = EXPECTED_SHARE
) -> InterleavingResult:
    """Team-draft interleaving's outcome (Radlinski, Kurup, Joachims, "How does clickthrough
    data reflect retrieval quality?", CIKM 2008) read as Chapelle et al. read it ("Large-scale
    validation and analysis of interleaved search evaluation", TOIS 2012): a binomial sign test
    on the decided sessions. At least one decided session."""
    _check_count(wins_a, "wins_a")
    _check_count(wins_b, "wins_b")
    if not 0.5 < expected_share < 1:
        raise InvalidStatisticsInput("expected_share", f"must be above 0.5 and below 1, not {expected_share}")
    decided = wins_a + wins_b
    if decided == 0:
        raise InvalidStatisticsInput("wins_a", "no decided session yet: wins_a + wins_b is 0")
    # The binomial(n, ½) is symmetric, so the two-sided p-value is twice the smaller tail.
    p_value = min(1.0, 2 * float(stats.binom.cdf(min(wins_a, wins_b), decided, 0.5)))
    return InterleavingResult(
        proportion(wins_a, decided, confidence=confidence),
        decided,
        p_value,
        sequential.beta_binomial_p_value(wins_a, wins_b, expected_share),
    )


def _compare(
    control: _Sample,
    treatment: _Sample,
    control_estimate: Estimate,
    treatment_estimate: Estimate,
    confidence: float,
    expected_lift: float,
) -> Comparison:
    if not math.isfinite(expected_lift) or expected_lift <= 0:
        raise InvalidStatisticsInput("expected_lift", f"must be above 0, not {expected_lift}")
    difference = _Sample(treatment.value - control.value, treatment.variance + control.variance)
    if difference.variance > 0:
        p_value = 2 * float(special.ndtr(-abs(difference.value) / math.sqrt(difference.variance)))
    else:
        p_value = 1.0 if difference.value == 0 else 0.0
    tau_squared = sequential.mixing_variance(control.value, treatment.value, expected_lift)
    low, high = sequential.confidence_sequence(difference.value, difference.variance, tau_squared, 1 - confidence)
    return Comparison(
        control=control_estimate,
        treatment=treatment_estimate,
        absolute_lift=_interval(difference, confidence),
        relative_lift=_relative_lift(control, treatment, confidence),
        p_value=p_value,
        always_valid_p_value=sequential.always_valid_p_value(difference.value, difference.variance, tau_squared),
        sequence_low=low,
        sequence_high=high,
    )


def _relative_lift(control: _Sample, treatment: _Sample, confidence: float) -> Estimate | None:
    """treatment / control - 1, with the delta-method variance of a ratio of two independent
    estimates: V_t / c² + t² V_c / c⁴ (Deng, Knoblich, Lu, "Applying the Delta Method in Metric
    Analytics", KDD 2018, on percent change). Symmetric, unlike Fieller's interval, which
    would be exact for normal estimates but can be unbounded; with the thousands of users an
    experiment needs the two agree."""
    if control.value == 0:
        return None
    variance = treatment.variance / control.value**2 + treatment.value**2 * control.variance / control.value**4
    return _interval(_Sample(treatment.value / control.value - 1, variance), confidence)


def _mean_sample(values: ArrayLike, name: str) -> _Sample:
    array = _per_user(values, name)
    return _Sample(float(array.mean()), float(array.var(ddof=1)) / array.size)


def _ratio_sample(
    numerators: ArrayLike, denominators: ArrayLike, numerator_name: str, denominator_name: str
) -> _Sample:
    """The delta method for R = mean(x) / mean(n) over users (Deng et al. 2018):
    Var(R) ≈ (Var(x) - 2 R Cov(x, n) + R² Var(n)) / (N · mean(n)²)."""
    x = _per_user(numerators, numerator_name)
    n = _per_user(denominators, denominator_name)
    if x.size != n.size:
        raise InvalidStatisticsInput(denominator_name, f"needs one sum per user: {n.size} given for {x.size} users")
    if np.any(n < 0) or n.sum() <= 0:
        raise InvalidStatisticsInput(denominator_name, "must be 0 or more, and not all 0")
    value = x.mean() / n.mean()
    covariance = np.cov(x, n, ddof=1)
    spread = covariance[0, 0] - 2 * value * covariance[0, 1] + value**2 * covariance[1, 1]
    return _Sample(float(value), max(0.0, float(spread)) / (x.size * n.mean() ** 2))


def _per_user(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size < 2:
        raise InvalidStatisticsInput(name, "needs one value per user, at least 2 users")
    if not np.all(np.isfinite(array)):
        raise InvalidStatisticsInput(name, "every value must be a finite number")
    return array


def _interval(sample: _Sample, confidence: float) -> Estimate:
    half_width = _z(confidence) * math.sqrt(sample.variance)
    return Estimate(sample.value, sample.value - half_width, sample.value + half_width)


def _z(confidence: float) -> float:
    _check_open_unit(confidence, "confidence")
    return float(special.ndtri(0.5 + confidence / 2))


def _check_count(value: int, name: str, at_least: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < at_least:
        raise InvalidStatisticsInput(name, f"must be a whole number of at least {at_least}, not {value!r}")


def _check_open_unit(value: float, name: str) -> None:
    if not (isinstance(value, int | float) and 0 < value < 1):
        raise InvalidStatisticsInput(name, f"must be above 0 and below 1, not {value!r}")
