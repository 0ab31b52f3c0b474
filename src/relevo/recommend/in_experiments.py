"""Answering a person: inside the user's experiment when one is running (what serves the user's
variant, its count and filters), each such answer recorded as an exposure; otherwise as the
serving model answers. Every route that serves a person answers through here."""

import dataclasses

from fastapi import Request

from relevo.experiments.exposures import ExposureRow, ExposureWriter
from relevo.experiments.live import Assignment
from relevo.recommend.answer import RecommendationList, UserRequest
from relevo.recommend.catalog_view import Filters
from relevo.recommend.ranking import component
from relevo.recommend.request_inputs import answer_inputs, events_since_training, refreshed, serving_state
from relevo.recommend.service import recommend_for_user


async def served(
    request: Request,
    asked: UserRequest,
    *,
    route: str,
    model: str | None = None,
    rule: str | None = None,
) -> RecommendationList:
    """The user's recommendations. `model`: a model the caller names (then no experiment
    serves); `rule`: rank with this component of whatever model serves, when it has one (the
    purchases API's co-purchase rule)."""
    assignment = None if model is not None else await assignment_for(request, asked.user_id)
    if assignment is None:
        return await _answer(request, asked, model, None, rule)
    target = assignment.experiment.targets[assignment.variant]
    count = target.count or asked.count
    filters = Filters(**dict(target.filters)) if target.filters else asked.filters
    answer = await _answer(request, asked._replace(count=count, filters=filters), target.model, target.version, rule)
    answer = dataclasses.replace(answer, experiment=(assignment.experiment.id, assignment.variant))
    exposures(request).record(
        ExposureRow(
            recommendation_id=answer.recommendation_id,
            experiment_id=assignment.experiment.id,
            variant=assignment.variant,
            user_id=asked.user_id,
            items=[item.product.product_id for item in answer.items],
            credits=None,
            model_version_id=answer.version.version_id,
            route=route,
        )
    )
    return answer


async def assignment_for(request: Request, user_id: str) -> Assignment | None:
    live = serving_state(request).experiments
    await refreshed(serving_state(request), ("experiments",), True, live.needs_refresh(), live.refresh)
    return live.assign(user_id)


def exposures(request: Request) -> ExposureWriter:
    return request.app.state.exposures


async def _answer(
    request: Request, asked: UserRequest, model: str | None, version: int | None, rule: str | None
) -> RecommendationList:
    inputs = await answer_inputs(request, model, version)
    if rule is not None:
        asked = asked._replace(algorithm=rule if component(inputs.version.recommender, rule) else None)
    events = await events_since_training(inputs, asked.user_id)
    return recommend_for_user(inputs, events, asked)
