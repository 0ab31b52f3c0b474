"""An experiment's results in plain words: not enough data yet, a winner, no detectable
difference, or untrustworthy results.

The verdict reads the always-valid p-values, never the fixed-horizon ones: the results page is
read whenever someone opens it, and a verdict that changed on a fixed-horizon p-value dipping
under 0.05 at one of those looks would name false winners far more often than 5% of the time.
The first success metric listed is the primary one and alone names a winner; the others are
shown beside it but decide nothing, since picking whichever of several metrics happens to
differ multiplies the chances of a false winner. With several treatments, each is tested
against the control at alpha divided by their number (Bonferroni). Higher is better on every
success metric.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from relevo.experiments.statistics import Comparison, InterleavingResult, InvalidStatisticsInput, SampleRatio

Outcome = Literal["not_enough_data", "winner", "no_difference", "sample_ratio_mismatch"]


@dataclass(frozen=True)
class Verdict:
    """What the results say; `winner` and `metric` are set when `outcome` is "winner"."""

    outcome: Outcome
    winner: str | None = None
    metric: str | None = None

    @property
    def words(self) -> str:
        if self.outcome == "winner":
            return f"winner: {self.winner} on {self.metric}"
        return {
            "not_enough_data": "not enough data yet",
            "no_difference": "no detectable difference",
            "sample_ratio_mismatch": "results untrustworthy: sample ratio mismatch",
        }[self.outcome]


def verdict(
    *,
    control: str,
    users: Mapping[str, int],
    minimum_users: int,
    sample_ratio: SampleRatio,
    comparisons: Mapping[str, Mapping[str, Comparison]],
    alpha: float = 0.05,
) -> Verdict:
    """The verdict of an A/B test. `users` counts each variant's users, the control's among
    them; `comparisons` maps each success metric, primary first, to each treatment's
    comparison with the control (it may be empty while a variant has fewer than
    `minimum_users`). A sample ratio mismatch overrides everything: with a broken assignment
    no comparison means anything. The minimum sample size is waited for even when a
    difference shows earlier, so that a day's or a novelty's effect has time to pass."""
    _check_alpha(alpha)
    if control not in users:
        raise InvalidStatisticsInput("control", f"{control!r} has no count in users")
    if sample_ratio.mismatch:
        return Verdict("sample_ratio_mismatch")
    if any(count < minimum_users for count in users.values()):
        return Verdict("not_enough_data")
    if not comparisons:
        raise InvalidStatisticsInput("comparisons", "needs at least one success metric")
    metric, treatments = next(iter(comparisons.items()))
    expected = sorted(set(users) - {control})
    if sorted(treatments) != expected:
        raise InvalidStatisticsInput(
            "comparisons", f"{metric} must compare each treatment {expected} with the control, not {sorted(treatments)}"
        )
    level = alpha / len(treatments)
    significant = {name: found for name, found in treatments.items() if found.always_valid_p_value < level}
    better = {name: found.absolute_lift.value for name, found in significant.items() if found.absolute_lift.value > 0}
    if better:
        return Verdict("winner", max(better, key=better.__getitem__), metric)
    if len(significant) == len(treatments):
        # Every treatment is worse than the control, each significantly.
        return Verdict("winner", control, metric)
    return Verdict("no_difference")


def interleaving_verdict(
    result: InterleavingResult,
    *,
    ranker_a: str,
    ranker_b: str,
    minimum_sessions: int,
    alpha: float = 0.05,
    metric: str = "interleaved clicks",
) -> Verdict:
    """The verdict of an interleaving test of two rankers, on its always-valid p-value, once
    `minimum_sessions` sessions are decided."""
    _check_alpha(alpha)
    if result.decided < minimum_sessions:
        return Verdict("not_enough_data")
    if result.always_valid_p_value >= alpha:
        return Verdict("no_difference")
    return Verdict("winner", ranker_a if result.share_a.value > 0.5 else ranker_b, metric)


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise InvalidStatisticsInput("alpha", f"must be above 0 and below 1, not {alpha}")
