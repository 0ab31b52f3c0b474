"""Customer spend on CDNOW: the built-in customer_spend model against the published approaches.

The protocol of the customer-base literature (Fader, Hardie & Lee 2005): the 1/10 sample's
2,357 customers, their purchases of one day merged, the first 39 weeks (1997-01-01 to
1997-09-30) to fit and the next 39 weeks (to 1998-06-30) to test. Each approach predicts every
customer's spend over the test weeks; the table gives the mean absolute and root mean squared
error per customer, the total predicted against the total spent, and the share of the test
spend made by the 20% of customers the approach ranks highest (ties in the file's order).

The reference rows fit BG/NBD, Pareto/NBD and Gamma-Gamma on a summary computed here from the
raw purchases, time in weeks as Fader and Hardie count it (T to the period's last day); the
built-in row goes through Relevo's own path: customer features as of 1997-10-01, then
CustomerSpend.fit and predict. The fitted parameters are printed beside the published ones.

    python -m benchmarks.customer_value            # the table (about a minute)
    python -m benchmarks.customer_value --quick    # without the approaches tried and not chosen
"""

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from benchmarks.cdnow import Purchases, day_number, load_purchases
from benchmarks.inference_load import inference_over_http, print_rates
from relevo.engine.customers import bg_nbd, gamma_gamma, pareto_nbd
from relevo.engine.customers.features import PurchaseHistory, customer_features
from relevo.engine.customers.spend import CustomerSpend, CustomerSpendConfig

FIT_FROM = day_number(date(1997, 1, 1))
TEST_FROM = day_number(date(1997, 10, 1))  # the first day after the 39 weeks to fit on
TEST_UNTIL = day_number(date(1998, 7, 1))  # the day after the 39 weeks to test on
HORIZON_WEEKS = (TEST_UNTIL - TEST_FROM) / 7
TOP_SHARE = 0.2

PUBLISHED = {
    "BG/NBD": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},  # Fader, Hardie & Lee 2005
    "Pareto/NBD": {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67},  # Fader & Hardie's note
    "Gamma-Gamma": {"p": 6.25, "q": 3.74, "gamma": 15.44},  # Fader, Hardie & Lee 2005 (RFM and CLV)
}
# Spend MAE / RMSE per customer measured with lifetimes under the same protocol.
KNOWN = (
    ("Pareto/NBD + Gamma-Gamma (lifetimes)", 29.45, 72.18),
    ("BG/NBD + Gamma-Gamma (lifetimes)", 30.41, 72.30),
    ("untuned gradient boosting on RFM features", 31.35, 74.48),
)


@dataclass(frozen=True)
class Summary:
    """Per customer, as of a date: repeat purchase days, the last one's and the date's time
    since the first purchase day (weeks, to the last day before the date), the mean spend of the
    repeat purchase days, and the whole spend."""

    x: np.ndarray
    t_x: np.ndarray
    age: np.ndarray
    m_x: np.ndarray
    spend: np.ndarray


@dataclass(frozen=True)
class Row:
    name: str
    mae: float
    rmse: float
    predicted: float
    actual: float
    top_capture: float
    note: str = ""


def summarise(purchases: Purchases, as_of: int) -> Summary:
    """The Fader-Hardie summary of the purchases before `as_of`, by plain per-customer counting
    (a check on the engine's vectorised features, which the built-in model uses)."""
    days: dict[int, dict[int, float]] = {}
    for customer, day, amount in zip(purchases.customer, purchases.day, purchases.amount, strict=True):
        if day < as_of:
            spent = days.setdefault(int(customer), {})
            spent[int(day)] = spent.get(int(day), 0.0) + float(amount)
    columns = np.zeros((5, purchases.customers))
    for customer, spent in days.items():
        ordered = sorted(spent)
        first, last, repeats = ordered[0], ordered[-1], len(ordered) - 1
        repeat_spend = sum(spent[day] for day in ordered[1:])
        columns[:, customer] = (
            repeats,
            (last - first) / 7,
            (as_of - 1 - first) / 7,
            repeat_spend / repeats if repeats else 0.0,
            sum(spent.values()),
        )
    return Summary(*columns)


