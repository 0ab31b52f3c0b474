"""Which of a user's own history items gave a recommended item its part, per kind of model:
the item's "because of" (`engine/explain.py` is the public side).

For the models whose score is a sum over the history, the source is the history item with the
largest term of that sum:
- item-kNN: weight × similarity (the score is history @ similarities);
- EASE: weight × B[h, i] (the score is history @ B);
- content: weight × the cosine of the two items' vectors (the score is the cosine of the item
  to the history-weighted sum of vectors, so these terms are its numerator);
- co-purchase: among the items the user bought, the one most often bought with the item.
The factor models (ALS, BPR, uploaded factors) have no such sum: the user's factor is solved from the whole
history at once, and its dot product with an item does not split into one term per history
item (Hu et al. give ALS a split, but through a matrix solved per user, whose terms are not
likenesses a shopper would recognise, and BPR has none). What the model does say is how alike
two items are: the cosine of their factors, its own `similar_items`. A factor model scores an
item highly because it lies where the user's history lies in factor space, so the history
item nearest to it there is the fair account. Popularity has no source: its reason is the
item's popularity; nor has an uploaded ONNX scorer, whose score is opaque.

A source is left out (-1) when no term is above zero: nothing in the history pulled the item up.
Work goes by chunks of (history item, item) pairs, so long lists and long histories stay within
a bounded memory."""

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from relevo.engine.base import Recommender
from relevo.engine.rows import entry_rows, gather_rows

_PAIRS_PER_CHUNK = 131_072  # (history item, item) pairs weighed at once

# What a history item h of weight w says for item i, per kind of model, for arrays of pairs.
Term = Callable[[Recommender, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _knn_term(model: Recommender, history: np.ndarray, weight: np.ndarray, item: np.ndarray) -> np.ndarray:
    return weight * pair_values(model.similarity, history, item)


def _ease_term(model: Recommender, history: np.ndarray, weight: np.ndarray, item: np.ndarray) -> np.ndarray:
    return weight * model.weights[history, item]


def _content_term(model: Recommender, history: np.ndarray, weight: np.ndarray, item: np.ndarray) -> np.ndarray:
    likeness = gather_rows(model.vectors, history).multiply(gather_rows(model.vectors, item))
    return weight * np.asarray(likeness.sum(axis=1), dtype=np.float32).ravel()


def _cooccurrence_term(model: Recommender, history: np.ndarray, weight: np.ndarray, item: np.ndarray) -> np.ndarray:
    return pair_values(model.together, history, item)  # the history here is what the user bought


def _factor_term(model: Recommender, history: np.ndarray, weight: np.ndarray, item: np.ndarray) -> np.ndarray:
    # BPR's last column is a bias (how much the item is liked by anyone), no likeness.
    factors = model.item_factors[:, :-1] if model.algorithm == "bpr" else model.item_factors
    return pair_cosines(factors, history, item)


TERMS: dict[str, Term] = {
    "item_knn": _knn_term,
    "ease": _ease_term,
    "content": _content_term,
    "cooccurrence": _cooccurrence_term,
    "als": _factor_term,
    "bpr": _factor_term,
    "factors": _factor_term,
}


def component_sources(
    model: Recommender,
    users: np.ndarray,
    histories: sp.csr_matrix,
    rows: np.ndarray,
    items: np.ndarray,
    purchases: sp.csr_matrix | None = None,
) -> np.ndarray:
    """For each (row, item) pair, the item index of row's history that gave `model` (one
    component, not a hybrid) its score of the item the most; -1 for none. `users` and
    `histories` (and `purchases`, request-time, for co-purchase) are aligned by row."""
    term = TERMS.get(model.algorithm)
    if term is None or len(rows) == 0:
        return np.full(len(rows), -1, dtype=np.int32)
    if model.algorithm == "cooccurrence":
        histories = model.bought_by(users, histories, purchases)
    return best_terms(histories, rows, items, lambda h, w, i: term(model, h, w, i))


def best_terms(
    histories: sp.csr_matrix,
    rows: np.ndarray,
    items: np.ndarray,
    term: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """For each (row, item) pair, the history item (of row) whose term(history item, its
    weight, item) is the largest, if above zero; -1 otherwise. Equal terms go to the one stored
    first in the row; the item itself is never its own source."""
    starts = histories.indptr[rows].astype(np.int64)
    counts = histories.indptr[rows + 1].astype(np.int64) - starts
    best = np.full(len(rows), -1, dtype=np.int32)
    total = np.cumsum(counts)
    if len(total) == 0 or total[-1] == 0:
        return best
    cuts = np.searchsorted(total, np.arange(_PAIRS_PER_CHUNK, total[-1], _PAIRS_PER_CHUNK), side="right")
    edges = np.unique(np.concatenate(([0], cuts, [len(rows)])))
    for first, last in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        sizes = counts[first:last]
        offsets = np.cumsum(sizes) - sizes
        positions = np.arange(int(sizes.sum())) + np.repeat(starts[first:last] - offsets, sizes)
        history = histories.indices[positions]
        wanted = np.repeat(items[first:last], sizes)
        values = np.asarray(term(history, histories.data[positions].astype(np.float32), wanted), dtype=np.float64)
        # An item is never its own source: a factor or a description is most like itself, which
        # says nothing about why a product the user touched comes back.
        values[history == wanted] = -np.inf
        pair = np.repeat(np.arange(last - first), sizes)
        filled = sizes > 0
        largest = np.full(last - first, -np.inf)
        if values.size:
            largest[filled] = np.maximum.reduceat(values, offsets[filled])
        hits = np.flatnonzero(values == largest[pair])
        owners, firsts = np.unique(pair[hits], return_index=True)
        found = largest[owners] > 0
        best[first + owners[found]] = history[hits[firsts[found]]]
    return best


def pair_values(matrix: sp.csr_matrix, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """matrix[rows[n], columns[n]] for each n (0 where nothing is stored), by a sorted search in
    the few rows asked for rather than scipy's fancy indexing."""
    unique, local = np.unique(rows, return_inverse=True)
    chosen = gather_rows(matrix, unique)
    width = matrix.shape[1]
    keys = entry_rows(chosen).astype(np.int64) * width + chosen.indices
    order = np.argsort(keys, kind="stable")
    keys, data = keys[order], chosen.data[order]
    if len(keys) == 0:
        return np.zeros(len(rows), dtype=np.float32)
    wanted = local.astype(np.int64) * width + columns
    at = np.searchsorted(keys, wanted).clip(max=len(keys) - 1)
    return np.where(keys[at] == wanted, data[at], np.float32(0.0))


def pair_cosines(vectors: np.ndarray, rows: np.ndarray, others: np.ndarray) -> np.ndarray:
    """The cosine of vectors[rows[n]] and vectors[others[n]] for each n (0 for a zero vector)."""
    left, right = vectors[rows], vectors[others]
    dots = np.einsum("ij,ij->i", left, right)
    lengths = np.linalg.norm(left, axis=1) * np.linalg.norm(right, axis=1)
    return np.divide(dots, lengths, out=np.zeros_like(dots), where=lengths > 0)
