"""The built-in customer-spend model: predictions for every customer, 0 for those who never
bought, a pooled fallback for shops too small to fit, saving and loading, and its settings'
bounds."""

from pathlib import Path

import numpy as np
import pytest

from relevo.engine.bounds import ConfigError
from relevo.engine.customers.features import FEATURES, PurchaseHistory, customer_features
from relevo.engine.customers.spend import CustomerSpend, CustomerSpendConfig, load, save

AS_OF = 20_000


def shop(customers: int, *, repeat: bool = True, seed: int = 0) -> PurchaseHistory:
    """Each customer's first purchase in the year before AS_OF, then (with `repeat`) purchases
    at a rate of their own until they drop out; a few purchases after AS_OF too."""
    rng = np.random.default_rng(seed)
    first = AS_OF - rng.integers(30, 365, customers)
    rows = [np.arange(customers)], [first]
    if repeat:
        counts = rng.poisson(rng.gamma(0.8, 4.0, customers))
        owners = np.repeat(np.arange(customers), counts)
        rows[0].append(owners)
        rows[1].append(first[owners] + rng.integers(0, 400, len(owners)))
    customer, day = np.concatenate(rows[0]), np.concatenate(rows[1])
    return PurchaseHistory(
        customer=customer.astype(np.int32),
        day=day.astype(np.int32),
        amount=rng.gamma(4.0, 10.0, len(day)),
        category=rng.integers(-1, 3, len(day)).astype(np.int32),
        categories=("a", "b", "c"),
        customers=customers + 5,  # five customers who never bought
    )


def predictions(model: CustomerSpend, history: PurchaseHistory) -> np.ndarray:
    return model.predict(customer_features(history, AS_OF, model.inputs))


def test_every_customer_gets_a_finite_prediction_and_those_who_never_bought_zero() -> None:
    history = shop(150)
    model = CustomerSpend().fit(history, AS_OF)
    assert set(model.inputs) <= set(FEATURES)
    assert model.purchases is not None and model.spend is not None
    predicted = predictions(model, history)
    assert predicted.shape == (history.customers,)
    assert np.all(np.isfinite(predicted)) and np.all(predicted >= 0)
    assert np.all(predicted[-5:] == 0)
    assert predicted[:-5].min() > 0


def test_a_longer_horizon_predicts_more() -> None:
    history = shop(120)
    short = predictions(CustomerSpend(CustomerSpendConfig(horizon_days=30)).fit(history, AS_OF), history)
    long = predictions(CustomerSpend(CustomerSpendConfig(horizon_days=365)).fit(history, AS_OF), history)
    assert np.all(long[:-5] > short[:-5])


def test_a_purchase_on_or_after_the_date_changes_nothing() -> None:
    history = shop(100)
    cut = history.before(AS_OF)
    assert len(cut.day) < len(history.day)
    model, same = CustomerSpend().fit(history, AS_OF), CustomerSpend().fit(cut, AS_OF)
    np.testing.assert_array_equal(model.to_arrays()["purchases"], same.to_arrays()["purchases"])
    np.testing.assert_array_equal(predictions(model, history), predictions(same, cut))


@pytest.mark.parametrize("purchase_model", ["pareto_nbd", "bg_nbd"])
def test_a_shop_of_a_few_dozen_customers_still_gets_finite_predictions(purchase_model: str) -> None:
    history = shop(30, seed=4)
    model = CustomerSpend(CustomerSpendConfig(purchase_model=purchase_model)).fit(history, AS_OF)
    predicted = predictions(model, history)
    assert np.all(np.isfinite(predicted)) and predicted[:-5].sum() > 0


def test_a_shop_without_repeat_buyers_falls_back_to_zero() -> None:
    history = shop(50, repeat=False)
    model = CustomerSpend().fit(history, AS_OF)
    assert model.purchases is None and model.spend is None
    assert model.pooled_rate == 0 and model.pooled_spend > 0
    np.testing.assert_array_equal(predictions(model, history), np.zeros(history.customers))


def test_below_min_repeat_customers_every_buyer_gets_the_pooled_rate() -> None:
    history = shop(40, seed=2)
    model = CustomerSpend(CustomerSpendConfig(min_repeat_customers=1000, horizon_days=70)).fit(history, AS_OF)
    assert model.purchases is None and model.pooled_rate > 0
    predicted = predictions(model, history)
    np.testing.assert_allclose(predicted[:-5], model.pooled_rate * 10 * model.pooled_spend)


def test_an_empty_shop_predicts_zero() -> None:
    empty = PurchaseHistory(
        customer=np.empty(0, np.int32),
        day=np.empty(0, np.int32),
        amount=np.empty(0),
        category=np.empty(0, np.int32),
        categories=(),
        customers=3,
    )
    model = CustomerSpend().fit(empty, AS_OF)
    np.testing.assert_array_equal(predictions(model, empty), np.zeros(3))


def test_features_of_the_wrong_shape_are_refused() -> None:
    model = CustomerSpend()
    with pytest.raises(ValueError, match="columns"):
        model.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        model.predict(np.full((1, len(model.inputs)), np.nan))


def test_saving_and_loading_gives_the_same_predictions(tmp_path: Path) -> None:
    history = shop(120)
    model = CustomerSpend(CustomerSpendConfig(horizon_days=120, purchase_model="bg_nbd")).fit(history, AS_OF)
    manifest = save(model, tmp_path, extra={"watermark": "w"})
    assert manifest["algorithm"] == "customer_spend" and manifest["kind"] == "predictor"
    assert manifest["inputs"] == list(model.inputs) and manifest["watermark"] == "w"
    assert manifest["config"]["horizon_days"] == 120 and "numpy" in manifest["libraries"]
    with np.load(tmp_path / "arrays.npz", allow_pickle=False) as stored:
        assert all(stored[name].dtype != object for name in stored.files)
    loaded, read = load({"arrays.npz": tmp_path / "arrays.npz", "manifest.json": tmp_path / "manifest.json"})
    assert read == manifest and loaded.config == model.config
    np.testing.assert_array_equal(predictions(loaded, history), predictions(model, history))


def test_a_fallback_model_round_trips_too(tmp_path: Path) -> None:
    history = shop(20, repeat=False)
    model = CustomerSpend().fit(history, AS_OF)
    save(model, tmp_path)
    loaded, _ = load({"arrays.npz": tmp_path / "arrays.npz", "manifest.json": tmp_path / "manifest.json"})
    assert loaded.purchases is None and loaded.pooled_spend == model.pooled_spend


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"horizon_days": 0}, "horizon_days: at least 1"),
        ({"horizon_days": 3651}, "horizon_days: at most 3650"),
        ({"horizon_days": 2.5}, "horizon_days: must be a whole number"),
        ({"horizon_days": "90"}, "horizon_days: must be a finite number"),
        ({"min_repeat_customers": 0}, "min_repeat_customers: at least 1"),
        ({"max_fit_customers": 10**8}, "max_fit_customers: at most 10000000"),
        ({"purchase_model": "lstm"}, "purchase_model: must be one of pareto_nbd, bg_nbd"),
    ],
)
def test_a_setting_out_of_its_bounds_is_refused_by_name(settings: dict, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        CustomerSpend.make_config(settings)
    assert str(refused.value).startswith(message)


def test_an_unknown_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="customer_spend has no setting epochs"):
        CustomerSpend.make_config({"epochs": 3})
    assert CustomerSpend.make_config({"horizon_days": 30}).horizon_days == 30
