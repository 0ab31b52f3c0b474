"""Each statistic of an experiment against the same figure worked out independently here with
numpy and scipy (another formula, a bootstrap, a simulation or scipy's own test), and bad input
refused with the argument named."""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import stats

from relevo.experiments.statistics import (
    InvalidStatisticsInput,
    compare_means,
    compare_proportions,
    compare_ratios,
    interleaving_result,
    mean,
    proportion,
    ratio,
    sample_ratio_mismatch,
    users_needed,
)

Z95 = stats.norm.ppf(0.975)


def wilson_by_roots(successes: int, trials: int, z: float) -> tuple[float, float]:
    """The rates p with (p̂ - p)² = z² p (1 - p) / n: the roots of a quadratic in p."""
    rate = successes / trials
    roots = np.roots([1 + z**2 / trials, -(2 * rate + z**2 / trials), rate**2])
    return float(roots.min()), float(roots.max())


@pytest.mark.parametrize(("successes", "trials"), [(10, 100), (0, 20), (20, 20), (1, 3), (517, 4_000)])
def test_proportion_is_the_wilson_interval(successes: int, trials: int) -> None:
    low, high = wilson_by_roots(successes, trials, Z95)
    found = proportion(successes, trials)
    assert found.value == successes / trials
    assert (found.low, found.high) == pytest.approx((low, high), abs=1e-12)


def test_the_confidence_can_be_chosen() -> None:
    low, high = wilson_by_roots(30, 200, stats.norm.ppf(0.995))
    found = proportion(30, 200, confidence=0.99)
    assert (found.low, found.high) == pytest.approx((low, high), abs=1e-12)


def test_mean_has_a_normal_interval() -> None:
    values = np.random.default_rng(1).exponential(30.0, 500)
    half_width = Z95 * values.std(ddof=1) / math.sqrt(values.size)
    found = mean(values)
    assert (found.value, found.low, found.high) == pytest.approx(
        (values.mean(), values.mean() - half_width, values.mean() + half_width), rel=1e-12
    )


