"""The Gamma-Gamma model of spend per purchase: Fader, Hardie & Lee (2005), "RFM and CLV: Using
Iso-Value Curves for Customer Base Analysis", Journal of Marketing Research 42(4), 415-430, and
Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value" (http://brucehardie.com/notes/025/).

A customer's purchases are worth Gamma(p, ν) each, ν ~ Gamma(q, γ) across customers; a customer
with x purchases of mean value m_x is expected to spend a weighted mean of m_x and the
population's mean p γ / (q - 1) per purchase. q is kept above 1 so that mean exists."""

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

from relevo.engine.customers.maximum_likelihood import fit_positive

_STARTS = ((1.0, 2.0, 10.0), (5.0, 4.0, 20.0), (0.5, 1.5, 1.0))
MINIMUM_Q = 1.0 + 1e-3


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float

    def log_likelihood(self, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
        """Each customer's log-likelihood of their mean spend m_x over x purchases (x > 0, m_x > 0)."""
        p, q, gamma = self.p, self.q, self.gamma
        px = p * x
        return (
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(gamma)
            + (px - 1.0) * np.log(m_x)
            + px * np.log(x)
            - (px + q) * np.log(gamma + x * m_x)
        )

    def population_mean(self) -> float:
        return self.p * self.gamma / (self.q - 1.0)

    def expected_spend_per_purchase(self, x: np.ndarray, m_x: np.ndarray) -> np.ndarray:
        """E[M | x, m_x]; the population's mean for x = 0."""
        p, q, gamma = self.p, self.q, self.gamma
        return p * (gamma + x * m_x) / (p * x + q - 1.0)


def fit(x: np.ndarray, m_x: np.ndarray) -> GammaGamma:
    """The maximum-likelihood Gamma-Gamma parameters from the customers with x > 0 and m_x > 0."""
    keep = (x > 0) & (m_x > 0)
    x, m_x = x[keep], m_x[keep]
    if not len(x):
        raise ValueError("no customer with a purchase of positive value to fit spend per purchase on")

    def negative(params: np.ndarray) -> float:
        p, q_above_one, gamma = params
        return -GammaGamma(p, MINIMUM_Q + q_above_one, gamma).log_likelihood(x, m_x).sum()

    starts = [(p, q - MINIMUM_Q, gamma) for p, q, gamma in _STARTS]
    p, q_above_one, gamma = fit_positive(negative, starts)
    return GammaGamma(float(p), float(MINIMUM_Q + q_above_one), float(gamma))
