"""Ranking metrics at k, from recommended item indices and each user's relevant items.

Relevance is binary. NDCG's ideal ranking and MAP's denominator count min(k, relevant
items), as the Microsoft Recommenders and RecBole evaluators do.
"""

from collections.abc import Sequence

import numpy as np

METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hit_rate", "coverage")


def user_metrics(recommended: np.ndarray, relevant: Sequence[set[int]], k: int) -> dict[str, np.ndarray]:
    """Each user's precision@k, recall@k, NDCG@k, MAP@k, reciprocal rank of the first hit
    within k, and hit (0 or 1), one value per row of `recommended`: what the means of
    `ranking_metrics` average, kept apart so a figure's spread over users can be told (its
    standard error, a paired difference between two models). Users without relevant items
    must be left out by the caller. -1 entries in `recommended` are padding."""
    top = recommended[:, :k]
    hits = np.array([[item in wanted for item in row] for row, wanted in zip(top, relevant, strict=True)], float)
    hits = np.pad(hits, ((0, 0), (0, k - hits.shape[1])))
    counts = np.array([len(wanted) for wanted in relevant], dtype=float)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discounts)[np.minimum(counts, k).astype(int) - 1]
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    first_hit = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, np.inf)
    return {
        "precision": hits.sum(axis=1) / k,
        "recall": hits.sum(axis=1) / counts,
        "ndcg": (hits * discounts).sum(axis=1) / ideal,
        "map": (precision_at * hits).sum(axis=1) / np.minimum(counts, k),
        "mrr": 1.0 / first_hit,
        "hit_rate": hits.any(axis=1).astype(float),
    }


def ranking_metrics(
    recommended: np.ndarray, relevant: Sequence[set[int]], k: int, catalog_size: int
) -> dict[str, float]:
    """Means over users of precision@k, recall@k, NDCG@k, MAP@k, MRR@k, hit rate@k (see
    `user_metrics`), and the catalog coverage (share of items recommended to anyone)."""
    if len(recommended) == 0:
        return dict.fromkeys(METRICS, 0.0)
    figures = {name: float(values.mean()) for name, values in user_metrics(recommended, relevant, k).items()}
    figures["coverage"] = coverage(recommended, k, catalog_size)
    return figures


def coverage(recommended: np.ndarray, k: int, catalog_size: int) -> float:
    """The share of the catalog's items that appear in anyone's top k: one figure for all the
    users together, not a mean over them."""
    top = recommended[:, :k]
    shown = top[top >= 0]
    return float(len(np.unique(shown)) / catalog_size) if catalog_size else 0.0


def standard_error(values: np.ndarray) -> float:
    """The standard error of the mean of per-user values (sample standard deviation over the
    square root of their number): how far a figure over these users may stray by which users
    happen to be held out. For two models judged on the same users, pass the per-user
    differences: paired, the user-to-user spread that both share cancels, and it is much
    smaller than either figure's. NaN for fewer than two values (no spread to measure)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float("nan")
    return float(np.std(values, ddof=1) / np.sqrt(len(values)))
