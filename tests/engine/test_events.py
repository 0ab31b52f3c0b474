"""What events mean, written once: training (the event log's matrix) and serving (a user's
events since training) weigh every event alike, and name the same purchases and left-out items."""

import math

import numpy as np
import pytest

from relevo.engine.data import EventLog
from relevo.engine.events import (
    HIGHEST_RATING,
    LEFT_OUT_TYPES,
    PURCHASE_TYPES,
    EventWeights,
    left_out_matrix,
    request_history,
)

EVENTS = [
    *[(kind, None) for kind in ("view", "click", "add_to_cart", "purchase", "remove_from_cart", "wishlist")],
    *[("rating", value) for value in (0.0, 1.0, 5.0, HIGHEST_RATING, 11.0, 1e30, math.inf, -2.0, -math.inf)],
    ("rating", math.nan),
    ("rating", None),
]


def trained_weight(event_type: str, value: float | None, weights: EventWeights) -> float:
    """What training makes of this one event (no fading: it is the newest)."""
    log = EventLog.from_columns(["u"], ["x"], [event_type], [1_000], [value])
    return float(log.matrix(weights).toarray()[0, 0])


@pytest.mark.parametrize("weights", [EventWeights(), EventWeights(weights={"rating": 1.0, "view": 0.5}, default=2.0)])
@pytest.mark.parametrize(("event_type", "value"), EVENTS)
def test_training_and_request_time_weigh_an_event_alike(
    event_type: str, value: float | None, weights: EventWeights
) -> None:
    since = request_history([("x", event_type, value)], weights)
    assert since.weights["x"] == pytest.approx(trained_weight(event_type, value, weights), rel=1e-6)
    assert math.isfinite(since.weights["x"])


def test_a_huge_rating_weighs_as_the_highest_rating_does() -> None:
    """A rating of 1e30 sent after training became inf in the user's history."""
    huge = request_history([("x", "rating", 1e30)]).weights["x"]
    assert huge == request_history([("x", "rating", HIGHEST_RATING)]).weights["x"] == pytest.approx(HIGHEST_RATING)
    assert request_history([("x", "rating", None)]).weights["x"] == pytest.approx(3.0)  # no value: as a 3


def test_request_time_weights_add_up_per_item_and_name_purchases_and_left_out_items() -> None:
    since = request_history(
        [
            ("x", "view", None),
            ("x", "add_to_cart", None),
            ("w", "add_to_cart", None),
            ("w", "add_to_cart", None),
            ("y", "purchase", None),
            ("z", "rating", 4.0),
        ]
    )
    assert since.weights == pytest.approx({"x": 5.0, "w": 8.0, "y": 8.0, "z": 4.0})
    assert since.purchased == {"y"}  # two adds to cart weigh a purchase's 8, but are none
    assert since.left_out == {"y", "z"}  # bought or rated
    assert PURCHASE_TYPES <= LEFT_OUT_TYPES
    assert request_history([]).weights == {}
    other = request_history([("x", "order", None)], purchase_types={"order"})
    assert other.purchased == {"x"} and other.left_out == frozenset()


def test_the_left_out_matrix_marks_what_each_user_bought_or_rated() -> None:
    log = EventLog.from_columns(
        ["u", "u", "u", "v", "v", "v"],
        ["a", "b", "c", "a", "a", "c"],
        ["purchase", "view", "rating", "purchase", "purchase", "add_to_cart"],
        [1] * 6,
        [None, None, 0.0, None, None, None],
    )
    left_out = left_out_matrix(log)
    assert left_out.dtype == np.float32
    # Columns a, b, c; a rating of 0 weighs nothing, but the item is still left out.
    assert left_out.toarray().tolist() == [[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]]


def test_each_call_gets_weights_of_its_own() -> None:
    first = request_history([])
    first.weights["x"] = 1.0
    assert request_history([]).weights == {}
