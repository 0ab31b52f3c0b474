"""The built-in customer-spend model: what a customer will spend over the next `horizon_days`,
as of a date, from their purchase history.

Pareto/NBD (or BG/NBD) for how many purchase days are to come, times Gamma-Gamma for what
each will be worth: the approach that did best on the CDNOW benchmark (benchmarks/
customer_value.py, docs/benchmarks.md). Times are counted in weeks from a customer's first
purchase day to the last day before the date, as Fader and Hardie count them.

A shop without enough repeat buyers to fit those models (`min_repeat_customers`) gets a pooled
fallback instead, never a failure or a NaN: every customer buys again at the shop's pooled rate
of repeat purchase days per week of tenure (0 without any repeat purchase), worth the shop's
mean spend per purchase day. A customer without a purchase before the date is predicted 0."""

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np

from relevo.engine.artifacts import ARRAYS, MANIFEST, config_hash, library_versions
from relevo.engine.base import config_values
from relevo.engine.bounds import ConfigError, bounded, check_bounds
from relevo.engine.customers import bg_nbd, gamma_gamma, pareto_nbd
from relevo.engine.customers.features import PurchaseHistory, customer_features

DAYS_PER_UNIT = 7.0  # the models' time unit: weeks keep their parameters near 1
PURCHASE_MODELS = ("pareto_nbd", "bg_nbd")
_PARAMETERS = {"pareto_nbd": pareto_nbd.ParetoNBD, "bg_nbd": bg_nbd.BGNBD}


@dataclass(frozen=True)
class CustomerSpendConfig:
    horizon_days: int = bounded(90, at_least=1, at_most=3650)  # spend predicted over this many days
    purchase_model: str = "pareto_nbd"  # or "bg_nbd": how many purchase days are to come
    # Fewer repeat buyers than this: the pooled fallback instead of the fitted models.
    min_repeat_customers: int = bounded(10, at_least=1, at_most=1_000_000)
    # The models' few parameters are fitted on a random sample of this many customers at most:
    # a larger sample changes them little and costs in proportion.
    max_fit_customers: int = bounded(10_000, at_least=100, at_most=10_000_000)

    def __post_init__(self) -> None:
        check_bounds(self)
        if self.purchase_model not in PURCHASE_MODELS:
            raise ConfigError(
                "purchase_model", f"must be one of {', '.join(PURCHASE_MODELS)}, not {self.purchase_model!r}"
            )


