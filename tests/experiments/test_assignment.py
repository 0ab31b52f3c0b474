"""Assignment: deterministic and sticky, each variant its share of users (within ±1% over
100,000 users), and experiments independent of one another."""

import os
import subprocess
import sys
from collections import Counter

import pytest

from relevo.experiments.assignment import BUCKETS, bucket, thresholds, variant_of

USERS = [f"user-{number}" for number in range(100_000)]


@pytest.mark.parametrize(
    "allocation",
    [
        [("control", 0.5), ("treatment", 0.5)],
        [("control", 0.2), ("a", 0.3), ("b", 0.5)],
        [("control", 0.9), ("b", 0.1)],
    ],
)
def test_each_variant_gets_its_share_of_users(allocation: list[tuple[str, float]]) -> None:
    bounds = thresholds(allocation)
    counts = Counter(variant_of(bounds, "salt-1", user) for user in USERS)

    for name, share in allocation:
        assert abs(counts[name] / len(USERS) - share) <= 0.01, (name, counts)


def test_a_user_keeps_their_variant_and_a_share_of_zero_gets_nobody() -> None:
    bounds = thresholds([("control", 0.5), ("off", 0.0), ("treatment", 0.5)])
    first = [variant_of(bounds, "salt", user) for user in USERS[:1000]]

    assert [variant_of(bounds, "salt", user) for user in USERS[:1000]] == first
    assert "off" not in first
    assert bounds[-1][0] == BUCKETS


def test_two_experiments_assign_independently() -> None:
    fifty_fifty = thresholds([("control", 0.5), ("treatment", 0.5)])
    pairs = Counter((variant_of(fifty_fifty, "one", user), variant_of(fifty_fifty, "two", user)) for user in USERS)

    assert len(pairs) == 4
    for count in pairs.values():
        assert abs(count / len(USERS) - 0.25) <= 0.01, pairs


def test_buckets_are_the_same_in_every_process() -> None:
    # A hash of its own, not Python's hash(), which each process salts differently.
    code = "from relevo.experiments.assignment import bucket; print(bucket('salt', 'U000001'))"
    other = subprocess.run(
        [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": "12345"}, capture_output=True, text=True
    )

    assert int(other.stdout) == bucket("salt", "U000001")