def spend_between(purchases: Purchases, start: int, stop: int) -> np.ndarray:
    inside = (purchases.day >= start) & (purchases.day < stop)
    return np.bincount(purchases.customer[inside], weights=purchases.amount[inside], minlength=purchases.customers)


def score(name: str, predicted: np.ndarray, actual: np.ndarray, note: str = "") -> Row:
    error = predicted - actual
    top = np.argsort(-predicted, kind="stable")[: round(TOP_SHARE * len(actual))]
    return Row(
        name=name,
        mae=float(np.abs(error).mean()),
        rmse=float(np.sqrt(np.mean(error**2))),
        predicted=float(predicted.sum()),
        actual=float(actual.sum()),
        top_capture=float(actual[top].sum() / actual.sum()),
        note=note,
    )


def probabilistic(summary: Summary, weeks: float, purchase_fit: Callable) -> tuple[np.ndarray, object, object]:
    """A purchase-count model and Gamma-Gamma fitted on `summary`: each customer's expected
    spend over the next `weeks`, and the two fitted models."""
    bought = summary.age > 0
    counts = purchase_fit(summary.x[bought], summary.t_x[bought], summary.age[bought])
    spend = gamma_gamma.fit(summary.x, summary.m_x)
    expected = counts.expected_purchases(weeks, summary.x, summary.t_x, summary.age)
    return np.where(bought, expected * spend.expected_spend_per_purchase(summary.x, summary.m_x), 0.0), counts, spend


def built_in(purchases: Purchases) -> np.ndarray:
    """The customer_spend model through Relevo's own path: features, fit, predict."""
    history = PurchaseHistory(
        customer=purchases.customer,
        day=purchases.day,
        amount=purchases.amount,
        category=np.full(len(purchases.day), -1, dtype=np.int32),
        categories=(),
        customers=purchases.customers,
    )
    model = CustomerSpend(CustomerSpendConfig(horizon_days=TEST_UNTIL - TEST_FROM)).fit(history, TEST_FROM)
    return model.predict(customer_features(history, TEST_FROM, model.inputs))


def alternatives(purchases: Purchases, pareto_spend: np.ndarray, actual: np.ndarray) -> list[Row]:
    """Approaches tried for the built-in model and not chosen. Each learns only from the 39
    weeks to fit, by splitting them again in time: fitted up to `weeks` before their end, and
    judged on those last weeks."""
    rows = []
    inner = 13
    cut = TEST_FROM - 7 * inner
    earlier, _, _ = probabilistic(summarise(purchases, cut), inner, pareto_nbd.fit)
    later = spend_between(purchases, cut, TEST_FROM)
    shrink = float(earlier @ later / (earlier @ earlier))
    rows.append(
        score(
            "Pareto/NBD + GG, least-squares scaled",
            shrink * pareto_spend,
            actual,
            f"x{shrink:.2f}, the scale that best fitted the last {inner} fitting weeks",
        )
    )
    rows.append(score("gradient boosting, Pareto/NBD as a feature", boosted(purchases), actual, "see boosted()"))
    ratio = actual.sum() / pareto_spend.sum()
    rows.append(
        score(
            "Pareto/NBD + GG scaled to the true total",
            ratio * pareto_spend,
            actual,
            f"x{ratio:.2f}: peeks at the test weeks, only to show what the total costs",
        )
    )
    return rows


