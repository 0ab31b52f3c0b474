"""The customer-base models' likelihoods against hand-worked cases, and their fits landing on a
maximum."""

import math

import numpy as np

from relevo.engine.customers import bg_nbd, gamma_gamma, pareto_nbd


def test_bg_nbd_without_a_repeat_purchase_is_the_chance_of_none_in_the_time() -> None:
    # x = 0: every Gamma and Beta term cancels, leaving (α / (α + T))^r.
    model = bg_nbd.BGNBD(r=0.5, alpha=2.0, a=0.8, b=2.5)
    value = model.log_likelihood(np.array([0.0]), np.array([0.0]), np.array([6.0]))
    assert math.isclose(value[0], 0.5 * math.log(2.0 / 8.0), rel_tol=1e-12)


def test_bg_nbd_with_repeat_purchases_matches_the_paper_term_by_term() -> None:
    r, alpha, a, b, x, t_x, age = 0.25, 4.0, 0.8, 2.4, 2.0, 10.0, 30.0
    expected = math.log(
        math.gamma(r + x) * alpha**r / math.gamma(r)
        * math.gamma(a + b) * math.gamma(b + x) / (math.gamma(b) * math.gamma(a + b + x))
        * ((alpha + age) ** -(r + x) + a / (b + x - 1) * (alpha + t_x) ** -(r + x))
    )  # fmt: skip
    value = bg_nbd.BGNBD(r, alpha, a, b).log_likelihood(np.array([x]), np.array([t_x]), np.array([age]))
    assert math.isclose(value[0], expected, rel_tol=1e-10)


def test_pareto_nbd_with_equal_rates_reduces_to_powers() -> None:
    # α = β = 1, r = s = 1, x = 0, T = 1: the hypergeometric terms are 1, and
    # L = (α/(α+T))^(r+s) + s/(r+s) (1 - (α/(α+T))^(r+s)) = 0.25 + 0.5 · 0.75.
    model = pareto_nbd.ParetoNBD(r=1.0, alpha=1.0, s=1.0, beta=1.0)
    value = model.log_likelihood(np.array([0.0]), np.array([0.0]), np.array([1.0]))
    assert math.isclose(value[0], math.log(0.625), rel_tol=1e-12)


def test_pareto_nbd_expects_more_from_a_customer_seen_lately() -> None:
    model = pareto_nbd.ParetoNBD(r=0.55, alpha=10.6, s=0.61, beta=11.7)
    x, age = np.array([3.0, 3.0]), np.array([30.0, 30.0])
    recent, lapsed = model.expected_purchases(39.0, x, np.array([29.0, 5.0]), age)
    assert recent > lapsed > 0
    assert model.probability_alive(x, np.array([30.0, 1.0]), age)[0] > 0.9


def test_gamma_gamma_with_one_purchase_is_the_mixed_gamma_density() -> None:
    # p = q = γ = 1, x = 1: f(m) = 1 / (1 + m)², so m = 1 gives 1/4.
    model = gamma_gamma.GammaGamma(p=1.0, q=1.0, gamma=1.0)
    assert math.isclose(model.log_likelihood(np.array([1.0]), np.array([1.0]))[0], math.log(0.25), rel_tol=1e-12)


def test_gamma_gamma_expectation_weighs_the_customer_against_the_population() -> None:
    model = gamma_gamma.GammaGamma(p=6.0, q=4.0, gamma=15.0)
    assert math.isclose(model.population_mean(), 30.0)
    x, m_x = np.array([0.0, 1.0, 50.0]), np.array([0.0, 90.0, 90.0])
    spend = model.expected_spend_per_purchase(x, m_x)
    assert spend[0] == model.population_mean()
    assert model.population_mean() < spend[1] < spend[2] < 90.0


def test_each_fit_ends_on_a_maximum() -> None:
    rng = np.random.default_rng(3)
    age = rng.uniform(20, 40, 250)
    x = rng.poisson(rng.gamma(0.5, 0.2, 250) * age * (rng.uniform(size=250) < 0.6)).astype(float)
    t_x = np.where(x > 0, age * rng.uniform(0.2, 1.0, 250), 0.0)
    m_x = np.where(x > 0, rng.gamma(6.0, 5.0, 250), 0.0)
    fits = [
        (bg_nbd.fit(x, t_x, age), lambda model: model.log_likelihood(x, t_x, age).sum()),
        (pareto_nbd.fit(x, t_x, age), lambda model: model.log_likelihood(x, t_x, age).sum()),
        (gamma_gamma.fit(x, m_x), lambda model: model.log_likelihood(x[x > 0], m_x[x > 0]).sum()),
    ]
    for fitted, log_likelihood in fits:
        best = log_likelihood(fitted)
        values = np.asarray([getattr(fitted, name) for name in fitted.__dataclass_fields__])
        for index in range(len(values)):
            for factor in (0.97, 1.03):
                moved = values.copy()
                moved[index] *= factor
                assert log_likelihood(type(fitted)(*moved)) < best, (fitted, index, factor)
