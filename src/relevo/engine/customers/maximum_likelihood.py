"""Maximum-likelihood fits of the customer-base models: every parameter is positive, so the
search runs over their logarithms, from a few starting points, keeping the best finite optimum."""

from collections.abc import Callable, Sequence

import numpy as np
import scipy.optimize

# Log-parameters stay within e^±LOG_BOUND: a degenerate sample (no repeat buyer, a handful of
# customers) pushes the likelihood towards 0 or infinity, and the bound keeps the answer finite.
LOG_BOUND = 12.0


def fit_positive(
    negative_log_likelihood: Callable[[np.ndarray], float], starts: Sequence[Sequence[float]]
) -> np.ndarray:
    """The positive parameters minimising `negative_log_likelihood` (called with the parameters,
    not their logs), searched from each of `starts`; raises ValueError when no search ends finite."""

    def objective(logs: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = negative_log_likelihood(np.exp(logs))
        return float(value) if np.isfinite(value) else np.inf

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(starts[0])
    found = []
    with np.errstate(all="ignore"):  # finite differences across an infinite value are NaN, and skipped
        for start in starts:
            logs = np.log(np.asarray(start, dtype=np.float64))
            if np.isfinite(objective(logs)):
                found.append(scipy.optimize.minimize(objective, logs, method="L-BFGS-B", bounds=bounds))
    found = [result for result in found if np.isfinite(result.fun)]
    if not found:
        raise ValueError("no finite maximum-likelihood fit")
    return np.exp(min(found, key=lambda result: result.fun).x)
