"""Ways to hold events out for testing. Each returns a boolean mask of the test events."""

from typing import Literal

import numpy as np

from relevo.engine.data import EventLog


def random_holdout(events: EventLog, fraction: float, *, seed: int, by: Literal["user", "item"] = "user") -> np.ndarray:
    """Within each user's (or item's) events, a random `fraction` of them, rounded; groups of
    one event stay whole in training."""
    groups = events.user if by == "user" else events.item
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(events))
    order = shuffled[np.argsort(groups[shuffled], kind="stable")]  # grouped, random within groups
    sizes = np.bincount(groups, minlength=int(groups.max()) + 1 if len(groups) else 0)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    held = np.rint(sizes * fraction).astype(np.int64)
    held[sizes < 2] = 0
    position = np.arange(len(order)) - np.repeat(starts, sizes)
    in_test = position >= (np.repeat(sizes - held, sizes))
    mask = np.zeros(len(events), dtype=bool)
    mask[order[in_test]] = True
    return mask


def leave_last_n(events: EventLog, n: int = 1) -> np.ndarray:
    """Each user's n latest events (by time), for users with more than n events."""
    order = np.lexsort((np.arange(len(events)), events.timestamp, events.user))
    sizes = np.bincount(events.user, minlength=len(events.users))
    ends = np.cumsum(sizes)
    rank_from_end = np.repeat(ends, sizes) - np.arange(len(order)) - 1
    eligible = np.repeat(sizes > n, sizes)
    mask = np.zeros(len(events), dtype=bool)
    mask[order[(rank_from_end < n) & eligible]] = True
    return mask
