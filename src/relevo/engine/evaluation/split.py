"""Ways to hold events out for testing: boolean masks of the test events, or each event's part."""

from collections.abc import Sequence
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


def ratio_split(events: EventLog, ratios: Sequence[float], *, seed: int) -> np.ndarray:
    """Each event's part (0 = training, 1, 2, ...): within each user's events, in random order,
    consecutive shares by `ratios`, counted as RecBole does (every part but the first rounded
    down; a part whose share is under one event still gets one while the first keeps two or more)."""
    return ratio_split_in_order(events, ratios, np.random.default_rng(seed).permutation(len(events)))


def ratio_split_in_order(events: EventLog, ratios: Sequence[float], shuffled: np.ndarray) -> np.ndarray:
    """ratio_split with the random order given: `shuffled`, a permutation of the events, says
    which of a user's events come first (so another tool's split can be reproduced draw for draw)."""
    shares = np.asarray(ratios, dtype=float) / float(np.sum(ratios))
    order = shuffled[np.argsort(events.user[shuffled], kind="stable")]  # grouped, random within groups
    sizes = np.bincount(events.user, minlength=len(events.users)).astype(np.int64)
    counts = np.floor(np.outer(sizes, shares)).astype(np.int64)  # per user and part
    counts[:, 0] = sizes - counts[:, 1:].sum(axis=1)
    for part in range(len(shares) - 1, 0, -1):  # RecBole's fix-up, last part first
        exact = shares[part] * sizes
        bump = (counts[:, 0] > 1) & (exact > 0) & (exact < 1)
        counts[bump, part] += 1
        counts[bump, 0] -= 1
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.arange(len(order)) - np.repeat(starts, sizes)
    bounds = np.cumsum(counts, axis=1)  # end of each part within the user's events
    part_of = (position[:, np.newaxis] >= np.repeat(bounds, sizes, axis=0)).sum(axis=1)
    parts = np.zeros(len(events), dtype=np.int8)
    parts[order] = part_of
    return parts
