"""The always-valid p-values and confidence sequences: the mSPRT against its closed form in
Johari et al.'s notation, the interleaving mixture against a numerical integral, and both
holding their level in simulations read at many looks."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from relevo.experiments import sequential
from relevo.experiments.statistics import compare_means, compare_proportions


def johari_ratio(difference: float, sigma_squared: float, users: int, tau_squared: float) -> float:
    """Λ_n of the two-sample normal mSPRT with n users per arm and variance σ² in each
    (Johari, Koomen, Pekelis, Walsh, KDD 2017):
    sqrt(2σ² / (2σ² + nτ²)) · exp(n² τ² d² / (4σ² (2σ² + nτ²)))."""
    spread = 2 * sigma_squared + users * tau_squared
    return math.sqrt(2 * sigma_squared / spread) * math.exp(
        users**2 * tau_squared * difference**2 / (4 * sigma_squared * spread)
    )


@pytest.mark.parametrize("shift", [1.5, 0.9, 0.05])
def test_the_always_valid_p_value_is_the_msprt_closed_form(shift: float) -> None:
    rng = np.random.default_rng(11)
    users = 5_000
    control, treatment = rng.normal(100.0, 20.0, users), rng.normal(100.0 + shift, 20.0, users)
    sigma_squared = (control.var(ddof=1) + treatment.var(ddof=1)) / 2
    tau_squared = (0.05 * control.mean()) ** 2
    difference = treatment.mean() - control.mean()
    found = compare_means(control, treatment)
    by_hand = min(1.0, 1 / johari_ratio(difference, sigma_squared, users, tau_squared))
    assert found.always_valid_p_value == pytest.approx(by_hand, rel=1e-9)
    # The confidence sequence's ends are the differences the test rejects exactly at α.
    for end in (found.sequence_low, found.sequence_high):
        assert johari_ratio(difference - end, sigma_squared, users, tau_squared) == pytest.approx(20.0, rel=1e-9)


def test_the_always_valid_p_value_is_above_the_fixed_horizon_one() -> None:
    found = compare_proportions(1_000, 10_000, 1_090, 10_000)
    assert found.p_value < 0.05 < found.always_valid_p_value
    assert found.sequence_low < found.absolute_lift.low < found.absolute_lift.high < found.sequence_high


def test_the_expected_lift_tunes_the_mixture() -> None:
    narrow = compare_proportions(1_000, 10_000, 1_150, 10_000, expected_lift=0.02)
    wide = compare_proportions(1_000, 10_000, 1_150, 10_000, expected_lift=0.15)
    assert narrow.always_valid_p_value != wide.always_valid_p_value
    assert narrow.p_value == wide.p_value


def test_degenerate_estimates() -> None:
    assert sequential.always_valid_p_value(0.0, 0.0, 1.0) == 1.0
    assert sequential.always_valid_p_value(0.2, 0.0, 1.0) == 0.0
    assert sequential.always_valid_p_value(0.2, 0.01, 0.0) == 1.0
    assert sequential.confidence_sequence(0.2, 0.0, 1.0, 0.05) == (0.2, 0.2)
    assert sequential.confidence_sequence(0.2, 0.01, 0.0, 0.05) == (-math.inf, math.inf)
    assert sequential.mixing_variance(0.0, 0.2, 0.05) == pytest.approx(0.01**2)


def test_the_confidence_sequence_holds_the_truth_at_every_look() -> None:
    rng = np.random.default_rng(12)
    experiments, looks, step, rates = 400, 10, 500, (0.10, 0.11)
    successes = np.cumsum(rng.binomial(step, rates, (experiments, looks, 2)), axis=1)
    sequence_missed = interval_missed = 0
    for experiment in range(experiments):
        sequence_misses = interval_misses = False
        for look in range(looks):
            trials = step * (look + 1)
            found = compare_proportions(
                int(successes[experiment, look, 0]), trials, int(successes[experiment, look, 1]), trials
            )
            truth = rates[1] - rates[0]
            sequence_misses |= not found.sequence_low <= truth <= found.sequence_high
            interval_misses |= not found.absolute_lift.low <= truth <= found.absolute_lift.high
            # The p-value and the sequence are one test read two ways.
            assert (found.always_valid_p_value < 0.05) == (not found.sequence_low <= 0 <= found.sequence_high)
        sequence_missed += sequence_misses
        interval_missed += interval_misses
    assert sequence_missed / experiments <= 0.05
    # The fixed-horizon interval, watched at every look, misses more often than its 5%.
    assert interval_missed / experiments > 0.1


def test_the_interleaving_mixture_is_the_integral_of_its_likelihood_ratios() -> None:
    for wins, losses, share in [(60, 40, 0.55), (12, 3, 0.6), (500, 460, 0.52), (5, 5, 0.55)]:
        spread = share - 0.5
        prior = (1 / (4 * spread**2) - 1) / 2
        # Λ = ∫ (2q)^wins (2(1 - q))^losses dBeta(a, a)(q): each session's likelihood ratio against ½.
        ratio, _ = integrate.quad(
            lambda q, won=wins, lost=losses, a=prior: (2 * q) ** won * (2 * (1 - q)) ** lost * stats.beta.pdf(q, a, a),
            0,
            1,
            points=[wins / (wins + losses)],
        )
        by_hand = min(1.0, 1 / ratio)
        assert sequential.beta_binomial_p_value(wins, losses, share) == pytest.approx(by_hand, rel=1e-6)


def test_the_interleaving_always_valid_p_value_holds_its_level_read_every_fifty_sessions() -> None:
    rng = np.random.default_rng(13)
    wins = np.cumsum(rng.binomial(50, 0.5, (400, 40)), axis=1)
    declared = 0
    for row in wins:
        declared += any(
            sequential.beta_binomial_p_value(int(won), 50 * (look + 1) - int(won), 0.55) < 0.05
            for look, won in enumerate(row)
        )
    assert declared / len(wins) <= 0.05
