"""Item-based k-nearest neighbours (the AI service's KNN): items are alike when the same users
interacted with them; a user's score for an item sums its similarity to what the user touched,
so a history given at request time (a session in progress) changes the answer at once."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import bm25_weight

from relevo.engine.base import Recommender, StopCheck, sparse_arrays, sparse_from_arrays
from relevo.engine.bounds import ConfigError, bounded, check_bounds
from relevo.engine.data import TrainingData
from relevo.engine.rows import dense_columns, entry_rows

# Similarities are computed for this many items at a time (a sparse block of item × item).
BLOCK_ROWS = 2_000
MAX_NEIGHBOURS = 1000


@dataclass(frozen=True)
class ItemKNNConfig:
    # "bm25" re-weights the user × item matrix first (as implicit's BM25Recommender does): heavy
    # users and repeated interactions count less, rare co-interactions more.
    similarity: Literal["cosine", "bm25"] = "cosine"
    # Similar items kept per item: the model holds neighbours × items similarities.
    neighbours: int = bounded(100, at_least=1, at_most=MAX_NEIGHBOURS)
    shrink: float = bounded(10.0, at_least=0)  # added to the cosine's denominator: few shared users, less trust
    bm25_k1: float = 100.0
    bm25_b: float = 0.8

    def __post_init__(self) -> None:
        if self.similarity not in ("cosine", "bm25"):
            raise ConfigError("similarity", f"must be 'cosine' or 'bm25', not {self.similarity!r}")
        check_bounds(self)


class ItemKNN(Recommender):
    algorithm = "item_knn"
    Config = ItemKNNConfig

    def _fit(self, data: TrainingData, matrix: sp.csr_matrix, *, seed: int, threads: int, stop: StopCheck) -> None:
        # Rows are items, columns the users who interacted with them.
        item_users = matrix.T.tocsr().astype(np.float32)
        if self.config.similarity == "bm25" and item_users.nnz:
            weighted = bm25_weight(item_users, K1=self.config.bm25_k1, B=self.config.bm25_b)
            item_users = sp.csr_matrix(weighted, dtype=np.float32)
        self.similarity = _shrunk_cosine_neighbours(item_users, self.config.neighbours, self.config.shrink, stop)

    def _scores(self, users: np.ndarray, histories: sp.csr_matrix) -> np.ndarray:
        return np.asarray((histories @ self.similarity).todense(), dtype=np.float32)

    def _candidate_scores(self, users: np.ndarray, histories: sp.csr_matrix, candidates: np.ndarray) -> np.ndarray:
        return dense_columns(self.neighbourhood(histories), candidates)

    def neighbourhood(self, histories: sp.csr_matrix) -> sp.csr_matrix:
        """Sparse scores: only the items similar to something in each history."""
        return (histories @ self.similarity).tocsr()

    def _similar(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        row = self.similarity[item]
        order = np.argsort(-row.data, kind="stable")[:k]
        return row.indices[order].astype(np.int32), row.data[order]

    def _state(self) -> dict[str, np.ndarray]:
        return sparse_arrays("similarity", self.similarity)

    def _restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.similarity = sparse_from_arrays("similarity", state)


def _shrunk_cosine_neighbours(vectors: sp.csr_matrix, neighbours: int, shrink: float, stop: StopCheck) -> sp.csr_matrix:
    """Per row of `vectors`, its `neighbours` most similar other rows by dot / (|a| |b| + shrink),
    as a rows × rows matrix (only positive similarities; ties to the lower index; rows sorted by
    column). Blocks of rows at a time, kept sparse: only pairs sharing a user are ever touched;
    `stop` is called before each block."""
    count = vectors.shape[0]
    norms = np.sqrt(np.asarray(vectors.multiply(vectors).sum(axis=1), dtype=np.float64).ravel())
    transposed = vectors.T.tocsr()
    rows, columns, values = [], [], []
    for start in range(0, count if neighbours else 0, BLOCK_ROWS):
        stop()
        block = (vectors[start : start + BLOCK_ROWS] @ transposed).tocsr()
        row = entry_rows(block) + start
        column = block.indices
        similarity = block.data / (norms[row] * norms[column] + shrink + 1e-12)
        keep = (column != row) & (similarity > 0)  # not its own neighbour
        row, column, similarity = row[keep], column[keep], similarity[keep]
        order = np.lexsort((column, -similarity, row))  # by row, best first, ties to the lower index
        row, column, similarity = row[order], column[order], similarity[order]
        sizes = np.bincount(row - start, minlength=block.shape[0])
        rank = np.arange(len(row)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        best = rank < neighbours
        rows.append(row[best])
        columns.append(column[best])
        values.append(similarity[best].astype(np.float32))
    if not rows:
        return sp.csr_matrix((count, count), dtype=np.float32)
    result = sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))), shape=(count, count)
    )
    result.sort_indices()
    return result
