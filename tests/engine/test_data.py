"""The event log: when each entry of its matrix was last touched."""

import numpy as np
import pytest
import scipy.sparse as sp

from relevo.engine.data import EventLog


def test_last_touched_is_each_entrys_newest_event_in_csr_order() -> None:
    events = EventLog.from_columns(
        ["u1", "u2", "u1", "u1", "u2"],
        ["b", "a", "a", "b", "b"],
        ["view", "view", "purchase", "view", "view"],
        [50, 20, 10, 30, 40],
    )
    matrix = events.matrix()  # rows u1, u2; columns b, a (the order first seen)
    assert matrix.indices.tolist() == [0, 1, 0, 1]
    assert events.last_touched(matrix).tolist() == [50, 10, 40, 20]


def test_an_entry_without_an_event_is_refused() -> None:
    events = EventLog.from_columns(["u1"], ["a"], ["view"], [5])
    with pytest.raises(ValueError, match="no event"):
        events.last_touched(sp.csr_matrix(np.array([[1.0], [1.0]])))