def boosted(purchases: Purchases) -> np.ndarray:
    """Gradient boosting of the spend per week over windows of 9, 13 and 19 weeks at the end of
    the fitting weeks, from RFM features and Pareto/NBD + GG's expected spend per week over the
    window (fitted before it); then asked with the 39 test weeks' expectation."""

    def features(as_of: int, weeks: float) -> np.ndarray:
        summary = summarise(purchases, as_of)
        expected, _, _ = probabilistic(summary, weeks, pareto_nbd.fit)
        return np.column_stack([summary.x, summary.t_x, summary.age, summary.m_x, summary.spend, expected / weeks])

    inputs, targets = [], []
    for weeks in (9, 13, 19):
        cut = TEST_FROM - 7 * weeks
        bought = summarise(purchases, cut).age > 0
        inputs.append(features(cut, weeks)[bought])
        targets.append(spend_between(purchases, cut, TEST_FROM)[bought] / weeks)
    model = HistGradientBoostingRegressor(max_iter=200, learning_rate=0.05, min_samples_leaf=40, random_state=0)
    model.fit(np.vstack(inputs), np.concatenate(targets))
    return np.maximum(model.predict(features(TEST_FROM, HORIZON_WEEKS)), 0.0) * HORIZON_WEEKS


def offline_table(*, quick: bool = False) -> tuple[list[Row], dict[str, dict[str, float]]]:
    """Every approach's row, and the fitted parameters of the reference models."""
    purchases = load_purchases()
    summary = summarise(purchases, TEST_FROM)
    actual = spend_between(purchases, TEST_FROM, TEST_UNTIL)
    bg_spend, bg, spend = probabilistic(summary, HORIZON_WEEKS, bg_nbd.fit)
    pareto_spend, pareto, _ = probabilistic(summary, HORIZON_WEEKS, pareto_nbd.fit)
    rows = [
        score("zero for everyone", np.zeros_like(actual), actual),
        score("naive: fitting-weeks spend repeated", summary.spend, actual),
        score("BG/NBD + Gamma-Gamma", bg_spend, actual),
        score("Pareto/NBD + Gamma-Gamma", pareto_spend, actual),
        score("built-in customer_spend", built_in(purchases), actual, "Pareto/NBD + GG through the features"),
    ]
    if not quick:
        rows += alternatives(purchases, pareto_spend, actual)
    fitted = {"BG/NBD": vars(bg), "Pareto/NBD": vars(pareto), "Gamma-Gamma": vars(spend)}
    return rows, fitted


def print_offline(rows: list[Row], fitted: dict[str, dict[str, float]]) -> None:
    print(f"{'approach':44} {'MAE':>7} {'RMSE':>7} {'predicted':>10} {'actual':>9} {'ratio':>6} {'top 20%':>8}")
    for row in rows:
        print(
            f"{row.name:44} {row.mae:7.2f} {row.rmse:7.2f} {row.predicted:10,.0f} {row.actual:9,.0f} "
            f"{row.predicted / row.actual:6.3f} {row.top_capture:8.1%}" + (f"  ({row.note})" if row.note else "")
        )
    print("\nfitted parameters (published in brackets)")
    for model, values in fitted.items():
        pairs = ", ".join(f"{name} {value:.3f} ({PUBLISHED[model][name]})" for name, value in values.items())
        print(f"  {model}: {pairs}")
    print("\nknown figures, spend MAE / RMSE per customer")
    for name, mae, rmse in KNOWN:
        print(f"  {name:44} {mae:7.2f} {rmse:7.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.customer_value",
        description="Customer spend on the CDNOW sample: MAE, RMSE, total and top-20% capture of "
        "the built-in customer_spend model against zero, naive, BG/NBD and Pareto/NBD with Gamma-Gamma.",
    )
    parser.add_argument("--quick", action="store_true", help="leave out the approaches tried and not chosen")
    parser.add_argument("--skip-http", action="store_true", help="leave out /inference over HTTP")
    parser.add_argument("--http-rounds", type=int, default=5, help="alternating rounds of /inference and /health")
    parser.add_argument("--http-seconds", type=float, default=8.0, help="each round's length")
    options = parser.parse_args(argv)
    started = time.perf_counter()
    print(
        "CDNOW 1/10 sample: 2,357 customers, purchases of one day merged; fitted on 1997-01-01..1997-09-30, "
        "tested on 1997-10-01..1998-06-30\n"
    )
    print_offline(*offline_table(quick=options.quick))
    if not options.skip_http:
        load = {"rounds": options.http_rounds, "seconds": options.http_seconds, "connections": 16}
        print_rates(inference_over_http(load_purchases(), **load), **load)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
