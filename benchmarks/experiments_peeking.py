"""Peeking at A/A experiments: how often a test ever declares a difference when there is none,
if its p-value is read at every look as the data accumulate.

Each simulated experiment has two arms drawn from the same population (an A/A test): every user
has several exposures (1 + Poisson(4), 5 on average) and a click-through rate of their own
(Beta(2, 18), 10% on average), so a user's clicks are correlated, as on a shop. The metric is
clicks per exposure, compared per user with the delta method by `compare_ratios` of
relevo.experiments.statistics, as the results are. Each experiment is read at evenly
spaced looks up to the final number of users per arm. A test "declares" when its p-value is
below alpha: the fixed-horizon p-value is valid read once, at the end; read at every look it
declares far more often than alpha. The always-valid p-value is built to be read at every look.
Statistics only, in-process, seeded; it prints figures and asserts nothing.

Usage: python -m benchmarks.experiments_peeking [--experiments 2000] [--looks 20] [--users 20000]
"""

import argparse
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from relevo.experiments.statistics import EXPECTED_LIFT, compare_ratios, proportion


@dataclass(frozen=True)
class Settings:
    experiments: int = 2000
    looks: int = 20
    users: int = 20_000
    alpha: float = 0.05
    expected_lift: float = EXPECTED_LIFT
    seed: int = 24
    chunk: int = 50


@dataclass(frozen=True)
class Counts:
    """Experiments (out of `experiments`) in which each reading declared a difference."""

    experiments: int
    fixed_horizon_once: int
    fixed_horizon_peeking: int
    always_valid_once: int
    always_valid_peeking: int
    seconds: float


def simulate(settings: Settings) -> Counts:
    """Runs the A/A experiments, `chunk` at a time (their users drawn in one vectorised go)."""
    started = time.perf_counter()
    rng = np.random.default_rng(settings.seed)
    looks = np.linspace(settings.users / settings.looks, settings.users, settings.looks).round().astype(int)
    fixed = np.zeros((settings.experiments, settings.looks), dtype=bool)
    valid = np.zeros_like(fixed)
    for first in range(0, settings.experiments, settings.chunk):
        count = min(settings.chunk, settings.experiments - first)
        shape = (count, 2, settings.users)
        exposures = 1 + rng.poisson(4.0, shape)
        clicks = rng.binomial(exposures, rng.beta(2.0, 18.0, shape))
        for experiment in range(count):
            for look, users in enumerate(looks):
                result = compare_ratios(
                    clicks[experiment, 0, :users],
                    exposures[experiment, 0, :users],
                    clicks[experiment, 1, :users],
                    exposures[experiment, 1, :users],
                    expected_lift=settings.expected_lift,
                )
                fixed[first + experiment, look] = result.p_value < settings.alpha
                valid[first + experiment, look] = result.always_valid_p_value < settings.alpha
    return Counts(
        experiments=settings.experiments,
        fixed_horizon_once=int(fixed[:, -1].sum()),
        fixed_horizon_peeking=int(fixed.any(axis=1).sum()),
        always_valid_once=int(valid[:, -1].sum()),
        always_valid_peeking=int(valid.any(axis=1).sum()),
        seconds=time.perf_counter() - started,
    )


def table(settings: Settings, counts: Counts) -> list[str]:
    """The false-positive rates with their 95% Wilson intervals, one line each."""
    rows = [
        ("fixed-horizon p-value, read once at the end", counts.fixed_horizon_once),
        (f"fixed-horizon p-value, read at all {settings.looks} looks", counts.fixed_horizon_peeking),
        ("always-valid p-value, read once at the end", counts.always_valid_once),
        (f"always-valid p-value, read at all {settings.looks} looks", counts.always_valid_peeking),
    ]
    lines = [f"  {'reading':50} {'declared':>9} {'false positives':>16} {'95% interval':>17}"]
    for name, declared in rows:
        rate = proportion(declared, counts.experiments)
        lines.append(f"  {name:50} {declared:>9,} {rate.value:>16.1%}   [{rate.low:6.1%}, {rate.high:6.1%}]")
    return lines


def describe(settings: Settings) -> str:
    return (
        f"settings: {settings.experiments:,} A/A experiments, {settings.looks} looks at "
        f"{settings.users // settings.looks:,} to {settings.users:,} users per arm, "
        f"exposures per user 1 + Poisson(4), click-through rate per user Beta(2, 18) (mean 10%), "
        f"alpha {settings.alpha}, always-valid test tuned to a {settings.expected_lift:.0%} lift, seed {settings.seed}"
    )


def main(arguments: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = Settings()
    parser.add_argument("--experiments", type=int, default=defaults.experiments)
    parser.add_argument("--looks", type=int, default=defaults.looks)
    parser.add_argument("--users", type=int, default=defaults.users, help="users per arm at the last look")
    parser.add_argument("--alpha", type=float, default=defaults.alpha)
    parser.add_argument("--expected-lift", type=float, default=defaults.expected_lift)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    args = parser.parse_args(arguments)
    settings = Settings(args.experiments, args.looks, args.users, args.alpha, args.expected_lift, args.seed)

    print(describe(settings), flush=True)
    counts = simulate(settings)
    print("\n".join(table(settings, counts)))
    print(f"run time: {counts.seconds:.0f} s (load average at the end {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    sys.exit(main())
