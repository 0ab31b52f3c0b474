"""The Pareto/NBD model of repeat buying: Schmittlein, Morrison & Colombo (1987), "Counting Your
Customers: Who Are They and What Will They Do Next?", Management Science 33(1), 1-24; the
likelihood and conditional expectation as derived in Fader & Hardie (2005), "A Note on Deriving
the Pareto/NBD Model and Related Expressions" (http://brucehardie.com/notes/009/).

While active, a customer buys at a Poisson rate λ ~ Gamma(r, α) and drops out at an exponential
time of rate μ ~ Gamma(s, β). x, t_x and `age` (T) as for BG/NBD, in one time unit.

The likelihood's dropout term, s/(r+s+x) · A0 in the note's equation (19), is the integral
s ∫ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ over τ from t_x to T (the customer left at τ, unseen since).
It is computed here by Gauss-Legendre quadrature in u = log(min(α, β) + τ), where the integrand
is smooth, rather than through the note's two Gauss hypergeometric functions: scipy's hyp2f1
overflows or loses its digits for arguments near 1, which a fit meets as soon as s and β grow."""

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammaln

from relevo.engine.customers.maximum_likelihood import fit_positive

_STARTS = ((0.5, 10.0, 0.5, 10.0), (1.0, 1.0, 1.0, 1.0), (0.2, 5.0, 2.0, 40.0))
# Composite Gauss-Legendre: the interval in u cut into panels of a few nodes each.
_PANELS, _NODES = 4, 8


def _quadrature() -> tuple[np.ndarray, np.ndarray]:
    """Nodes in [0, 1] and their weights (summing to 1) of the composite rule."""
    nodes, weights = np.polynomial.legendre.leggauss(_NODES)
    starts = np.arange(_PANELS) / _PANELS
    points = (starts[:, None] + (nodes[None, :] + 1.0) / (2.0 * _PANELS)).ravel()
    return points, np.tile(weights / (2.0 * _PANELS), _PANELS)


_POINTS, _WEIGHTS = _quadrature()


@dataclass(frozen=True)
class ParetoNBD:
    r: float
    alpha: float
    s: float
    beta: float

    def _log_terms(self, x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The logs of the likelihood's two terms, without the factor they share: the customer
        still active at T, and the customer gone somewhere between t_x and T."""
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        x, t_x, age = (np.asarray(value, dtype=np.float64) for value in np.broadcast_arrays(x, t_x, age))
        active = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
        shift = min(alpha, beta)
        low, high = np.log(shift + t_x), np.log(shift + age)
        width = high - low
        u = low[..., None] + width[..., None] * _POINTS  # customers × nodes
        # One of α+τ, β+τ is e^u itself; the other is the log of e^u plus a non-negative gap.
        gap = np.log(abs(alpha - beta) + np.exp(u))
        r_x = (r + x)[..., None]
        # The first u of each is dτ = e^u du.
        log_integrand = u - r_x * u - (s + 1.0) * gap if alpha <= beta else u - r_x * gap - (s + 1.0) * u
        top = log_integrand.max(axis=-1)
        total = np.exp(log_integrand - top[..., None]) @ _WEIGHTS
        with np.errstate(divide="ignore"):
            gone = np.log(s) + np.log(width) + top + np.log(total)
        return active, np.where(width > 0, gone, -np.inf)

    def log_likelihood(self, x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> np.ndarray:
        """Each customer's log-likelihood (the note's equation 19)."""
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        active, gone = self._log_terms(x, t_x, age)
        return common + np.logaddexp(active, gone)

    def probability_alive(self, x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> np.ndarray:
        """P(still active at T | x, t_x, T) (the note's equation 21)."""
        active, gone = self._log_terms(x, t_x, age)
        return expit(active - gone)

    def expected_purchases(self, t: float, x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> np.ndarray:
        """E[purchases in the next t | x, t_x, T] (the note's equation 22; its s → 1 limit is a
        logarithm, which the expm1 form below reaches smoothly)."""
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        shrink = np.log((beta + age) / (beta + age + t))
        horizon = -np.expm1((s - 1.0) * shrink) / (s - 1.0) if abs(s - 1.0) > 1e-9 else -shrink
        return (r + x) * (beta + age) / (alpha + age) * horizon * self.probability_alive(x, t_x, age)


def fit(x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> ParetoNBD:
    """The maximum-likelihood Pareto/NBD parameters for these customers."""

    def negative(params: np.ndarray) -> float:
        return -ParetoNBD(*params).log_likelihood(x, t_x, age).sum()

    return ParetoNBD(*(float(value) for value in fit_positive(negative, _STARTS)))
