"""Every algorithm, by the name models and artifacts know it by."""

from relevo.engine.algorithms.popular import Popular
from relevo.engine.base import Recommender

ALGORITHMS: dict[str, type[Recommender]] = {cls.algorithm: cls for cls in (Popular,)}


def recommender_class(name: str) -> type[Recommender]:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; known: {', '.join(sorted(ALGORITHMS))}") from None
