"""Which variant a user sees: the user's bucket, a hash of the experiment's salt and the user's
id into 10,000 buckets, falls in one variant's share. Deterministic and sticky with no state
per user; experiments with different salts assign independently of each other."""

import hashlib
from collections.abc import Sequence

BUCKETS = 10_000


def bucket(salt: str, user_id: str) -> int:
    digest = hashlib.blake2b(f"{salt}\x00{user_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def thresholds(allocation: Sequence[tuple[str, float]]) -> list[tuple[int, str]]:
    """(upper bucket bound, variant) in the variants' order: each variant takes its share of
    the buckets, rounded, the last one up to the end."""
    bounds, total = [], 0.0
    for name, share in allocation:
        total += share
        bounds.append((round(total * BUCKETS), name))
    return [*bounds[:-1], (BUCKETS, bounds[-1][1])] if bounds else []


def variant_of(bounds: Sequence[tuple[int, str]], salt: str, user_id: str) -> str:
    """The variant of `thresholds(...)` whose share holds the user's bucket."""
    at = bucket(salt, user_id)
    return next(name for bound, name in bounds if at < bound)
