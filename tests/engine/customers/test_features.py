"""Customer features: a hand-computed example, customers without purchases, and no look-ahead
(a purchase on or after the date changes nothing)."""

import numpy as np
import pytest

from relevo.engine.customers.features import FEATURES, PurchaseHistory, customer_features, unknown_features

AS_OF = 100


def history(rows: list[tuple[int, int, float, int]], customers: int = 3) -> PurchaseHistory:
    customer, day, amount, category = zip(*rows, strict=True) if rows else ((), (), (), ())
    return PurchaseHistory(
        customer=np.asarray(customer, dtype=np.int32),
        day=np.asarray(day, dtype=np.int32),
        amount=np.asarray(amount, dtype=np.float64),
        category=np.asarray(category, dtype=np.int32),
        categories=("books", "music"),
        customers=customers,
    )


BEFORE = [
    (0, 10, 10.0, 0),
    (0, 10, 5.0, 1),  # the same day: one purchase day with the one above
    (0, 40, 20.0, 0),
    (0, 80, 30.0, 0),
    (1, 90, 7.0, -1),
]
ON_OR_AFTER = [(0, AS_OF, 1000.0, 1), (0, 150, 50.0, 1), (2, 120, 9.0, 0), (1, AS_OF + 1, 3.0, 0)]

# customer 0: purchase days 10, 40, 80; customer 1: one purchase on day 90; customer 2: none.
EXPECTED = {
    "recency_days": [20, 10, 0],
    "frequency": [2, 0, 0],
    "purchase_days": [3, 1, 0],
    "purchases": [4, 1, 0],
    "monetary_value": [65 / 3, 7, 0],
    "repeat_monetary_value": [25, 0, 0],
    "total_spend": [65, 7, 0],
    "tenure_days": [90, 10, 0],
    "days_since_first_purchase": [90, 10, 0],
    "first_to_last_days": [70, 0, 0],
    "mean_days_between_purchases": [35, 0, 0],
    "basket_size": [4 / 3, 1, 0],
    "spend_last_30_days": [30, 7, 0],
    "spend_last_90_days": [65, 7, 0],
    "spend_last_365_days": [65, 7, 0],
    "purchase_days_last_90_days": [3, 1, 0],
    "category_count": [2, 0, 0],
    "top_category_share": [0.75, 0, 0],
}


def test_every_documented_feature_matches_the_hand_computed_example() -> None:
    assert set(EXPECTED) == set(FEATURES)
    names = list(EXPECTED)
    features = customer_features(history(BEFORE), AS_OF, names)
    assert features.shape == (3, len(names))
    assert features.dtype == np.float64
    for column, name in enumerate(names):
        np.testing.assert_allclose(features[:, column], EXPECTED[name], err_msg=name)


def test_a_purchase_on_or_after_the_date_changes_nothing() -> None:
    names = list(FEATURES)
    np.testing.assert_array_equal(
        customer_features(history(BEFORE + ON_OR_AFTER), AS_OF, names),
        customer_features(history(BEFORE), AS_OF, names),
    )


def test_columns_follow_the_names_asked_for() -> None:
    features = customer_features(history(BEFORE), AS_OF, ["total_spend", "frequency", "total_spend"])
    np.testing.assert_allclose(features, [[65, 2, 65], [7, 0, 7], [0, 0, 0]])


def test_an_empty_history_gives_zeros() -> None:
    features = customer_features(history([], customers=4), AS_OF, list(FEATURES))
    assert features.shape == (4, len(FEATURES))
    assert not features.any()


def test_unknown_names_are_named() -> None:
    assert unknown_features(["frequency", "ltv", "recency_days", "x"]) == ["ltv", "x"]
    with pytest.raises(ValueError, match="unknown customer features: ltv"):
        customer_features(history(BEFORE), AS_OF, ["ltv"])


def test_a_purchase_of_a_customer_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="customer indices"):
        history([(3, 1, 1.0, 0)])
