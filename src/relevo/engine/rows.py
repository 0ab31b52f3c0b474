"""Work on a few rows of sparse matrices, done on the raw arrays: one request's rows are a
handful of entries, where scipy's indexing costs more in checks and set-up than in the work."""

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

_SAME_WEIGHT = 1e-6  # weights this close are the same (float32 round trips)


def entry_rows(matrix: sp.csr_matrix) -> np.ndarray:
    """The row of each stored entry, in storage order."""
    if matrix.shape[0] == 1:  # one request's user
        return np.zeros(int(matrix.indptr[-1]), dtype=np.intp)
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique for the few thousand values of one request, several times faster (NumPy's
    own hashes first, which costs more than it saves on small arrays)."""
    ordered = np.sort(values)
    if len(ordered) == 0:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def row_block(matrix: sp.csr_matrix, start: int, stop: int) -> sp.csr_matrix:
    """matrix[start:stop], without a copy when that is all of it (one request, one block)."""
    return matrix if start == 0 and stop >= matrix.shape[0] else matrix[start:stop]


def gather_rows(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """matrix[rows] as float32, with empty rows where `rows` is -1. Done on the raw arrays: for
    one request's user that is several times faster than scipy's indexing."""
    rows = np.asarray(rows)
    if matrix.shape[0] == 0:
        return sp.csr_matrix((len(rows), matrix.shape[1]), dtype=np.float32)
    indptr, positions = _row_positions(matrix, rows)
    data = matrix.data[positions].astype(np.float32, copy=False)
    return sp.csr_matrix((data, matrix.indices[positions], indptr), shape=(len(rows), matrix.shape[1]))


def weighted_sum(terms: Sequence[tuple[float, sp.csr_matrix]]) -> sp.csr_matrix:
    """Σ weight · matrix over matrices of one shape, as float32 with sorted columns and no
    stored zeros (as scipy's sums): each (row, column)'s terms added in the order given, after
    one stable sort of all the entries, without scipy's operator set-up for each sum. Meant for
    a request's few rows: on large matrices the sort costs more than that set-up."""
    shape = terms[0][1].shape
    keys = np.concatenate([entry_rows(matrix).astype(np.int64) * shape[1] + matrix.indices for _, matrix in terms])
    values = np.concatenate([np.float32(weight) * matrix.data.astype(np.float32) for weight, matrix in terms])
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    if len(keys):
        first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        keys, values = keys[first], np.add.reduceat(values, first)
    kept = values != 0
    rows, columns = np.divmod(keys[kept], shape[1])
    indptr = np.searchsorted(rows, np.arange(shape[0] + 1)).astype(np.int32)
    return sp.csr_matrix((values[kept], columns.astype(np.int32), indptr), shape=shape)


def dense_product(left: sp.csr_matrix, right: sp.csr_matrix) -> np.ndarray:
    """left @ right as a dense float32 array (left's rows × right's columns), on the raw arrays:
    for a few rows of `left` and a narrow `right`, one sum into place instead of scipy's
    product and a copy to dense."""
    indptr, positions = _row_positions(right, left.indices)
    counts = np.diff(indptr)
    width = right.shape[1]
    cells = np.repeat(entry_rows(left) * width, counts) + right.indices[positions]
    values = np.repeat(left.data.astype(np.float64), counts) * right.data[positions]
    dense = np.bincount(cells, weights=values, minlength=left.shape[0] * width)
    return dense.reshape(left.shape[0], width).astype(np.float32)


def row_dots(matrix: sp.csr_matrix, rows: np.ndarray, dense: np.ndarray) -> np.ndarray:
    """The dot product of each of `matrix`'s `rows` with each row of `dense`: dense @
    matrix[rows].T (dense's rows × len(rows), float32). For one row of `dense` (one request's
    user), on the raw arrays, without building matrix[rows]; for more, scipy's product, which
    is then the faster."""
    if dense.shape[0] != 1:
        return np.asarray((gather_rows(matrix, rows) @ dense.T).T, dtype=np.float32)
    indptr, positions = _row_positions(matrix, rows)
    entries = np.repeat(np.arange(len(rows)), np.diff(indptr))
    products = dense[0, matrix.indices[positions]] * matrix.data[positions]
    return np.bincount(entries, weights=products, minlength=len(rows))[np.newaxis, :].astype(np.float32)


def unchanged_rows(users: np.ndarray, histories: sp.csr_matrix, training: sp.csr_matrix) -> np.ndarray:
    """For each row of `histories`, whether it is the user's training row as it was (the same
    entries, in the same order; an empty row for users unknown to the model, -1): False where
    the user has events since training."""
    lengths = np.diff(histories.indptr)
    if training.shape[0] == 0:
        return lengths == 0
    indptr, positions = _row_positions(training, users)
    same = lengths == np.diff(indptr)
    if not same.any():
        return same
    if np.array_equal(histories.indptr, indptr):  # same lengths everywhere: compare entry by entry
        differs = (histories.indices != training.indices[positions]) | (
            np.abs(histories.data - training.data[positions]) > _SAME_WEIGHT
        )
        same[entry_rows(histories)[differs]] = False
        return same
    for row in np.flatnonzero(same).tolist():
        mine = slice(histories.indptr[row], histories.indptr[row + 1])
        theirs = positions[indptr[row] : indptr[row + 1]]
        same[row] = np.array_equal(histories.indices[mine], training.indices[theirs]) and bool(
            np.all(np.abs(histories.data[mine] - training.data[theirs]) <= _SAME_WEIGHT)
        )
    return same


def _row_positions(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The indptr of matrix[rows] (empty rows where `rows` is -1) and where their entries are in
    the matrix's data and indices. The indptr is 32-bit when it can be, as scipy's own are:
    building a matrix on it then costs half as much."""
    if len(rows) == 1:  # one request's user: a few scalar steps instead of seven array ones
        row = int(rows[0])
        start, stop = (int(matrix.indptr[row]), int(matrix.indptr[row + 1])) if row >= 0 else (0, 0)
        return np.array([0, stop - start], dtype=np.int32), np.arange(start, stop)
    safe = np.maximum(rows, 0)
    starts = matrix.indptr[safe]
    lengths = np.where(rows >= 0, matrix.indptr[safe + 1] - starts, 0)
    total = int(lengths.sum())
    indptr = np.zeros(len(rows) + 1, dtype=np.int32 if total < 2**31 else np.int64)
    np.cumsum(lengths, out=indptr[1:])
    positions = np.arange(total) + np.repeat(starts - indptr[:-1], lengths)
    return indptr, positions


def candidate_columns(items: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of `items` are candidates (a boolean mask) and their columns among the sorted
    `candidates`."""
    positions = np.searchsorted(candidates, items)
    inside = positions < len(candidates)
    inside[inside] = candidates[positions[inside]] == items[inside]
    return inside, positions[inside]


def dense_columns(matrix: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
    """The `candidates` columns (sorted item indices) of a sparse matrix, dense: cheaper than
    scipy's column indexing when rows have few entries. Entries are summed into place, so
    duplicates add up and unsorted rows (as scipy's products leave them) need no sorting."""
    width = len(candidates)
    rows = entry_rows(matrix)
    inside, columns = candidate_columns(matrix.indices, candidates)
    cells = rows[inside] * width + columns
    dense = np.bincount(cells, weights=matrix.data[inside], minlength=matrix.shape[0] * width)
    return dense.reshape(matrix.shape[0], width).astype(np.float32)
