"""The BG/NBD model of repeat buying: Fader, Hardie & Lee (2005), "'Counting Your Customers'
the Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284.

While active, a customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase they drop
out with probability p ~ Beta(a, b). A customer is summarised by x (repeat purchases), t_x (the
time of the last purchase since the first) and `age` (the papers' T: the time since the first
purchase), all in one time unit; the parameters are in that unit too."""

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from relevo.engine.customers.maximum_likelihood import fit_positive

_STARTS = ((0.5, 5.0, 0.5, 2.0), (1.0, 1.0, 1.0, 1.0), (0.2, 20.0, 2.0, 5.0))


@dataclass(frozen=True)
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float

    def log_likelihood(self, x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> np.ndarray:
        """Each customer's log-likelihood (FHL 2005, equation 6)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + gammaln(a + b) + gammaln(b + x)
        common -= gammaln(b) + gammaln(a + b + x)
        stayed = -(r + x) * np.log(alpha + age)
        with np.errstate(divide="ignore", invalid="ignore"):
            dropped = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x)
        dropped = np.where(x > 0, dropped, -np.inf)
        return common + np.logaddexp(stayed, dropped)

    def expected_purchases(self, t: float, x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> np.ndarray:
        """E[purchases in the next t | x, t_x, T] (FHL 2005, equation 10). The hypergeometric
        term is taken through Euler's transformation, 2F1(r+x, b+x; a+b+x-1; z) (1-z)^(r+x) =
        (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), which stays finite for heavy buyers."""
        r, alpha, b = self.r, self.alpha, self.b
        a = self.a if abs(self.a - 1.0) > 1e-6 else 1.0 + 1e-6
        z = t / (alpha + age + t)
        remaining = (1.0 - z) ** (a - 1.0) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
        unconditional = (a + b + x - 1.0) / (a - 1.0) * (1.0 - remaining)
        with np.errstate(divide="ignore", invalid="ignore"):
            odds_dropped = np.log(a) - np.log(b + x - 1.0) + (r + x) * np.log((alpha + age) / (alpha + t_x))
        alive = np.where(x > 0, expit(-odds_dropped), 1.0)
        return unconditional * alive


def fit(x: np.ndarray, t_x: np.ndarray, age: np.ndarray) -> BGNBD:
    """The maximum-likelihood BG/NBD parameters for these customers."""

    def negative(params: np.ndarray) -> float:
        return -BGNBD(*params).log_likelihood(x, t_x, age).sum()

    return BGNBD(*(float(value) for value in fit_positive(negative, _STARTS)))