def user_clicks(rng: np.random.Generator, users: int, rate: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Clicks and exposures per user, each user with a click-through rate of their own."""
    exposures = 1 + rng.poisson(4.0, users)
    return rng.binomial(exposures, rng.beta(2.0, 2.0 * (1 - rate) / rate, users)), exposures


def variance_of(estimate: Any) -> float:
    return ((estimate.high - estimate.low) / (2 * Z95)) ** 2


def test_ratio_variance_is_the_delta_method() -> None:
    # Linearised: R ≈ R₀ + (x̄ - R₀ n̄) / n̄₀, so Var(R) = Var(x - R n) / (N n̄²).
    clicks, exposures = user_clicks(np.random.default_rng(2), 3_000)
    value = clicks.sum() / exposures.sum()
    by_hand = np.var(clicks - value * exposures, ddof=1) / (clicks.size * exposures.mean() ** 2)
    found = ratio(clicks, exposures)
    assert found.value == pytest.approx(value, rel=1e-12)
    assert variance_of(found) == pytest.approx(by_hand, rel=1e-9)


def test_ratio_variance_agrees_with_a_bootstrap_over_users() -> None:
    rng = np.random.default_rng(3)
    clicks, exposures = user_clicks(rng, 3_000)
    resampled = rng.integers(0, clicks.size, (2_000, clicks.size))
    bootstrap = clicks[resampled].sum(axis=1) / exposures[resampled].sum(axis=1)
    assert variance_of(ratio(clicks, exposures)) == pytest.approx(bootstrap.var(), rel=0.1)


def test_ratio_variance_agrees_with_repeated_experiments() -> None:
    rng = np.random.default_rng(4)
    repeats = [user_clicks(rng, 2_000) for _ in range(1_500)]
    ratios = [clicks.sum() / exposures.sum() for clicks, exposures in repeats]
    mean_variance = np.mean([variance_of(ratio(clicks, exposures)) for clicks, exposures in repeats[:200]])
    assert mean_variance == pytest.approx(np.var(ratios, ddof=1), rel=0.1)


def test_ratio_variance_is_wider_than_if_exposures_were_independent() -> None:
    # Clicks of one user go together: per exposure, the binomial variance would be too small.
    clicks, exposures = user_clicks(np.random.default_rng(5), 5_000)
    rate = clicks.sum() / exposures.sum()
    assert variance_of(ratio(clicks, exposures)) > 1.1 * rate * (1 - rate) / exposures.sum()


def test_compare_means_is_a_z_test_on_the_welch_variance() -> None:
    rng = np.random.default_rng(6)
    control, treatment = rng.exponential(30.0, 4_000), rng.exponential(31.5, 3_000)
    difference = treatment.mean() - control.mean()
    standard_error = math.sqrt(control.var(ddof=1) / control.size + treatment.var(ddof=1) / treatment.size)
    found = compare_means(control, treatment)
    assert found.absolute_lift.value == pytest.approx(difference, rel=1e-12)
    assert found.absolute_lift.high - found.absolute_lift.value == pytest.approx(Z95 * standard_error, rel=1e-12)
    assert found.p_value == pytest.approx(2 * stats.norm.sf(abs(difference) / standard_error), rel=1e-9)
    welch = stats.ttest_ind(treatment, control, equal_var=False).pvalue
    assert found.p_value == pytest.approx(welch, rel=0.01)


def test_compare_proportions_is_a_z_test_on_the_unpooled_variance() -> None:
    control, treatment = 1_000 / 10_000, 1_080 / 10_000
    standard_error = math.sqrt(control * (1 - control) / 10_000 + treatment * (1 - treatment) / 10_000)
    found = compare_proportions(1_000, 10_000, 1_080, 10_000)
    assert found.absolute_lift.value == pytest.approx(0.008)
    assert found.p_value == pytest.approx(2 * stats.norm.sf(0.008 / standard_error), rel=1e-9)
    assert (found.control.low, found.control.high) == pytest.approx(wilson_by_roots(1_000, 10_000, Z95))


def test_compare_ratios_adds_the_arms_delta_method_variances() -> None:
    rng = np.random.default_rng(7)
    control, treatment = user_clicks(rng, 4_000), user_clicks(rng, 4_000, rate=0.105)
    variances = [variance_of(ratio(*arm)) for arm in (control, treatment)]
    found = compare_ratios(*control, *treatment)
    difference = found.treatment.value - found.control.value
    assert found.p_value == pytest.approx(2 * stats.norm.sf(abs(difference) / math.sqrt(sum(variances))), rel=1e-9)


def test_relative_lift_is_the_delta_method_and_close_to_fieller() -> None:
    rng = np.random.default_rng(8)
    control, treatment = rng.exponential(30.0, 20_000), rng.exponential(31.5, 20_000)
    c, t = control.mean(), treatment.mean()
    variance_c, variance_t = control.var(ddof=1) / control.size, treatment.var(ddof=1) / treatment.size
    by_hand = math.sqrt(variance_t / c**2 + t**2 * variance_c / c**4)
    # Fieller: the ratios ρ with (t - ρ c)² = z² (V_t + ρ² V_c).
    fieller = np.roots([c**2 - Z95**2 * variance_c, -2 * t * c, t**2 - Z95**2 * variance_t])
    found = compare_means(control, treatment).relative_lift
    assert found is not None
    assert found.value == pytest.approx(t / c - 1, rel=1e-12)
    assert found.high - found.value == pytest.approx(Z95 * by_hand, rel=1e-9)
    assert (found.low, found.high) == pytest.approx((fieller.min() - 1, fieller.max() - 1), abs=2e-3)


def test_relative_lift_is_none_when_the_control_is_zero() -> None:
    assert compare_proportions(0, 100, 3, 100).relative_lift is None


def test_sample_ratio_mismatch_is_a_chi_square_test() -> None:
    skewed = sample_ratio_mismatch([5_300, 4_700], [50, 50])
    assert skewed.p_value == pytest.approx(stats.chi2.sf(2 * 300**2 / 5_000, 1), rel=1e-9)
    assert skewed.mismatch
    fair = sample_ratio_mismatch([5_030, 4_970], [0.5, 0.5])
    assert fair.p_value == pytest.approx(stats.chi2.sf(2 * 30**2 / 5_000, 1), rel=1e-9)
    assert not fair.mismatch


def test_sample_ratio_mismatch_reads_unequal_allocations() -> None:
    counts, expected = np.array([2_100, 3_950, 3_950]), np.array([2_000, 4_000, 4_000])
    found = sample_ratio_mismatch(counts.tolist(), [20, 40, 40])
    assert found.p_value == pytest.approx(stats.chi2.sf(((counts - expected) ** 2 / expected).sum(), 2), rel=1e-9)
    assert not found.mismatch
    assert sample_ratio_mismatch([2_500, 3_750, 3_750], [20, 40, 40]).mismatch
    assert sample_ratio_mismatch([0, 0], [1, 1]).p_value == 1.0


def test_users_needed_is_the_textbook_figure() -> None:
    base, treated = 0.10, 0.105
    pooled = (base + treated) / 2
    z_alpha, z_power = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    by_hand = (
        z_alpha * math.sqrt(2 * pooled * (1 - pooled))
        + z_power * math.sqrt(base * (1 - base) + treated * (1 - treated))
    ) ** 2 / (treated - base) ** 2
    found = users_needed(0.10, 0.05)
    assert found == math.ceil(by_hand)
    assert 57_000 <= found <= 58_000
    assert users_needed(0.10, 0.05, alpha=0.01, power=0.9) > found
    assert users_needed(0.10, -0.05) > 0


def test_users_needed_gives_the_power_asked_for() -> None:
    rng = np.random.default_rng(9)
    users = users_needed(0.10, 0.05)
    control, treatment = rng.binomial(users, 0.10, 2_000), rng.binomial(users, 0.105, 2_000)
    p_values = [
        compare_proportions(int(c), users, int(t), users).p_value for c, t in zip(control, treatment, strict=True)
    ]
    assert np.mean(np.array(p_values) < 0.05) == pytest.approx(0.8, abs=0.03)


@pytest.mark.parametrize(("wins_a", "wins_b"), [(55, 45), (45, 55), (50, 50), (7, 0), (0, 1), (530, 470), (3, 9)])
def test_interleaving_uses_the_sign_test(wins_a: int, wins_b: int) -> None:
    found = interleaving_result(wins_a, wins_b)
    assert found.decided == wins_a + wins_b
    assert found.p_value == pytest.approx(stats.binomtest(wins_a, wins_a + wins_b, 0.5).pvalue, rel=1e-9)
    assert (found.share_a.low, found.share_a.high) == pytest.approx(wilson_by_roots(wins_a, found.decided, Z95))


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: proportion(11, 10), "successes"),
        (lambda: proportion(-1, 10), "successes"),
        (lambda: proportion(0, 0), "trials"),
        (lambda: proportion(1, 10, confidence=1.0), "confidence"),
        (lambda: proportion(1.5, 10), "successes"),
        (lambda: mean([3.0]), "values"),
        (lambda: mean([1.0, float("nan")]), "values"),
        (lambda: mean([[1.0, 2.0]]), "values"),
        (lambda: ratio([1, 2, 3], [4, 5]), "denominators"),
        (lambda: ratio([0, 0], [0, 0]), "denominators"),
        (lambda: ratio([1, 1], [-1, 3]), "denominators"),
        (lambda: compare_means([1.0, 2.0], [3.0]), "treatment_values"),
        (lambda: compare_ratios([1, 2], [3, 4], [1, 2], [0, 0]), "treatment_denominators"),
        (lambda: compare_proportions(1, 10, 2, 10, expected_lift=0), "expected_lift"),
        (lambda: sample_ratio_mismatch([10], [1]), "counts"),
        (lambda: sample_ratio_mismatch([10, 12], [1, 1, 1]), "counts"),
        (lambda: sample_ratio_mismatch([10, -1], [1, 1]), "counts"),
        (lambda: sample_ratio_mismatch([10, 12], [1, 0]), "allocation"),
        (lambda: users_needed(0, 0.05), "baseline_rate"),
        (lambda: users_needed(1.2, 0.05), "baseline_rate"),
        (lambda: users_needed(0.1, 0), "minimum_detectable_effect"),
        (lambda: users_needed(0.6, 1.0), "minimum_detectable_effect"),
        (lambda: users_needed(0.1, float("inf")), "minimum_detectable_effect"),
        (lambda: users_needed(0.1, 0.05, alpha=0), "alpha"),
        (lambda: users_needed(0.1, 0.05, power=1), "power"),
        (lambda: interleaving_result(0, 0), "wins_a"),
        (lambda: interleaving_result(-1, 3), "wins_a"),
        (lambda: interleaving_result(1, 3, expected_share=0.4), "expected_share"),
    ],
)
def test_bad_input_is_refused_by_name(call: Callable[[], object], argument: str) -> None:
    with pytest.raises(InvalidStatisticsInput) as refused:
        call()
    assert refused.value.argument == argument
    assert str(refused.value).startswith(f"{argument}: ")
    assert isinstance(refused.value, ValueError)
