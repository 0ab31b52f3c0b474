"""Picking each row's k highest scores: the last stage of every recommendation.

For many wide rows (a batch over a large catalog) a full partition of every row costs far more
than computing the scores. `top_k` then narrows first: the columns are dealt into strided
blocks (column c into block c mod B), each block's maximum is taken (one fast pass over
memory), and the k blocks with the highest maxima hold the row's k highest scores — any other
block's maximum, and so everything in it, is beaten by at least k scores. Only those k blocks
are then ranked exactly. A few thousand scores (one request's candidates) are partitioned at
once: narrowing costs more steps than it saves there.
"""

import numpy as np

_NARROW_FIRST = 4  # rows are narrowed first when blocks hold at least this many columns
_NARROW_SCORES = 65_536  # and there are at least this many scores (below, a partition is faster)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the indices and scores of the k highest finite scores, best first; -1 and
    NaN pad rows with fewer. Equal scores come in index order (which of several equal scores
    at the k-th place are kept is not defined)."""
    rows, columns = scores.shape
    k = min(k, columns)
    if k == 0:
        return np.zeros((rows, 0), dtype=np.int32), np.zeros((rows, 0), dtype=np.float32)
    depth = int(np.sqrt(columns / k))  # columns per block: as many blocks as kept columns
    if depth >= _NARROW_FIRST and scores.size >= _NARROW_SCORES:
        candidates = _best_blocks(scores, k, depth)
        best, best_scores = _exact(np.take_along_axis(scores, candidates, axis=1), k)
        best = np.take_along_axis(candidates, np.clip(best, 0, None), axis=1).astype(np.int32)
    else:
        best, best_scores = _exact(scores, k)
    invalid = ~np.isfinite(best_scores)
    best[invalid] = -1
    best_scores[invalid] = np.nan
    return best, best_scores


def _best_blocks(scores: np.ndarray, k: int, depth: int) -> np.ndarray:
    """Per row, the sorted columns of the k blocks with the highest maxima, plus the columns
    left over when the width is not a multiple of `depth`."""
    rows, columns = scores.shape
    blocks = columns // depth
    dealt = scores[:, : blocks * depth].reshape(rows, depth, blocks)  # dealt[r, i, b] = column i*B + b
    maxima = dealt.max(axis=1)
    chosen = np.argpartition(-maxima, k - 1, axis=1)[:, :k]
    chosen.sort(axis=1)
    candidates = (np.arange(depth)[np.newaxis, :, np.newaxis] * blocks + chosen[:, np.newaxis, :]).reshape(rows, -1)
    rest = np.arange(blocks * depth, columns)
    if len(rest):
        candidates = np.concatenate([candidates, np.broadcast_to(rest, (rows, len(rest)))], axis=1)
    candidates.sort(axis=1)  # index order, so equal scores keep it
    return candidates


def _exact(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    # Negate so that larger scores sort first; a stable sort of the partition keeps ties in index order.
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part.sort(axis=1)
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    best = np.take_along_axis(part, order, axis=1).astype(np.int32)
    return best, np.take_along_axis(scores, best, axis=1).astype(np.float32)
