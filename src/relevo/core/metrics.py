"""Prometheus metrics. With several server processes each writes to a shared folder
(PROMETHEUS_MULTIPROC_DIR) and /metrics adds them up. Figures the database holds (jobs, the
deployed versions) are not counted by any process: collectors read them when /metrics is
scraped, in the one process answering the scrape, so no process adds its copy to another's."""

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("relevo_http_requests", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "relevo_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"], buckets=_SECONDS
)
EVENTS_INGESTED = Counter("relevo_events_ingested", "Events stored", ["source"])
RECOMMENDATION_CLICKS = Counter(
    "relevo_recommendation_clicks", "Clicks stored that carry the recommendation_id of the answer they came from"
)
ANSWERS = Counter("relevo_answers", "Answers served to a person, by where they came from", ["route", "source"])
ANSWER_LATENCY = Histogram(
    "relevo_answer_duration_seconds",
    "Time to find an answer for a person, by route and the algorithm that answered",
    ["route", "algorithm"],
    buckets=_SECONDS,
)
EXPOSURES = Counter("relevo_exposures", "Answers served to a person written to the database", ["route"])
EXPOSURES_LOST = Counter("relevo_exposures_lost", "Answers served to a person that could not be written")
RATE_LIMIT_REFUSALS = Counter("relevo_rate_limit_refusals", "Requests refused by a rate limit (429)", ["limit"])


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def observe_answer(route: str, source: str, algorithm: str, seconds: float) -> None:
    ANSWERS.labels(route, source).inc()
    ANSWER_LATENCY.labels(route, algorithm).observe(seconds)


def render(*collectors: Collector) -> tuple[bytes, str]:
    """The metrics every process counted, then those `collectors` read now."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    read = b"".join(generate_latest(collector) for collector in collectors)  # anything with collect()
    return generate_latest(counted) + read, CONTENT_TYPE_LATEST
