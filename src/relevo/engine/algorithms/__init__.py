"""Every algorithm, by the name models and artifacts know it by."""

from relevo.engine.algorithms.als import ALS
from relevo.engine.algorithms.bpr import BPR
from relevo.engine.algorithms.content import Content
from relevo.engine.algorithms.cooccurrence import Cooccurrence
from relevo.engine.algorithms.ease import EASE
from relevo.engine.algorithms.hybrid import Hybrid
from relevo.engine.algorithms.item_knn import ItemKNN
from relevo.engine.algorithms.popular import Popular
from relevo.engine.base import Recommender

ALGORITHMS: dict[str, type[Recommender]] = {
    cls.algorithm: cls for cls in (Popular, Cooccurrence, ItemKNN, Content, ALS, BPR, EASE, Hybrid)
}


def recommender_class(name: str) -> type[Recommender]:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; known: {', '.join(sorted(ALGORITHMS))}") from None
