"""Every answer that serves a person, recorded: in Prometheus (answers by where they came from,
time to answer by route and algorithm), in the request's statistics (whether it was a kept
answer), and as an exposure in the database, always inside an experiment and outside one while
RELEVO_ONLINE_METRICS is on (the online metrics' figures)."""

import time
from collections.abc import Sequence

from fastapi import Request

from relevo.core import metrics
from relevo.exposures.models import AnswerSource
from relevo.exposures.writer import ExposureRow, ExposureWriter
from relevo.performance.requests import ANSWER_SOURCE
from relevo.recommend.answer import RecommendationList, Way, new_recommendation_id
from relevo.recommend.deployed import DeployedVersion

_SOURCE_OF_WAY = {
    Way.ranked_ahead: AnswerSource.ranked_ahead,
    Way.ranked_anew: AnswerSource.model,
    Way.cold_start: AnswerSource.fallback,
}
# The algorithm of lists a batch job ranked ahead and stored, served as they are.
_STORED = "batch"


def record_answer(request: Request, answer: RecommendationList, *, route: str, started: float) -> None:
    """Records `answer`, found since `started` (time.perf_counter())."""
    record(
        request,
        route=route,
        user_id=answer.user_id,
        items=tuple(item.product.product_id for item in answer.items),
        source=AnswerSource.cache if answer.kept else _SOURCE_OF_WAY[answer.way],
        fallback=answer.way is Way.cold_start,
        algorithm=answer.algorithm,
        started=started,
        version=answer.version,
        experiment=answer.experiment,
        recommendation_id=answer.recommendation_id,
        contributed=answer.credits,
    )


def record_stored(
    request: Request, *, route: str, user_id: str, items: Sequence[str], version: DeployedVersion, started: float
) -> None:
    """Records a list a batch job of `version` ranked ahead and stored, served as it is (the
    compatible APIs' routes that read stored results)."""
    record(
        request,
        route=route,
        user_id=user_id,
        items=items,
        source=AnswerSource.ranked_ahead,
        fallback=False,
        algorithm=_STORED,
        started=started,
        version=version,
    )


def record(
    request: Request,
    *,
    route: str,
    user_id: str,
    items: Sequence[str],
    source: AnswerSource,
    fallback: bool,
    algorithm: str,
    started: float,
    version: DeployedVersion | None,
    experiment: tuple[str, str] | None = None,
    recommendation_id: str | None = None,
    contributed: Sequence[str] | None = None,
) -> None:
    """Records an answer of `items` (product ids, best first) to `user_id`. `experiment`:
    (experiment id, variant) when served inside one; `contributed`: per item, the ranker that
    contributed it (interleaving)."""
    request.scope[ANSWER_SOURCE] = source
    metrics.observe_answer(route, source, algorithm, time.perf_counter() - started)
    if experiment is None and not _recording(request):
        return
    experiment_id, variant = experiment or (None, None)
    exposures(request).record(
        ExposureRow(
            recommendation_id=recommendation_id or new_recommendation_id(),
            experiment_id=experiment_id,
            variant=variant,
            user_id=user_id,
            items=tuple(items),  # tuples of strings: nothing the garbage collector follows
            credits=None if contributed is None else tuple(contributed),
            model_version_id=None if version is None else version.version_id,
            model=None if version is None else version.name,
            model_version=None if version is None else version.version,
            source=source,
            fallback=fallback,
            route=route,
        )
    )


def exposures(request: Request) -> ExposureWriter:
    return request.app.state.exposures


def _recording(request: Request) -> bool:
    """Whether answers outside experiments are recorded (RELEVO_ONLINE_METRICS)."""
    return request.app.state.settings.online_metrics
