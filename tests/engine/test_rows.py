"""Taking users' rows out of the training matrix, telling which histories are still the
training rows, a sparse matrix's candidate columns made dense, and products of a few rows: all
worked on raw arrays, so checked here against scipy's own indexing and products."""

import numpy as np
import scipy.sparse as sp

from relevo.engine.rows import dense_columns, dense_product, gather_rows, row_dots, unchanged_rows, weighted_sum

TRAINING = sp.csr_matrix(
    np.array(
        [
            [1.0, 0.0, 2.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 3.0, 0.0, 4.0],
            [5.0, 0.0, 0.0, 0.0],
        ],
        dtype=np.float32,
    )
)


def test_gathered_rows_are_scipys_with_unknown_users_empty() -> None:
    rows = np.array([2, -1, 0, 2, 1], dtype=np.int32)
    gathered = gather_rows(TRAINING, rows)
    expected = TRAINING[np.maximum(rows, 0)].toarray()
    expected[1] = 0.0
    assert gathered.dtype == np.float32 and gathered.shape == (5, 4)
    assert np.array_equal(gathered.toarray(), expected)


def test_one_row_is_gathered_as_many_are() -> None:
    # One request's user takes a shorter path: a row with entries, an empty one, an unknown user.
    for row in (2, 1, -1):
        gathered = gather_rows(TRAINING, np.array([row], dtype=np.int32))
        expected = TRAINING[[max(row, 0)]].toarray() * (row >= 0)
        assert gathered.shape == (1, 4) and np.array_equal(gathered.toarray(), expected)
        gathered.data[:] = 9.0  # a copy: the training matrix is left as it was
    assert TRAINING[2].toarray().tolist() == [[0.0, 3.0, 0.0, 4.0]]
    users = np.array([2], dtype=np.int32)
    changed = gather_rows(TRAINING, users)
    changed.data[1] = 4.5
    assert unchanged_rows(users, gather_rows(TRAINING, users), TRAINING).tolist() == [True]
    assert unchanged_rows(users, changed, TRAINING).tolist() == [False]


def test_training_rows_as_they_were_are_unchanged() -> None:
    users = np.array([0, 1, 2, -1], dtype=np.int32)
    assert unchanged_rows(users, gather_rows(TRAINING, users), TRAINING).tolist() == [True, True, True, True]


def test_a_new_weight_changes_a_row_of_the_same_length() -> None:
    users = np.array([0, 2, 3], dtype=np.int32)
    histories = gather_rows(TRAINING, users)
    histories.data[2] = 3.5  # user 2's first item weighs more since training: same entries, new weight
    assert unchanged_rows(users, histories, TRAINING).tolist() == [True, False, True]


def test_new_items_change_a_row_and_leave_the_others_unchanged() -> None:
    users = np.array([0, 2, -1, 1], dtype=np.int32)
    recent = sp.csr_matrix(([1.0, 1.0], ([1, 2], [0, 3])), shape=(4, 4), dtype=np.float32)
    histories = sp.csr_matrix(gather_rows(TRAINING, users) + recent)
    assert unchanged_rows(users, histories, TRAINING).tolist() == [True, False, False, True]


def test_rounding_of_a_float32_round_trip_is_no_change() -> None:
    users = np.array([3], dtype=np.int32)
    histories = gather_rows(TRAINING, users)
    histories.data += np.float32(1e-7)
    assert unchanged_rows(users, histories, TRAINING).tolist() == [True]


def test_dense_columns_sum_duplicates_in_unsorted_rows() -> None:
    # Row 0 holds column 3 twice and its columns out of order, as a raw product may leave them.
    data = np.array([1.0, 2.0, 0.5, 4.0, 3.0], dtype=np.float32)
    indices = np.array([3, 0, 3, 2, 1], dtype=np.int32)
    matrix = sp.csr_matrix((data, indices, np.array([0, 3, 3, 5])), shape=(3, 4))
    candidates = np.array([0, 1, 3], dtype=np.int32)
    dense = dense_columns(matrix, candidates)
    assert dense.dtype == np.float32
    assert dense.tolist() == [[2.0, 0.0, 1.5], [0.0, 0.0, 0.0], [0.0, 3.0, 0.0]]


def test_dense_product_is_scipys_product_made_dense() -> None:
    # Row 1 is empty; row 2 holds column 3, whose row in TRAINING is empty too.
    left = sp.csr_matrix(np.array([[0.5, 0.0, 2.0, 0.0], [0.0] * 4, [1.0, 0.0, 0.0, 3.0]], dtype=np.float32))
    product = dense_product(left, TRAINING)
    assert product.dtype == np.float32 and product.shape == (3, 4)
    assert np.allclose(product, (left @ TRAINING).toarray())


def test_row_dots_are_the_chosen_rows_against_each_dense_row() -> None:
    dense = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, -1.0, 0.0, 0.5]], dtype=np.float32)
    rows = np.array([3, 1, 2, 0], dtype=np.int32)  # in any order, the empty row 1 among them
    for chosen in (dense[:1], dense):  # one dense row (on the raw arrays) and several (scipy's)
        dots = row_dots(TRAINING, rows, chosen)
        assert dots.dtype == np.float32 and dots.shape == (len(chosen), 4)
        assert np.allclose(dots, chosen @ TRAINING[rows].toarray().T)


def test_weighted_sum_is_scipys_sum_without_the_zeros() -> None:
    # Columns out of order in `later`; its (2, 3) cancels TRAINING's, which must leave no entry.
    later = sp.csr_matrix(
        (np.array([0.5, 2.0, 4.0], dtype=np.float32), np.array([3, 0, 3]), np.array([0, 2, 2, 3, 3])), shape=(4, 4)
    )
    total = weighted_sum([(1.0, TRAINING), (-1.0, later)])
    assert total.dtype == np.float32 and total.shape == (4, 4)
    assert np.array_equal(total.toarray(), (TRAINING - later).toarray())
    assert total.nnz == np.count_nonzero(total.toarray())
    assert all(
        np.all(np.diff(total.indices[a:b]) > 0) for a, b in zip(total.indptr[:-1], total.indptr[1:], strict=True)
    )
    empty = sp.csr_matrix((4, 4), dtype=np.float32)
    assert weighted_sum([(1.0, empty), (2.0, empty)]).nnz == 0
