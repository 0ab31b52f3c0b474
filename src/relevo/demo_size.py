"""How big a synthetic demo shop is, apart from its generator (which loads the database layer
and numpy) so that `relevo demo --help` shows the defaults without loading either."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ShopSize:
    stores: int = 4
    products: int = 2_000
    users: int = 1_000
    sessions: int = 10_000
    days: int = 90
    seed: int = 42
