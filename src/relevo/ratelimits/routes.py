"""Which limits each route counts against: one table for the whole API.

Every route is an API call, but for the probes and /metrics, which are never limited (load
balancers and monitoring call them all the time). Routes that start a training, and bulk
operations (dataset uploads, batch jobs), count against their own limit as well. Event batches
over core.rates.BULK_EVENTS events count as bulk operations too, once the route has read how
many events came (events/router.py). Requests that match no route are not counted.
"""

from collections.abc import Iterable

from relevo.core.rates import LimitClass

NEVER_LIMITED = frozenset({"/health", "/health/", "/ready", "/ready/", "/metrics"})

TRAINING_STARTS = frozenset(
    {
        ("POST", "/api/v1/models/{name}/train"),
        ("POST", "/api/enhanced-train/"),  # the SmartCommerce API
    }
)

BULK_OPERATIONS = frozenset(
    {
        ("POST", "/api/v1/datasets"),
        ("POST", "/api/upload-dataset/"),  # the SmartCommerce API
        ("POST", "/api/v1/jobs"),
        ("POST", "/generate-recommendations"),  # the background-jobs API
    }
)


def limit_classes(path: str, methods: Iterable[str]) -> tuple[LimitClass, ...]:
    """The limits a request to the route `path` (a template, e.g. /api/v1/jobs/{job_id})
    counts against, the API calls' first."""
    if path in NEVER_LIMITED:
        return ()
    classes = [LimitClass.api]
    if any((method, path) in TRAINING_STARTS for method in methods):
        classes.append(LimitClass.training)
    if any((method, path) in BULK_OPERATIONS for method in methods):
        classes.append(LimitClass.bulk)
    return tuple(classes)