class CustomerSpend:
    algorithm: ClassVar[str] = "customer_spend"
    Config: ClassVar[type] = CustomerSpendConfig
    # The FEATURES predict() takes, in column order.
    inputs: tuple[str, ...] = ("frequency", "first_to_last_days", "tenure_days", "repeat_monetary_value")

    def __init__(self, config: CustomerSpendConfig | None = None) -> None:
        self.config = config if config is not None else CustomerSpendConfig()
        self.purchases: pareto_nbd.ParetoNBD | bg_nbd.BGNBD | None = None  # None: the pooled fallback
        self.spend: gamma_gamma.GammaGamma | None = None  # None: the pooled fallback
        self.pooled_rate = 0.0  # repeat purchase days per week of tenure, over all customers
        self.pooled_spend = 0.0  # mean spend per purchase day, over all customers

    @classmethod
    def make_config(cls, settings: Mapping[str, Any]) -> CustomerSpendConfig:
        """The config from saved (or requested) settings; unknown settings are refused."""
        names = {field.name for field in dataclasses.fields(CustomerSpendConfig)}
        unknown = sorted(set(settings) - names)
        if unknown:
            raise ValueError(
                f"{cls.algorithm} has no setting {', '.join(unknown)}; its settings: {', '.join(sorted(names))}"
            )
        return CustomerSpendConfig(**settings)

    def config_dict(self) -> dict[str, Any]:
        return config_values(self.config)

    def fit(self, history: PurchaseHistory, as_of: int, *, seed: int = 0) -> Self:
        """Learns from the purchases before `as_of`; `seed` draws the sample of customers the
        models are fitted on when there are more than max_fit_customers."""
        features = customer_features(history, as_of, (*self.inputs, "purchase_days", "total_spend"))
        features = features[features[:, 2] > 0]
        if len(features) > self.config.max_fit_customers:
            sample = np.random.default_rng(seed).choice(len(features), self.config.max_fit_customers, replace=False)
            features = features[np.sort(sample)]
        x, t_x, age, m_x = _model_times(features[:, :4])
        purchase_days, total_spend = features[:, 4], features[:, 5]
        self.pooled_rate = float(x.sum() / age.sum()) if age.sum() > 0 else 0.0
        self.pooled_spend = float(total_spend.sum() / purchase_days.sum()) if purchase_days.sum() > 0 else 0.0
        self.purchases, self.spend = None, None
        if np.count_nonzero(x > 0) < self.config.min_repeat_customers:
            return self
        try:
            fit = pareto_nbd.fit if self.config.purchase_model == "pareto_nbd" else bg_nbd.fit
            self.purchases = fit(x, t_x, age)
        except ValueError:
            self.purchases = None
        if np.count_nonzero((x > 0) & (m_x > 0)) >= self.config.min_repeat_customers:
            try:
                self.spend = gamma_gamma.fit(x, m_x)
            except ValueError:
                self.spend = None
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Spend over the next horizon_days for each row of `features` (columns: `inputs`)."""
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] != len(self.inputs):
            raise ValueError(f"features must be rows × {len(self.inputs)} columns: {', '.join(self.inputs)}")
        if not np.all(np.isfinite(features)):
            raise ValueError("features must be finite numbers")
        x, t_x, age, m_x = _model_times(features)
        horizon = self.config.horizon_days / DAYS_PER_UNIT
        with np.errstate(all="ignore"):
            if self.purchases is None:
                purchases = np.full(len(x), self.pooled_rate * horizon)
            else:
                purchases = self.purchases.expected_purchases(horizon, x, t_x, age)
            if self.spend is None:
                spend = np.full(len(x), self.pooled_spend)
            else:
                spend = self.spend.expected_spend_per_purchase(x, m_x)
            predicted = purchases * spend
        # Only an extreme input pushes a model's special functions out of range; such a
        # customer gets the pooled answer rather than a NaN.
        pooled = self.pooled_rate * horizon * self.pooled_spend
        predicted = np.where(np.isfinite(predicted), np.maximum(predicted, 0.0), pooled)
        return np.where(features[:, 2] > 0, predicted, 0.0)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted parameters; an empty array for a model left to the pooled fallback."""
        return {
            "purchases": np.asarray(dataclasses.astuple(self.purchases) if self.purchases else (), dtype=np.float64),
            "spend": np.asarray(dataclasses.astuple(self.spend) if self.spend else (), dtype=np.float64),
            "pooled": np.asarray([self.pooled_rate, self.pooled_spend], dtype=np.float64),
        }

    @classmethod
    def from_arrays(cls, config: CustomerSpendConfig, arrays: Mapping[str, np.ndarray]) -> Self:
        model = cls(config)
        purchases, spend = arrays["purchases"].tolist(), arrays["spend"].tolist()
        model.purchases = _PARAMETERS[config.purchase_model](*purchases) if purchases else None
        model.spend = gamma_gamma.GammaGamma(*spend) if spend else None
        model.pooled_rate, model.pooled_spend = (float(value) for value in arrays["pooled"])
        return model


def _model_times(features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """x, t_x, T (weeks) and m_x from the `inputs` columns. T runs to the last day before the
    date (tenure_days - 1); t_x is kept within it, whatever a caller passes."""
    frequency, first_to_last, tenure, m_x = (np.maximum(column, 0.0) for column in features.T)
    age = np.maximum(tenure - 1.0, 0.0) / DAYS_PER_UNIT
    t_x = np.minimum(first_to_last / DAYS_PER_UNIT, age)
    return np.floor(frequency), t_x, age, m_x


def save(model: CustomerSpend, directory: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Writes the model to `directory` (created if needed): arrays.npz and manifest.json;
    returns the manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    np.savez(directory / ARRAYS, **model.to_arrays())
    config = model.config_dict()
    manifest = {
        "algorithm": model.algorithm,
        "kind": "predictor",
        "inputs": list(model.inputs),
        "config": config,
        "config_hash": config_hash(config),
        "libraries": library_versions(),
        **(extra or {}),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    return manifest


def load(paths: Mapping[str, Path]) -> tuple[CustomerSpend, dict[str, Any]]:
    """The model and manifest from the paths of its two files (`arrays.npz`, `manifest.json`)."""
    manifest = json.loads(Path(paths[MANIFEST]).read_text())
    if manifest.get("algorithm") != CustomerSpend.algorithm:
        raise ValueError(f"not a {CustomerSpend.algorithm} model: {manifest.get('algorithm')!r}")
    with np.load(paths[ARRAYS], allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    return CustomerSpend.from_arrays(CustomerSpend.make_config(manifest["config"]), arrays), manifest
