"""Always-valid inference for experiments read while they run: p-values and confidence
sequences that stay honest however often, and whenever, someone looks.

A fixed-horizon p-value is valid at one look planned in advance; read every hour and acted on
the first time it dips below 0.05, it declares a difference in A/A tests far more often than 5%
(Johari, Koomen, Pekelis, Walsh, "Peeking at A/B Tests: Why it matters, and what to do about
it", KDD 2017). The tests here are mixture sequential probability ratio tests (Robbins 1970,
"Statistical methods related to the law of the iterated logarithm", Ann. Math. Statist.): a
likelihood ratio Λ_n averaged over a mixing distribution of alternatives is a nonnegative
martingale of mean 1 under the null hypothesis, so by Ville's inequality

    P(Λ_n ≥ 1/α at any look n, ever) ≤ α.

Hence 1/Λ_n, computed from the data at the current look alone, is a valid p-value at any
stopping time, however the moment of looking or of stopping was chosen: no history of looks is
needed. It may rise again between looks; keeping the smallest value seen so far (the running
minimum of Johari et al.) is valid too. The same inequality makes the set of differences not
rejected at the current look a confidence sequence: it holds the true difference at every look
at once with probability at least 1 - α.
"""

import math

import numpy as np
from scipy import special


def normal_mixture_log_ratio(difference: float, variance: float, mixing_variance: float) -> float:
    """log Λ_n of the mSPRT of "the difference is 0" for a difference estimate that is normal
    with the given variance, mixing over differences drawn from N(0, mixing_variance):

        Λ_n = sqrt(V / (V + τ²)) · exp(τ² θ̂² / (2 V (V + τ²)))

    with θ̂ the estimated difference, V its variance and τ² the mixing variance. It is Johari
    et al.'s two-sample normal mSPRT (Operations Research 2022, "Always Valid Inference:
    Continuous Monitoring of A/B Tests") written with V = σ_A²/n_A + σ_B²/n_B, so
    that arms of different sizes and variances fit; like theirs it plugs in the estimated
    variance, which the central limit theorem makes sound once each arm has some hundreds of
    users."""
    if mixing_variance <= 0:
        return 0.0
    if variance <= 0:
        return 0.0 if difference == 0 else math.inf
    total = variance + mixing_variance
    return 0.5 * math.log(variance / total) + mixing_variance * difference**2 / (2 * variance * total)


def always_valid_p_value(difference: float, variance: float, mixing_variance: float) -> float:
    """min(1, 1/Λ_n) for "the difference is 0" at the current look (see the module)."""
    return math.exp(-max(0.0, normal_mixture_log_ratio(difference, variance, mixing_variance)))


def confidence_sequence(
    difference: float, variance: float, mixing_variance: float, alpha: float
) -> tuple[float, float]:
    """The differences θ₀ that the mSPRT of "the difference is θ₀" does not reject at level
    alpha at the current look: θ̂ ± sqrt(2 V (V + τ²) / τ² · (log(1/α) + ½ log((V + τ²) / V))),
    the normal-mixture boundary (Howard, Ramdas, McAuliffe, Sekhon, "Time-uniform,
    nonparametric, nonasymptotic confidence sequences", Ann. Statist. 2021). Unbounded (±inf)
    when the mixing variance is 0; a single point when the estimate has no variance."""
    if mixing_variance <= 0:
        return -math.inf, math.inf
    if variance <= 0:
        return difference, difference
    total = variance + mixing_variance
    half_width = math.sqrt(
        2 * variance * total / mixing_variance * (math.log(1 / alpha) + 0.5 * math.log(total / variance))
    )
    return difference - half_width, difference + half_width


def mixing_variance(control_value: float, treatment_value: float, expected_lift: float) -> float:
    """τ² for a comparison: τ = expected_lift · |control value| (the treatment's value when the
    control's is 0), so the mixture is centred on no difference and spread over lifts of about
    expected_lift, whatever the metric's unit (a click-through rate, euros per user).

    Why: the test is valid whatever fixed τ it mixes over; τ only decides which effects it
    detects soonest (those of about τ), which is why Johari et al. match the mixture to the
    effects one expects. A relative lift is what a shop plans with (users_needed takes the
    same), and the lifts of ranking changes are a few percent, hence the 5% default. The
    control's value is itself estimated, so τ is fixed only once the data have grown; the
    peeking benchmark measures the false-positive rate with exactly this choice."""
    baseline = abs(control_value) if control_value != 0 else abs(treatment_value)
    return (expected_lift * baseline) ** 2


def beta_binomial_p_value(successes: int, failures: int, expected_share: float) -> float:
    """Always-valid p-value of "each trial succeeds with probability ½" (an interleaving test's
    sign test), at the current look: 1/Λ_n with the exact mixture of Bernoulli likelihood ratios
    over a Beta(a, a) distribution of success probabilities,

        Λ_n = B(a + successes, a + failures) / B(a, a) · 2^n,

    an exact martingale under the null hypothesis (Robbins 1970), so Ville's inequality applies
    with no approximation. a is chosen so the mixture's standard deviation is
    |expected_share - ½|: it detects shares near expected_share soonest."""
    spread = abs(expected_share - 0.5)
    prior = (1 / (4 * spread**2) - 1) / 2
    trials = successes + failures
    log_ratio = (
        special.betaln(prior + successes, prior + failures) - special.betaln(prior, prior) + trials * np.log(2.0)
    )
    return math.exp(-max(0.0, float(log_ratio)))
