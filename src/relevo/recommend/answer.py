"""What a recommendation request and its answer are made of: what answering needs, what is
asked, how the answer was found, and each recommended item with what produced it."""

import itertools
import os
import secrets
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import NamedTuple

from relevo.recommend.catalog_view import CatalogSnapshot, Filters, ProductView
from relevo.recommend.deployed import DeployedVersion
from relevo.recommend.state import ServingState


class _RecommendationIds:
    """Recommendation ids: 32 hex characters, like a UUID's, made of this process's random
    prefix (64 bits, drawn again in a forked child) and a count. Unique across processes, and
    far cheaper than reading the kernel's random source for each answer, which on some hosts
    takes tens of microseconds."""

    def __init__(self) -> None:
        self._draw()
        os.register_at_fork(after_in_child=self._draw)

    def _draw(self) -> None:
        self._prefix, self._count = secrets.token_hex(8), itertools.count()

    def new(self) -> str:
        return f"{self._prefix}{next(self._count):016x}"


new_recommendation_id = _RecommendationIds().new


class Way(StrEnum):
    """Which way an answer was found."""

    ranked_ahead = "ranked_ahead"  # the user's list ranked at training time, filtered
    ranked_anew = "ranked_anew"  # the model ranking for this request
    cold_start = "cold_start"  # a user the model never saw, with no events: the fallback


@dataclass(frozen=True)
class AnswerInputs:
    """What answering needs, as this process keeps it: the deployed version, the catalog
    snapshot the answer is checked against and shown from, and the rest of the serving state."""

    version: DeployedVersion
    snapshot: CatalogSnapshot
    state: ServingState


class UserRequest(NamedTuple):
    """What is asked for one user (a named tuple: part of the key of kept answers)."""

    user_id: str
    count: int = 10
    filters: Filters = Filters()
    exclude: tuple[str, ...] = ()  # product ids to leave out
    exclude_bought: bool = True  # leave out what the user bought or rated
    exclude_viewed: bool = False  # leave out everything the user interacted with
    algorithm: str | None = None  # rank with this component of the deployed model
    # Keep what produced each item (Recommendation.component and .source), for answers that
    # say why: ranking anew that way costs about half as much again (engine/explain.py).
    reasons: bool = False


class Recommendation(NamedTuple):  # a named tuple for the same reason as ProductView
    product: ProductView
    score: float
    confidence: float  # 0..1, the best item of the list near 1
    component: str | None  # the part of the model that gave the item most of its score (if asked)
    source: str | None  # the user's own product behind that part (None: none, as for popularity)


@dataclass(frozen=True)
class RecommendationList:
    user_id: str
    version: DeployedVersion
    algorithm: str  # the deployed model's, or that of the component asked for
    items: list[Recommendation]
    way: Way
    why: str  # why it was found that way
    kept: bool  # the answer was one kept from an earlier request
    bought_since: frozenset[str] = frozenset()  # what the user bought or rated since training
    experiment: tuple[str, str] | None = None  # (experiment id, variant) when served inside one
    credits: tuple[str, ...] | None = None  # interleaved: per item, the ranker (variant) that contributed it
    preset_id: str | None = None  # the recommendation id, when it was chosen beforehand
    forgotten: bool = False  # an erased shopper the version learned from: answered as a stranger

    @cached_property
    def bought(self) -> frozenset[str]:
        """What the user bought or rated, before training and since (reasons say "you bought")."""
        if self.forgotten:
            return self.bought_since
        return self.bought_since | self.version.left_out_of(self.user_id)

    @cached_property
    def recommendation_id(self) -> str:
        """Sent back with clicks and purchases to attribute them; made when first asked for (a
        kept answer served again is a new answer, with an id of its own)."""
        return self.preset_id or new_recommendation_id()
