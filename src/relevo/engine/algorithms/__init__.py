"""Every algorithm, by the name models and artifacts know it by: those Relevo trains from
events, and those whose model is learned elsewhere and uploaded (served, saved and loaded like
the others, never trained here)."""

from relevo.engine.algorithms.als import ALS
from relevo.engine.algorithms.bpr import BPR
from relevo.engine.algorithms.content import Content
from relevo.engine.algorithms.cooccurrence import Cooccurrence
from relevo.engine.algorithms.ease import EASE
from relevo.engine.algorithms.factors import ExternalFactors
from relevo.engine.algorithms.hybrid import Hybrid
from relevo.engine.algorithms.item_knn import ItemKNN
from relevo.engine.algorithms.popular import Popular
from relevo.engine.base import Recommender

# What training (the train routes, `relevo train`, experiments) can be asked for.
ALGORITHMS: dict[str, type[Recommender]] = {
    cls.algorithm: cls for cls in (Popular, Cooccurrence, ItemKNN, Content, ALS, BPR, EASE, Hybrid)
}
UPLOADED: dict[str, type[Recommender]] = {ExternalFactors.algorithm: ExternalFactors}


def recommender_class(name: str) -> type[Recommender]:
    """The class of an algorithm Relevo trains."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        if name in UPLOADED:
            raise ValueError(
                f"unknown algorithm to train: {name!r} models are learned elsewhere and uploaded to the registry"
                f" (docs/registry.md); algorithms trained here: {', '.join(sorted(ALGORITHMS))}"
            ) from None
        raise ValueError(f"unknown algorithm {name!r}; known: {', '.join(sorted(ALGORITHMS))}") from None


def saved_class(name: str) -> type[Recommender]:
    """The class of a saved model (`engine/artifacts.py`): trained here or uploaded."""
    return UPLOADED[name] if name in UPLOADED else recommender_class(name)
