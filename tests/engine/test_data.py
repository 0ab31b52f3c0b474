"""The event log: when each entry of its matrix was last touched, and what a rating weighs."""

import numpy as np
import pytest
import scipy.sparse as sp

from relevo.engine.algorithms.als import ALS
from relevo.engine.data import EventLog, ItemCatalog, TrainingData
from relevo.engine.events import HIGHEST_RATING, EventWeights


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


def test_a_rating_weighs_its_value_up_to_the_highest_rating() -> None:
    values = [2.0, HIGHEST_RATING, 1e30, np.inf, None]
    events = EventLog.from_columns(["u1"] * 5, ["a", "b", "c", "d", "e"], ["rating"] * 5, [1] * 5, values)

    weights = events.matrix(EventWeights(half_life_days=0)).toarray()[0]

    assert weights.tolist() == pytest.approx([2.0, HIGHEST_RATING, HIGHEST_RATING, HIGHEST_RATING, 3.0])


def test_one_absurd_rating_does_not_break_training() -> None:
    """A rating of 1e30 (a price typed in the wrong field) weighed 1e30 / 3 and ALS's factors
    overflowed into NaN: no model could be trained until the event was found and deleted."""
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 300, 5_000), rng.integers(0, 200, 5_000)
    values = rng.integers(1, 6, 5_000).astype(np.float64)
    values[0] = 1e30
    events = EventLog.from_columns(
        [f"u{u}" for u in users], [f"p{i}" for i in items], ["rating"] * 5_000, [1] * 5_000, values
    )
    data = TrainingData(events=events, catalog=ItemCatalog.from_records(events.items, {}), weights=EventWeights())

    model = ALS(ALS.make_config({})).fit(data, seed=0, threads=1)

    assert np.isfinite(model.user_factors).all() and np.isfinite(model.item_factors).all()
